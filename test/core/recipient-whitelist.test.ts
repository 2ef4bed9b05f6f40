import { describe, expect, it } from 'vitest';
import { RecipientWhitelistMatcher, parseRecipientWhitelist } from '../../functions/core/recipient-whitelist.ts';

function matcherFor(text: string): RecipientWhitelistMatcher {
  const parsed = parseRecipientWhitelist(text, 'recipients.txt');
  expect(parsed.warnings).toEqual([]);
  return new RecipientWhitelistMatcher(parsed.entries);
}

describe('parseRecipientWhitelist', () => {
  it.each([
    ['/^noreply-\\d+@/', 'regex'],
    ['bob@example.org', 'address'],
    ['postmaster@', 'user'],
    ['example.com', 'domain'],
  ])('reads %s as a %s entry', (line, kind) => {
    // Prepare: one entry
    // Act
    const { entries, warnings } = parseRecipientWhitelist(`${line}  # why it is here`, 'recipients.txt');
    // Assess
    expect(warnings).toEqual([]);
    expect(entries).toEqual([expect.objectContaining({ kind, text: line, line: 1 })]);
  });

  it('warns about an entry with whitespace inside, naming file and line', () => {
    // Prepare
    const text = 'postmaster@\nbob @example.org\n';
    // Act
    const { entries, warnings } = parseRecipientWhitelist(text, '/etc/greygate/whitelist_recipients');
    // Assess
    expect(entries.map((e) => e.text)).toEqual(['postmaster@']);
    expect(warnings).toEqual([
      '/etc/greygate/whitelist_recipients line 2: doesn\'t look like an address: "bob @example.org"; entry ignored',
    ]);
  });

  it('warns about a regex JavaScript cannot compile instead of throwing', () => {
    // Prepare
    const text = '/^(abuse@/\nabuse@\n';
    // Act
    const { entries, warnings } = parseRecipientWhitelist(text, 'recipients.txt');
    // Assess
    expect(entries.map((e) => e.text)).toEqual(['abuse@']);
    expect(warnings[0]).toMatch(/^recipients\.txt line 1: "\/\^\(abuse@\/" is not a valid regular expression/);
  });
});

describe('RecipientWhitelistMatcher', () => {
  it.each([
    ['postmaster@', 'postmaster@example.org', true],
    ['postmaster@', 'Postmaster@Other.Example', true],
    ['postmaster@', 'postmaster+tag@example.org', true],
    ['postmaster@', 'postmaster2@example.org', false],
    ['postmaster@', 'xpostmaster@example.org', false],
    // §3 observed: the shipped `abuse@` matched Abuse+tag@example.org
    ['abuse@', 'Abuse+tag@example.org', true],
    ['bob@example.org', 'bob@example.org', true],
    ['bob@example.org', 'BOB@EXAMPLE.ORG', true],
    ['bob@example.org', 'bob+list@example.org', true],
    ['bob@example.org', 'bob+@example.org', false],
    ['bob@example.org', 'bob@sub.example.org', false],
    ['bob@example.org', 'bob@example.org.evil.test', false],
    ['bob@example.org', 'alice@example.org', false],
    ['bob+x@example.org', 'bob+x@example.org', true],
    ['bob+x@example.org', 'bob+x+y@example.org', true],
    ['bob+x@example.org', 'bob@example.org', false],
    ['example.com', 'anyone@example.com', true],
    ['example.com', 'anyone@mail.example.com', true],
    ['example.com', 'anyone@notexample.com', false],
    ['/^noreply-\\d+@/', 'NOREPLY-42@example.org', true],
    ['/^noreply-\\d+@/', 'noreply-x@example.org', false],
  ])('entry %s, recipient %s → %s', (entry, recipient, expected) => {
    // Prepare
    const matcher = matcherFor(entry);
    // Act
    const matched = matcher.matches(recipient);
    // Assess
    expect(matched).toBe(expected);
  });
});
