import { DEFAULT_CLIENT_SIGNAL_WEIGHTS } from '../../functions/selective/selective.ts';
import { describe, expect, it } from 'vitest';
import { envName } from '../../functions/config/env-name.ts';
import { parseRetryWindow } from '../../functions/config/parsers.ts';
import { parseServeConfig, UsageError } from '../../functions/config/serve-config.ts';

describe('greygate serve options', () => {
  it('accepts both --delay=2 and --delay 2, as Postgrey does', () => {
    // Act
    const a = parseServeConfig(['--delay=2']).config;
    const b = parseServeConfig(['--delay', '2']).config;

    // Assess
    expect(a.policy.delaySeconds).toBe(2);
    expect(b.policy.delaySeconds).toBe(2);
  });

  it('has Postgrey defaults and the quick-start listeners', () => {
    const { config } = parseServeConfig([]);
    expect(config.policy).toMatchObject({
      delaySeconds: 300,
      maxAgeDays: 35,
      retryWindowSeconds: 2 * 86_400,
      greylistAction: 'DEFER_IF_PERMIT',
      autoWhitelistClients: 5,
      ipv4Cidr: 24,
      ipv6Cidr: 64,
      lookupByHost: false,
    });
    expect(config.listen).toEqual([{ kind: 'inet', host: '127.0.0.1', port: 10023 }]);
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 });
    expect(config.dbdir).toBe('./data');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads --auto-whitelist-clients with, without and with a separate value', () => {
    expect(parseServeConfig(['--auto-whitelist-clients']).config.policy.autoWhitelistClients).toBe(5);
    expect(parseServeConfig(['--auto-whitelist-clients=0']).config.policy.autoWhitelistClients).toBe(0);
    expect(parseServeConfig(['--auto-whitelist-clients', '2', '--delay', '2']).config.policy).toMatchObject({
      autoWhitelistClients: 2,
      delaySeconds: 2,
    });
    expect(parseServeConfig(['--auto-whitelist-clients', '--delay', '2']).config.policy.autoWhitelistClients).toBe(5);
  });

  it('reads --retry-window as days or hours', () => {
    expect(parseRetryWindow('2', '--retry-window')).toBe(172_800);
    expect(parseRetryWindow('12h', '--retry-window')).toBe(43_200);
    expect(() => parseRetryWindow('2w', '--retry-window')).toThrow(/--retry-window: "2w" is not valid; expected N \(days\) or Nh/);
  });

  it('collects repeated whitelist options in order, replacing the default list', () => {
    const { config } = parseServeConfig(['--whitelist-clients', '/a', '--whitelist-clients=/b', '--whitelist-recipients', '/r']);
    expect(config.whitelistClients).toEqual(['/a', '/b']);
    expect(config.whitelistRecipients).toEqual(['/r']);
    expect(parseServeConfig([]).config.whitelistClients[0]).toMatch(/whitelists\/clients$/);
  });

  it('takes every option from GREYGATE_* variables, flags winning', () => {
    const env = { GREYGATE_MAX_AGE: '10', GREYGATE_DELAY: '60', GREYGATE_PRIVACY: 'true', GREYGATE_WHITELIST_CLIENTS: '/x,/y' };
    const { config } = parseServeConfig(['--delay', '5'], env);
    expect(config.policy.maxAgeDays).toBe(10);
    expect(config.policy.delaySeconds).toBe(5);
    expect(config.privacy).toBe(true);
    expect(config.whitelistClients).toEqual(['/x', '/y']);
    expect(envName('max-age')).toBe('GREYGATE_MAX_AGE');
  });

  it.each([
    [['--delay', 'soon'], /--delay: "soon" is not valid; expected seconds/],
    [['--ipv4cidr', '33'], /--ipv4cidr: 33 is out of range; expected a prefix length 1-32/],
    [['--socketmode', 'rw'], /--socketmode: 'rw' is not an octal permission mode/],
    [['--log-format', 'xml'], /--log-format: "xml" is not valid; expected text or json/],
    [['--inet', 'localhost:99999'], /--inet/],
    [['--http', '0.0.0.0:8080'], /not a loopback address.*--token-sha256/],
    [['--token-sha256', 'abc'], /not a SHA-256 hex digest/],
    [['--bogus'], /unknown option --bogus/],
    [['--delay'], /--delay needs a value/],
    [['--daemonize'], /--daemonize is not supported: run greygate under systemd/],
    [['--user', 'postgrey'], /--user is not supported/],
    [['--greylist-text', 'a\nb'], /single line/],
  ])('refuses %j with a message naming the option', (argv, message) => {
    expect(() => parseServeConfig(argv)).toThrow(UsageError);
    expect(() => parseServeConfig(argv)).toThrow(message);
  });

  it('takes the %d time zone from TZ when it names one (Lambda sets TZ=:UTC)', () => {
    expect(parseServeConfig([], { TZ: ':UTC' }).config.policy.timeZone).toBe('UTC');
    expect(parseServeConfig([], { TZ: 'Europe/Berlin' }).config.policy.timeZone).toBe('Europe/Berlin');
  });

  it('names the environment variable when the bad value came from there', () => {
    expect(() => parseServeConfig([], { GREYGATE_DELAY: 'x' })).toThrow(/GREYGATE_DELAY: "x" is not valid/);
  });

  it('binds a non-loopback HTTP address only with a token configured', () => {
    const hash = 'a'.repeat(64);
    const { config } = parseServeConfig(['--http', '0.0.0.0:8080', '--token-sha256', hash]);
    expect(config.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.tokenSha256).toEqual([hash]);
  });

  it('accepts unix sockets with --socketmode and turns HTTP off with --no-http', () => {
    const { config } = parseServeConfig(['--unix', '/run/gg.sock', '--socketmode', '0660', '--no-http']);
    expect(config.listen).toEqual([{ kind: 'unix', path: '/run/gg.sock', mode: 0o660 }]);
    expect(config.http).toBeNull();
  });
});

describe('greygate serve options: selective greylisting', () => {
  it('is off by default, with no DNS lists and the system resolvers', () => {
    // Act
    const { config } = parseServeConfig([]);

    // Assess
    expect(config.selective).toEqual({ mode: 'off', greylistScore: 1, s25rWeight: 1, s25rIpv6: 'apply', signalWeights: DEFAULT_CLIENT_SIGNAL_WEIGHTS });
    expect(config.dnsLists).toEqual([]);
    expect(config.dnsTimeoutMs).toBe(1000);
    expect(config.dnsServers).toBeNull();
  });

  it('reads score mode with weighted block and allow lists, in the order given', () => {
    // Act
    const { config } = parseServeConfig([
      '--selective', 'score',
      '--greylist-score', '2',
      '--s25r-weight=2',
      '--dnsbl', 'zen.example=3',
      '--dnsbl', 'BL.Example.',
      '--dnswl', 'list.dnswl.example',
      '--dns-timeout-ms', '500',
      '--dns-servers', '127.0.0.1:5353,[::1]:53',
      '--dns-servers', '192.0.2.53',
      '--s25r-ipv6', 'skip',
    ]);

    // Assess
    expect(config.selective).toEqual({ mode: 'score', greylistScore: 2, s25rWeight: 2, s25rIpv6: 'skip', signalWeights: DEFAULT_CLIENT_SIGNAL_WEIGHTS });
    expect(config.dnsLists).toEqual([
      { kind: 'dnsbl', zone: 'zen.example', weight: 3 },
      { kind: 'dnsbl', zone: 'bl.example', weight: 1 },
      { kind: 'dnswl', zone: 'list.dnswl.example', weight: 10 },
    ]);
    expect(config.dnsTimeoutMs).toBe(500);
    expect(config.dnsServers).toEqual(['127.0.0.1:5353', '[::1]:53', '192.0.2.53']);
  });

  it('takes the same settings from GREYGATE_* variables, lists comma-separated', () => {
    // Prepare
    const env = {
      GREYGATE_SELECTIVE: 'score',
      GREYGATE_GREYLIST_SCORE: '3',
      GREYGATE_S25R_WEIGHT: '2',
      GREYGATE_DNSBL: 'a.example=2, b.example',
      GREYGATE_DNSWL: 'w.example=5',
      GREYGATE_DNS_TIMEOUT_MS: '250',
      GREYGATE_DNS_SERVERS: '127.0.0.1:53',
      GREYGATE_S25R_IPV6: 'skip',
    };

    // Act
    const { config } = parseServeConfig([], env);

    // Assess
    expect(config.selective).toEqual({ mode: 'score', greylistScore: 3, s25rWeight: 2, s25rIpv6: 'skip', signalWeights: DEFAULT_CLIENT_SIGNAL_WEIGHTS });
    expect(config.dnsLists.map((z) => `${z.kind}:${z.zone}=${z.weight}`)).toEqual(['dnsbl:a.example=2', 'dnsbl:b.example=1', 'dnswl:w.example=5']);
    expect(config.dnsTimeoutMs).toBe(250);
    expect(config.dnsServers).toEqual(['127.0.0.1:53']);
  });

  it.each([
    [['--selective', 'on'], /--selective: "on" is not valid; expected off, s25r or score/],
    [['--selective', 's25r', '--s25r-ipv6', 'ignore'], /--s25r-ipv6: "ignore" is not valid; expected apply or skip/],
    [['--selective', 'score', '--dnsbl', 'zen.example=high'], /--dnsbl: "zen.example=high" is not valid; expected zone\[=weight\]/],
    [['--selective', 'score', '--dnsbl', 'localhost'], /--dnsbl: "localhost" is not valid/],
    [['--selective', 'score', '--dnswl', 'w.example=1001'], /--dnswl: 1001 is out of range; expected a whole number weight 0-1000/],
    [['--selective', 'score', '--dnsbl', 'a.example', '--dnswl', 'A.example'], /zone a\.example is given more than once/],
    [['--selective', 'score', '--greylist-score', '-1'], /--greylist-score/],
    [['--selective', 'score', '--dns-timeout-ms', '5'], /--dns-timeout-ms: 5 is out of range; expected milliseconds 10-30000/],
    [['--selective', 'score', '--dns-servers', 'dns.example'], /--dns-servers: "dns.example" is not valid; expected an IP address, IP:PORT or \[IPv6\]:PORT/],
    [['--selective', 'score', '--dns-servers', '127.0.0.1:70000'], /--dns-servers: "127.0.0.1:70000" is not valid/],
    [['--selective', 'score', '--dns-servers', ','], /--dns-servers: expected at least one resolver address/],
    [['--dnsbl', 'zen.example'], /--dnsbl has no effect without --selective score \(the selective mode is off\)/],
    [['--selective', 's25r', '--dnswl', 'w.example'], /--dnswl has no effect without --selective score \(the selective mode is s25r\)/],
    [['--selective', 's25r', '--greylist-score', '2'], /--greylist-score has no effect without --selective score/],
    [['--s25r-ipv6', 'skip'], /--s25r-ipv6 has no effect without --selective s25r or score/],
  ])('refuses %j with a message naming the option', (argv, message) => {
    expect(() => parseServeConfig(argv)).toThrow(UsageError);
    expect(() => parseServeConfig(argv)).toThrow(message);
  });

  it('names the variable when a setting from the environment would have no effect', () => {
    expect(() => parseServeConfig([], { GREYGATE_DNSBL: 'zen.example' })).toThrow(/GREYGATE_DNSBL has no effect without --selective score/);
  });
});
