// Whitelist regexes as greygate compiles them: case-insensitive as Postgrey's were, and refused at
// load when only the backtracking engine could run them. Hostile names against a running server
// are test/runtime/whitelist-regex-serve.test.ts's; a hostile name is never tried in this process,
// where it could block the test run.

import { describe, expect, it } from 'vitest';
import { ClientWhitelistMatcher, parseClientWhitelist } from '../../functions/core/client-whitelist.ts';
import { RecipientWhitelistMatcher, parseRecipientWhitelist } from '../../functions/core/recipient-whitelist.ts';
import { asciiLower } from '../../functions/core/text.ts';
import { compileWhitelistRegex } from '../../functions/core/whitelist-regex.ts';
import { enableLinearTimeRegExps } from '../../functions/runtime/linear-regexp.ts';

// As `greygate serve` and the Lambda do at start-up.
enableLinearTimeRegExps();

/** A small deterministic generator, so a failure names a subject that fails again. */
function subjects(count: number, seed: number): string[] {
  const alphabet = ['a', 'A', 'm', 'M', 'x', 'X', 'z', 'Z', 'b', 'B', '0', '9', '.', '-', '_', '@', '[', '`', ' ', 'é'];
  let state = seed;
  const next = (n: number): number => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return state % n;
  };
  return Array.from({ length: count }, () => Array.from({ length: 1 + next(8) }, () => alphabet[next(alphabet.length)]).join(''));
}

describe('whitelist regexes stay case-insensitive without the i flag', () => {
  // Postgrey's own regexes, and the corners of the syntax that decide case: classes and ranges,
  // escapes that stand for a letter, named groups, class escapes next to `-`.
  const patterns = [
    '^(?:mail|fallback-mx)\\d+.atl.registeredsite.com$',
    '^(?:smtp\\w*|postfix)[0-9]+-g[0-9]+\\.free\\.fr$',
    '^s[cv]\\d+pub\\.verizon\\.net$',
    '^lake.*mta.*\\.cox\\.net$',
    '^[A-Z]+$',
    '^[^A-Z]+$',
    '^[a-m]+$',
    '[\\x41-\\x4d]',
    '[0-z]',
    '[Z-a]',
    '\\x41B',
    '\\u004d',
    '[\\101]',
    '\\A',
    '[\\AZ]',
    '^(?<Host>MAIL)\\d',
    '[\\d-Z]',
    '[A-]',
    '[-A]',
    '\\bMX\\b',
    '\\BX',
    '[^\\W\\d_]+',
    'a{2}B',
    '\\c',
    '[\\cJ]',
    '[]',
    '[^]',
  ];

  it.each(patterns)('/%s/ matches the lower-cased subject exactly when /…/i matches the subject', (pattern) => {
    // Prepare
    const original = new RegExp(pattern, 'i');
    const compiled = compileWhitelistRegex(pattern);
    if (typeof compiled === 'string') throw new Error(compiled);
    // Act
    const differing = subjects(3000, pattern.length).filter((s) => original.test(s) !== compiled.test(asciiLower(s)));
    // Assess: only non-ASCII letters may differ (Postgrey's Perl folded ASCII only); none is used here
    // in a pattern, so none differs
    expect(differing).toEqual([]);
  });

  it('a client entry matches the name in any case, as Postgrey\'s did', () => {
    // Prepare
    const { entries } = parseClientWhitelist('/^MAIL-[a-z0-9-]+\\.Google\\.COM$/', 'clients');
    const matcher = new ClientWhitelistMatcher(entries);
    // Act
    const matches = ['mail-oi1-f171.google.com', 'MAIL-OI1-F171.GOOGLE.COM', 'Mail-x.Google.Com', 'mail.google.com'].map((n) => matcher.matchName(n));
    // Assess
    expect(matches).toEqual([true, true, true, false]);
  });

  it('a recipient entry the same way', () => {
    // Prepare
    const { entries } = parseRecipientWhitelist('/^noreply-[0-9]+@Example\\.ORG$/', 'recipients');
    const matcher = new RecipientWhitelistMatcher(entries);
    // Act
    const matches = ['noreply-42@example.org', 'NoReply-42@EXAMPLE.org', 'noreply-x@example.org'].map((r) => matcher.matches(r));
    // Assess
    expect(matches).toEqual([true, true, false]);
  });
});

describe('whitelist regexes only the backtracking engine could run are refused at load', () => {
  it.each([
    ['a backreference', '/^(mx|mail)\\1\\.example\\.com$/'],
    ['a lookahead', '/^(?!spam)[a-z]+\\.example\\.com$/'],
    ['a large count', '/^[a-z0-9-]{1,63}\\.example\\.com$/'],
    ['counts that multiply past 16', '/^(?:[a-z]{1,5}\\.){1,5}example\\.com$/'],
  ])('a client regex with %s is ignored with a warning naming file and line; the rest loads', (_what, line) => {
    // Prepare
    const text = `# partners\nfirst.example\n${line}\n/^mx[0-9]+\\.example\\.com$/\n`;
    // Act
    const { entries, warnings } = parseClientWhitelist(text, '/etc/greygate/whitelist_clients.local');
    // Assess
    expect(warnings).toEqual([
      `/etc/greygate/whitelist_clients.local line 3: ${JSON.stringify(line)} could take seconds to match a hostile name ` +
        '(it needs a backreference, a lookaround or a repetition count above 16, which only the backtracking engine runs); entry ignored',
    ]);
    expect(entries.map((e) => e.text)).toEqual(['first.example', '/^mx[0-9]+\\.example\\.com$/']);
  });

  it('a recipient regex the same way', () => {
    // Prepare
    const text = 'postmaster@\n/^(?=.*@example\\.org$)(info|sales)@/\n';
    // Act
    const { entries, warnings } = parseRecipientWhitelist(text, 'recipients.local');
    // Assess
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^recipients\.local line 2: "\/\^\(\?=.*" could take seconds to match a hostile name .*; entry ignored$/);
    expect(entries.map((e) => e.text)).toEqual(['postmaster@']);
  });

  it.each([
    '/^([a-z0-9-]+\\.?)+\\.example\\.com$/',
    '/^mail[0-9]{1,3}\\.example\\.com$/',
    '/^(mail|smtp|mx)[0-9]*\\./',
    '/\\.mail(\\.[a-z0-9]+)?\\.yahoo\\.com$/',
  ])('keeps %s: the linear-time engine finishes it whatever the name', (line) => {
    // Prepare: nothing
    // Act
    const { entries, warnings } = parseClientWhitelist(line, 'clients');
    // Assess
    expect(warnings).toEqual([]);
    expect(entries).toHaveLength(1);
  });

  it('still names a regex JavaScript cannot compile as invalid, as written', () => {
    // Prepare
    const line = '/^mail[0-9+\\.Example\\.com$/';
    // Act
    const { warnings } = parseClientWhitelist(line, 'clients');
    // Assess
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^clients line 1: ".*Example.*" is not a valid regular expression \(Invalid regular expression: \/\^mail\[0-9\+\\\.Example/);
  });
});
