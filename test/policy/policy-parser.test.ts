import { describe, expect, it } from 'vitest';
import { MAX_ATTRIBUTE_CHARS, PolicyParser, type ParserEvent } from '../../policy/policy-parser.ts';

const LIMITS = { maxLineBytes: 4096, maxAttributes: 100 };

const POSTFIX_REQUEST =
  'request=smtpd_access_policy\n' +
  'protocol_state=RCPT\n' +
  'client_address=192.0.2.10\n' +
  'client_name=mail.example.net\n' +
  'sender=alice@example.net\n' +
  'recipient=bob@example.org\n' +
  'instance=1a2b.3c4d5e6f.7a8b9.0\n' +
  'queue_id=\n' +
  '\n';

function feed(parser: PolicyParser, ...chunks: Array<string | Buffer>): ParserEvent[] {
  return chunks.flatMap((chunk) => parser.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk));
}

function requests(events: ParserEvent[]): Array<Record<string, string>> {
  return events.flatMap((e) => (e.type === 'request' ? [Object.fromEntries(e.attrs)] : []));
}

describe('PolicyParser', () => {
  it('turns a Postfix request into its attributes, keeping empty values', () => {
    // Prepare
    const parser = new PolicyParser(LIMITS);

    // Act
    const events = feed(parser, POSTFIX_REQUEST);

    // Assess
    expect(events).toHaveLength(1);
    expect(requests(events)[0]).toEqual({
      request: 'smtpd_access_policy',
      protocol_state: 'RCPT',
      client_address: '192.0.2.10',
      client_name: 'mail.example.net',
      sender: 'alice@example.net',
      recipient: 'bob@example.org',
      instance: '1a2b.3c4d5e6f.7a8b9.0',
      queue_id: '',
    });
  });

  it('gives the same request however the bytes are split into two chunks', () => {
    // Prepare
    const bytes = Buffer.from(POSTFIX_REQUEST);
    const expected = requests(feed(new PolicyParser(LIMITS), bytes));

    for (let offset = 0; offset <= bytes.length; offset += 1) {
      // Act
      const events = feed(new PolicyParser(LIMITS), bytes.subarray(0, offset), bytes.subarray(offset));

      // Assess
      expect(requests(events), `split at byte ${offset}`).toEqual(expected);
    }
  });

  it('gives the same request when it arrives one byte at a time with CRLF line endings', () => {
    // Prepare
    const bytes = Buffer.from(POSTFIX_REQUEST.replaceAll('\n', '\r\n'));
    const parser = new PolicyParser(LIMITS);

    // Act
    const events: ParserEvent[] = [];
    for (let i = 0; i < bytes.length; i += 1) events.push(...parser.push(bytes.subarray(i, i + 1)));

    // Assess
    expect(requests(events)).toEqual(requests(feed(new PolicyParser(LIMITS), POSTFIX_REQUEST)));
  });

  it('returns every request of a chunk that holds several, in order', () => {
    // Prepare
    const chunk = ['a', 'b', 'c'].map((r) => `request=smtpd_access_policy\nrecipient=${r}@example.org\n\n`).join('');

    // Act
    const events = feed(new PolicyParser(LIMITS), chunk);

    // Assess
    expect(requests(events).map((r) => r.recipient)).toEqual(['a@example.org', 'b@example.org', 'c@example.org']);
  });

  it('decodes a UTF-8 character split across two chunks', () => {
    // Prepare
    const bytes = Buffer.from('request=smtpd_access_policy\nsender=jürgen@exämple.de\n\n');
    const split = bytes.indexOf(0xc3) + 1; // inside the two bytes of "ü"

    // Act
    const events = feed(new PolicyParser(LIMITS), bytes.subarray(0, split), bytes.subarray(split));

    // Assess
    expect(requests(events)[0]?.sender).toBe('jürgen@exämple.de');
  });

  it('splits at the first "=" and lets a repeated name keep its last value, as Postgrey does', () => {
    // Act
    const events = feed(new PolicyParser(LIMITS), 'ccert_subject=CN=mx,O=x\nsender=a@x\nsender=b@x\n\n');

    // Assess
    expect(requests(events)[0]).toEqual({ ccert_subject: 'CN=mx,O=x', sender: 'b@x' });
  });

  it('keeps only the attributes asked for, while every line still counts against the limit', () => {
    // Prepare
    const keep = new Set(['request', 'sender', 'recipient']);
    const parser = new PolicyParser({ ...LIMITS, keep });
    const limited = new PolicyParser({ maxLineBytes: 4096, maxAttributes: 5, keep });

    // Act
    const events = feed(parser, POSTFIX_REQUEST);
    const overLimit = feed(limited, POSTFIX_REQUEST);

    // Assess
    expect(requests(events)).toEqual([{ request: 'smtpd_access_policy', sender: 'alice@example.net', recipient: 'bob@example.org' }]);
    expect(overLimit).toEqual([{ type: 'oversize', what: 'attributes', detail: 'more than 5 lines in one request' }]);
  });

  it('reports lines without a name as garbage and still parses the rest of the request', () => {
    // Act
    const events = feed(new PolicyParser(LIMITS), 'request=smtpd_access_policy\nHELLO THERE\n=nameless\nsender=a@x\n\n');

    // Assess
    expect(events).toEqual([
      { type: 'garbage', line: 'HELLO THERE' },
      { type: 'garbage', line: '=nameless' },
      { type: 'request', attrs: new Map([['request', 'smtpd_access_policy'], ['sender', 'a@x']]) },
    ]);
  });

  it('skips blank lines that do not close a request, so a stray newline never becomes a request', () => {
    // Act
    const events = feed(new PolicyParser(LIMITS), '\n\r\n\nrequest=smtpd_access_policy\n\n\n\n');

    // Assess
    expect(events).toEqual([{ type: 'request', attrs: new Map([['request', 'smtpd_access_policy']]) }]);
  });

  it('truncates names and values to 512 characters', () => {
    // Prepare
    const longName = 'n'.repeat(600);
    const longValue = 'v'.repeat(700);

    // Act
    const events = feed(new PolicyParser(LIMITS), `${longName}=${longValue}\n\n`);

    // Assess
    const [attrs] = requests(events);
    expect(attrs).toEqual({ ['n'.repeat(MAX_ATTRIBUTE_CHARS)]: 'v'.repeat(MAX_ATTRIBUTE_CHARS) });
  });

  it('never leaves half a character when truncating a value', () => {
    // Prepare: 511 ASCII characters, then emoji that take two UTF-16 units each.
    const value = `${'x'.repeat(511)}${'😀'.repeat(10)}`;

    // Act
    const [attrs] = requests(feed(new PolicyParser(LIMITS), `sender=${value}\n\n`));

    // Assess
    expect(attrs?.sender).toBe('x'.repeat(511));
  });

  it('accepts a line of exactly maxLineBytes, CRLF split between its CR and LF', () => {
    // Prepare
    const parser = new PolicyParser({ maxLineBytes: 32, maxAttributes: 10 });
    const line = `sender=${'a'.repeat(32 - 'sender='.length)}`;

    // Act
    const events = feed(parser, `${line}\r`, '\n\r\n');

    // Assess
    expect(requests(events)).toEqual([{ sender: 'a'.repeat(25) }]);
    expect(parser.failed).toBe(false);
  });

  it('reports a line one byte over the limit and then ignores everything after it', () => {
    // Prepare
    const parser = new PolicyParser({ maxLineBytes: 32, maxAttributes: 10 });

    // Act
    const events = feed(parser, `sender=${'a'.repeat(26)}\n\n`, 'request=smtpd_access_policy\n\n');

    // Assess
    expect(events).toEqual([{ type: 'oversize', what: 'line', detail: 'line longer than 32 bytes' }]);
    expect(parser.failed).toBe(true);
  });

  it('counts the line limit in bytes, not characters, for UTF-8 text', () => {
    // Prepare: 7 + 12 × 2 = 31 bytes fits in 32, 7 + 13 × 2 = 33 bytes does not, though both are
    // under 32 characters
    const fits = new PolicyParser({ maxLineBytes: 32, maxAttributes: 10 });
    const over = new PolicyParser({ maxLineBytes: 32, maxAttributes: 10 });

    // Act
    const accepted = feed(fits, `sender=${'é'.repeat(12)}\nrecipient=b\n\n`);
    const refused = feed(over, `recipient=b\nsender=${'é'.repeat(13)}\n\n`);

    // Assess
    expect(requests(accepted)).toEqual([{ sender: 'é'.repeat(12), recipient: 'b' }]);
    expect(refused).toEqual([{ type: 'oversize', what: 'line', detail: 'line longer than 32 bytes' }]);
  });

  it('reports an endless line as soon as it passes the limit, without waiting for its newline', () => {
    // Prepare
    const parser = new PolicyParser({ maxLineBytes: 4096, maxAttributes: 10 });

    // Act
    const first = feed(parser, 'sender=', 'x'.repeat(4000));
    const second = feed(parser, 'x'.repeat(100));

    // Assess
    expect(first).toEqual([]);
    expect(second).toEqual([{ type: 'oversize', what: 'line', detail: 'line longer than 4096 bytes' }]);
  });

  it('reports a request with more lines than maxAttributes, counting garbage lines too', () => {
    // Prepare
    const atLimit = `${'a=1\n'.repeat(4)}junk\n\n`;
    const overLimit = `${'a=1\n'.repeat(5)}junk\n\n`;

    // Act
    const accepted = feed(new PolicyParser({ maxLineBytes: 100, maxAttributes: 5 }), atLimit);
    const refused = feed(new PolicyParser({ maxLineBytes: 100, maxAttributes: 5 }), overLimit);

    // Assess
    expect(accepted.map((e) => e.type)).toEqual(['garbage', 'request']);
    expect(refused.at(-1)).toEqual({ type: 'oversize', what: 'attributes', detail: 'more than 5 lines in one request' });
    expect(refused.some((e) => e.type === 'request')).toBe(false);
  });

  it('survives binary bytes: NUL kept, invalid UTF-8 replaced, never a throw', () => {
    // Prepare
    const bytes = Buffer.concat([
      Buffer.from('request=smtpd_access_policy\nsender=a'),
      Buffer.from([0x00, 0xff, 0xfe, 0x80]),
      Buffer.from('@x\n'),
      Buffer.from([0x01, 0x02, 0x9b, 0x0a]), // a garbage line of control bytes
      Buffer.from('\n'),
    ]);

    // Act
    const events = feed(new PolicyParser(LIMITS), bytes);

    // Assess
    expect(events[0]).toEqual({ type: 'garbage', line: '\u0001\u0002\ufffd' });
    expect(requests(events)[0]?.sender).toBe('a\u0000\ufffd\ufffd\ufffd@x');
  });

  it('tells whether part of a request is still waiting for its end', () => {
    // Prepare
    const parser = new PolicyParser(LIMITS);

    // Act + Assess
    feed(parser, 'request=smtpd_');
    expect(parser.midRequest).toBe(true);
    feed(parser, 'access_policy\n');
    expect(parser.midRequest).toBe(true);
    feed(parser, '\n');
    expect(parser.midRequest).toBe(false);
  });

  it('rejects limits that are not positive integers', () => {
    expect(() => new PolicyParser({ maxLineBytes: 0, maxAttributes: 10 })).toThrow(/maxLineBytes/);
    expect(() => new PolicyParser({ maxLineBytes: 10, maxAttributes: 1.5 })).toThrow(/maxAttributes/);
  });
});
