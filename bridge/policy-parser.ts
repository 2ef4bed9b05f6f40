// Postfix policy delegation protocol, request side (SMTPD_POLICY_README): `name=value` lines, an
// empty line ends a request. This parser knows nothing of sockets: feed it the bytes as they
// arrive, in any split, and it returns what they completed.
//
// Behaviour kept from Postgrey 1.37 (postgrey.md §6): lines end in LF or CRLF; the split is at the
// first `=`; name and value are each truncated to 512 characters; a line without `=` is garbage
// and skipped; a repeated name keeps the last value. Added: a cap on line length and on lines per
// request, because Postgrey would buffer a line of any size.

export type ParserEvent =
  | { type: 'request'; attrs: Map<string, string> }
  | { type: 'garbage'; line: string }
  | { type: 'oversize'; what: 'line' | 'attributes'; detail: string };

export interface PolicyParserOptions {
  /** Longest accepted line in bytes, not counting the line ending. */
  maxLineBytes: number;
  /** Most lines (attributes and garbage) in one request. */
  maxAttributes: number;
}

/** Postgrey's `substr($1, 0, 512)` on both name and value. */
export const MAX_ATTRIBUTE_CHARS = 512;

const LF = 0x0a;
const CR = 0x0d;
const EQUALS = 0x3d;
const EMPTY = Buffer.alloc(0);

export class PolicyParser {
  readonly #maxLineBytes: number;
  readonly #maxAttributes: number;
  #pending: Buffer = EMPTY;
  #attrs = new Map<string, string>();
  #lines = 0;
  #failed = false;

  constructor(opts: PolicyParserOptions) {
    for (const key of ['maxLineBytes', 'maxAttributes'] as const) {
      if (!Number.isInteger(opts[key]) || opts[key] < 1) {
        throw new RangeError(`PolicyParser ${key} must be a positive integer, got ${opts[key]}`);
      }
    }
    this.#maxLineBytes = opts.maxLineBytes;
    this.#maxAttributes = opts.maxAttributes;
  }

  /** True once a limit was exceeded; the stream is then unusable and later pushes return nothing. */
  get failed(): boolean {
    return this.#failed;
  }

  /** True while part of a request has arrived but not its closing empty line. */
  get midRequest(): boolean {
    return this.#lines > 0 || this.#pending.length > 0;
  }

  push(chunk: Buffer): ParserEvent[] {
    const events: ParserEvent[] = [];
    if (this.#failed || chunk.length === 0) return events;
    // The pending tail is at most one capped line, so this copy stays small.
    const carried = this.#pending.length;
    const buf = carried > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    let start = 0;
    // The carried tail holds no LF, so the first search starts in the new bytes: a client that
    // drips one byte at a time is not rescanned from the start of its line on every byte.
    for (let nl = buf.indexOf(LF, carried); nl !== -1; nl = buf.indexOf(LF, start)) {
      const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
      if (end - start > this.#maxLineBytes) return this.#failLine(events);
      this.#line(buf, start, end, events);
      if (this.#failed) return events;
      start = nl + 1;
    }
    const rest = buf.length - start;
    // One byte of slack for a CR whose LF has not arrived yet.
    if (rest > this.#maxLineBytes + 1 || (rest === this.#maxLineBytes + 1 && buf[buf.length - 1] !== CR)) {
      return this.#failLine(events);
    }
    // Copy, so a large socket chunk is not kept alive by its last few bytes.
    this.#pending = rest === 0 ? EMPTY : Buffer.from(buf.subarray(start));
    return events;
  }

  #line(buf: Buffer, start: number, end: number, events: ParserEvent[]): void {
    if (start === end) {
      // A blank line with nothing before it is skipped: answering it would hand the client an
      // extra reply and shift every later answer by one.
      if (this.#lines === 0) return;
      events.push({ type: 'request', attrs: this.#attrs });
      this.#attrs = new Map();
      this.#lines = 0;
      return;
    }
    this.#lines += 1;
    if (this.#lines > this.#maxAttributes) {
      this.#failed = true;
      this.#pending = EMPTY;
      this.#attrs = new Map();
      events.push({
        type: 'oversize',
        what: 'attributes',
        detail: `more than ${this.#maxAttributes} lines in one request`,
      });
      return;
    }
    const eq = buf.indexOf(EQUALS, start);
    // `=value` has no name; Postgrey's regex needs at least one character before the `=`.
    if (eq <= start || eq >= end) {
      events.push({ type: 'garbage', line: buf.toString('utf8', start, end) });
      return;
    }
    // UTF-8 continuation bytes are >= 0x80, so splitting the bytes at `=` never cuts a character.
    const name = truncate(buf.toString('utf8', start, eq));
    const value = truncate(buf.toString('utf8', eq + 1, end));
    this.#attrs.set(name, value);
  }

  #failLine(events: ParserEvent[]): ParserEvent[] {
    this.#failed = true;
    this.#pending = EMPTY;
    this.#attrs = new Map();
    events.push({ type: 'oversize', what: 'line', detail: `line longer than ${this.#maxLineBytes} bytes` });
    return events;
  }
}

/** Cut to MAX_ATTRIBUTE_CHARS UTF-16 units without leaving half of a surrogate pair. */
function truncate(text: string): string {
  if (text.length <= MAX_ATTRIBUTE_CHARS) return text;
  const cut = text.slice(0, MAX_ATTRIBUTE_CHARS);
  const last = cut.charCodeAt(MAX_ATTRIBUTE_CHARS - 1);
  return last >= 0xd800 && last <= 0xdbff ? cut.slice(0, -1) : cut;
}
