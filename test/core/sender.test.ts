import { describe, expect, it } from 'vitest';
import { normalizeSender } from '../../functions/core/sender.ts';

describe('normalizeSender (postgrey.md §1 sender normalisation)', () => {
  it.each([
    // [what an admin would check, sender, key part]
    ['a plain address is unchanged', 'alice@example.net', 'alice@example.net'],
    ['the null sender is unchanged', '', ''],
    ['a sender without @ is used as is, digits included', 'MAILER-DAEMON-42', 'MAILER-DAEMON-42'],
    ['BATV prvs=TAG=user keeps the user', 'prvs=1234567890=alice@x', 'alice@x'],
    ['BATV in the reversed order keeps the user', 'prvs=alice=1234567890@x', 'alice@x'],
    ['BATV with no tag-like piece keeps piece 3', 'prvs=abc=def@x', 'def@x'],
    ['the BATV tag check is case-sensitive', 'prvs=alice=ABCDEFGHIJ@x', 'ABCDEFGHIJ@x'],
    ['an upper-case PRVS= is no BATV (its digits still become #)', 'PRVS=1234567890=alice@x', 'PRVS=#=alice@x'],
    ['four =-pieces are no BATV', 'prvs=1234567890=a=b@x', 'prvs=#=a=b@x'],
    ['a trailing empty piece is dropped as Perl split does: 2 pieces, no BATV', 'prvs=1234567890=@x', 'prvs=#=@x'],
    ['an empty middle piece still counts: keep piece 3', 'prvs==alice@x', 'alice@x'],
    ['+extension is removed', 'alice+list@example.net', 'alice@example.net'],
    ['everything from the first + is removed', 'alice+list+x@example.net', 'alice@example.net'],
    ['a standalone digit run becomes #', 'bounce-123@lists.example.net', 'bounce-#@lists.example.net'],
    ['every standalone run becomes #', '123.456-7@x', '#.#-#@x'],
    ['digits inside a word stay', 'abc123@x', 'abc123@x'],
    ['an underscore is a word character, as in Perl', 'a_1@x', 'a_1@x'],
    ['the domain is never touched', 'user@123.example', 'user@123.example'],
    ['only the first @ splits', 'a1@b@2', 'a1@b@2'],
    ['BATV, then +ext, then digits', 'prvs=1234567890=bounce-42+x@x', 'bounce-#@x'],
    ['case is kept (the whole key is lower-cased later)', 'Alice@Example.NET', 'Alice@Example.NET'],
    ['SRS is not handled', 'SRS0=HHH=TT=example.com=alice@fwd.example', 'SRS0=HHH=TT=example.com=alice@fwd.example'],
  ])('%s', (_what, sender, expected) => {
    // Prepare: the sender as Postfix sends it
    // Act
    const normalized = normalizeSender(sender);
    // Assess
    expect(normalized).toBe(expected);
  });
});
