import { describe, expect, it } from 'vitest';
import { ClientWhitelistMatcher, parseClientWhitelist } from '../../functions/core/client-whitelist.ts';

function matcherFor(text: string): ClientWhitelistMatcher {
  const parsed = parseClientWhitelist(text, 'clients.txt');
  expect(parsed.warnings).toEqual([]);
  return new ClientWhitelistMatcher(parsed.entries);
}

describe('parseClientWhitelist (postgrey.md §3 entry forms, in order)', () => {
  it.each([
    ['/^mail\\d+\\.example\\.com$/', 'name-regex'],
    ['192.0.2.1', 'network'],
    ['192.0.2.0/28', 'network'],
    ['192.0.2', 'network'],
    ['172.16', 'network'],
    ['2001:db8::/32', 'network'],
    ['2001:db8::25', 'network'],
    ['example-wl.com', 'hostname-suffix'],
    ['1.2.3.4.5', 'hostname-suffix'],
  ])('reads %s as a %s entry', (line, kind) => {
    // Prepare: one entry per file
    // Act
    const { entries, warnings } = parseClientWhitelist(line, 'clients.txt');
    // Assess
    expect(warnings).toEqual([]);
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ kind, text: line, source: 'clients.txt', line: 1 });
  });

  it('gives the a.b.c form a /24 and the a.b form the documented /16 (Postgrey built a /24)', () => {
    // Prepare
    const text = '198.51.100\n172.16\n';
    // Act
    const { entries } = parseClientWhitelist(text, 'clients.txt');
    // Assess
    expect(entries.map((e) => (e.kind === 'network' ? e.prefixLength : null))).toEqual([24, 16]);
  });

  it('removes # comments anywhere and surrounding whitespace, counting lines for warnings', () => {
    // Prepare
    const text = ['# a comment line', '   ', '  example.org   # trailing comment', 'good.example\r', 'bad entry'].join('\n');
    // Act
    const { entries, warnings } = parseClientWhitelist(text, '/etc/greygate/whitelist_clients');
    // Assess
    expect(entries.map((e) => [e.text, e.line])).toEqual([
      ['example.org', 3],
      ['good.example', 4],
    ]);
    expect(warnings).toEqual([
      '/etc/greygate/whitelist_clients line 5: doesn\'t look like a hostname: "bad entry"; entry ignored',
    ]);
  });

  it.each([
    ['/mail[0-9+\\.example\\.com/', /line 1: "\/mail\[0-9\+\\\\.example\\\\.com\/" is not a valid regular expression/],
    ['/(?<=x/', /is not a valid regular expression/],
    ['999.1.1.1', /"999\.1\.1\.1" is not a valid IPv4 address or network; entry ignored/],
    ['192.0.2.0/40', /has a prefix length above 32/],
    ['2001:db8::zz', /is not a valid IPv6 address or network/],
    ['2001:db8::/200', /has a prefix length above 128/],
  ])('warns about %s and keeps going', (line, warning) => {
    // Prepare
    const text = `${line}\nstill.loaded.example\n`;
    // Act
    const { entries, warnings } = parseClientWhitelist(text, 'clients.txt');
    // Assess
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^clients\.txt line 1: /);
    expect(warnings[0]).toMatch(warning);
    expect(entries.map((e) => e.text)).toEqual(['still.loaded.example']);
  });
});

describe('ClientWhitelistMatcher', () => {
  it.each([
    // §3 observed: a hostname entry is a suffix after a dot or the whole name
    ['example-wl.com', 'example-wl.com', '203.0.113.9', true],
    ['example-wl.com', 'a.b.example-wl.com', '203.0.113.9', true],
    ['example-wl.com', 'notexample-wl.com', '203.0.113.9', false],
    ['example-wl.com', 'MX1.Example-WL.com', '203.0.113.9', true],
    ['example-wl.com', 'example-wl.com.evil.test', '203.0.113.9', false],
    ['example-wl.com', 'unknown', '203.0.113.9', false],
    // regexes: client_name only, case-insensitive
    ['/^mail\\d+\\.example\\.com$/', 'MAIL12.example.com', '203.0.113.9', true],
    ['/^mail\\d+\\.example\\.com$/', 'mailx.example.com', '203.0.113.9', false],
    ['/^192\\.0\\.2\\./', 'unknown', '192.0.2.1', false],
    // IPv4
    ['192.0.2.1', 'unknown', '192.0.2.1', true],
    ['192.0.2.1', 'unknown', '192.0.2.10', false],
    ['10.1.2.3/8', 'unknown', '10.200.0.1', true],
    ['198.51.100', 'unknown', '198.51.100.254', true],
    ['198.51.100', 'unknown', '198.51.101.1', false],
    // §3 observed bug, fixed: 172.16 covers 172.16.0.0/16, not just 172.16.0.0/24
    ['172.16', 'unknown', '172.16.0.5', true],
    ['172.16', 'unknown', '172.16.3.5', true],
    ['172.16', 'unknown', '172.17.0.5', false],
    // IPv6
    ['2001:db8:1::/48', 'unknown', '2001:db8:1:ffff::1', true],
    ['2001:db8:1::/48', 'unknown', '2001:db8:2::1', false],
    ['2001:DB8::25', 'unknown', '2001:db8:0:0:0:0:0:25', true],
    ['192.0.2.0/24', 'unknown', '2001:db8::1', false],
    // an IPv4-mapped client matches IPv4 entries, and a mapped entry matches IPv4 clients
    ['192.0.2.0/24', 'unknown', '::ffff:192.0.2.10', true],
    ['::ffff:192.0.2.0/120', 'unknown', '192.0.2.10', true],
  ])('entry %s, client %s[%s] → %s', (entry, clientName, clientAddress, expected) => {
    // Prepare
    const matcher = matcherFor(entry);
    // Act
    const matched = matcher.matchName(clientName) || matcher.matchAddress(clientAddress);
    // Assess
    expect(matched).toBe(expected);
  });

  it('never tests hostname entries against the IP, nor IP entries against the name', () => {
    // Prepare
    const matcher = matcherFor('192.0.2.10\nmail.example.net\n');
    // Act
    const nameAsIp = matcher.matchAddress('198.51.100.1') || matcher.matchName('192.0.2.10');
    // Assess
    expect(nameAsIp).toBe(false);
  });

  it('matches among a list the size of the shipped one', () => {
    // Prepare: 200 entries of every form; the hit is the last one of its kind
    const lines: string[] = [];
    for (let i = 0; i < 50; i += 1) {
      lines.push(`host${i}.example.com`, `/^pool${i}-\\d+\\.example\\.net$/`, `198.51.${i}`, `10.${i}.0.0/16`);
    }
    const matcher = matcherFor(lines.join('\n'));
    // Act
    const hits = [
      matcher.matchName('mx.host49.example.com'),
      matcher.matchName('pool49-7.example.net'),
      matcher.matchAddress('198.51.49.7'),
      matcher.matchAddress('10.49.200.1'),
    ];
    const miss = matcher.matchName('mx.host50.example.com') || matcher.matchAddress('10.50.0.1');
    // Assess
    expect(matcher.size).toBe(200);
    expect(hits).toEqual([true, true, true, true]);
    expect(miss).toBe(false);
  });
});
