// Postfix policy delegation protocol, request side (SMTPD_POLICY_README): `name=value` lines, an
// empty line ends a request. This parser knows nothing of sockets: feed it the bytes as they
// arrive, in any split, and it returns what they completed.
//
// Behaviour kept from Postgrey 1.37 (postgrey.md §6): lines end in LF or CRLF; the split is at the
// first `=`; name and value are each truncated to 512 characters; a line without `=` is garbage
// and skipped; a repeated name keeps the last value. Added: a cap on line length and on lines per
// request, because Postgrey would buffer a line of any size; empty lines outside a request count
// against the same cap, so a client cannot keep a connection busy with an endless run of them.

export type ParserEvent =
  | { type: 'request'; attrs: Map<string, string> }
  | { type: 'garbage'; line: string }
  | { type: 'oversize'; what: 'line' | 'attributes'; detail: string };

export interface PolicyParserOptions {
  /** Longest accepted line in bytes, not counting the line ending. */
  maxLineBytes: number;
  /** Most lines (attributes and garbage) in one request, and most empty lines before one. */
  maxAttributes: number;
  /**
   * The attribute names to keep; the others still count against maxAttributes but are dropped.
   * Default: all. Postfix sends ~25 attributes and serve reads ~12: storing the rest was a third of
   * what a request allocated, hence of the garbage collector's work.
   */
  keep?: ReadonlySet<string>;
}

/** Postgrey's `substr($1, 0, 512)` on both name and value. */
export const MAX_ATTRIBUTE_CHARS = 512;

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

export class PolicyParser {
  readonly #maxLineBytes: number;
  readonly #maxAttributes: number;
  readonly #keep: ReadonlySet<string> | null;
  #pending: Buffer = EMPTY;
  #attrs = new Map<string, string>();
  #lineCount = 0;
  /** Empty lines since the last request ended; Postfix never sends them. */
  #strayEmptyLines = 0;
  #failed = false;

  constructor(opts: PolicyParserOptions) {
    for (const key of ['maxLineBytes', 'maxAttributes'] as const) {
      if (!Number.isInteger(opts[key]) || opts[key] < 1) {
        throw new RangeError(`PolicyParser ${key} must be a positive integer, got ${opts[key]}`);
      }
    }
    this.#maxLineBytes = opts.maxLineBytes;
    this.#maxAttributes = opts.maxAttributes;
    this.#keep = opts.keep ?? null;
  }

  /** True once a limit was exceeded; the stream is then unusable and later pushes return nothing. */
  get failed(): boolean {
    return this.#failed;
  }

  /** True while part of a request has arrived but not its closing empty line. */
  get midRequest(): boolean {
    return this.#lineCount > 0 || this.#pending.length > 0;
  }

  /** Empty lines received since the last request ended (or the start). */
  get strayEmptyLines(): number {
    return this.#strayEmptyLines;
  }

  push(chunk: Buffer): ParserEvent[] {
    const events: ParserEvent[] = [];
    if (this.#failed || chunk.length === 0) return events;
    // The pending tail is at most one capped line, so this copy stays small.
    const carried = this.#pending.length;
    const buf = carried > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    // The carried tail holds no LF, so the search starts in the new bytes: a client that drips one
    // byte at a time is not rescanned from the start of its line on every byte.
    let start = 0;
    if (buf.indexOf(LF, carried) !== -1) {
      const complete = buf.lastIndexOf(LF) + 1;
      // All complete lines decoded at once: one call into the UTF-8 decoder per chunk instead of
      // two per line. LF is ASCII, so decoding whole and splitting at LF and `=` gives the same
      // strings as decoding each piece. The decoder never yields more UTF-16 units than it read
      // bytes, so equal totals mean every line's length in units is its length in bytes, which
      // the line cap is about; otherwise (non-ASCII text) each line is decoded on its own.
      const text = buf.toString('utf8', 0, complete);
      start = this.#lines(buf, complete, text.length === complete ? text : null, events);
      if (this.#failed) return events;
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

  /**
   * The lines in the first `complete` bytes of `buf`, which end in LF. `text` is those bytes
   * decoded when it has one UTF-16 unit per byte, so lines are cut from it without decoding again;
   * null decodes each line on its own. Returns where it stopped: `complete`, or the start of the
   * line that broke a limit.
   */
  #lines(buf: Buffer, complete: number, text: string | null, events: ParserEvent[]): number {
    let start = 0;
    while (start < complete) {
      const nl = text !== null ? text.indexOf('\n', start) : buf.indexOf(LF, start);
      const end = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
      if (end - start > this.#maxLineBytes) {
        this.#failLine(events);
        return start;
      }
      this.#line(text !== null ? text.slice(start, end) : buf.toString('utf8', start, end), events);
      if (this.#failed) return start;
      start = nl + 1;
    }
    return start;
  }

  #line(line: string, events: ParserEvent[]): void {
    if (line.length === 0) {
      // A blank line with nothing before it is skipped: answering it would hand the client an
      // extra reply and shift every later answer by one.
      if (this.#lineCount === 0) {
        this.#strayEmptyLines += 1;
        if (this.#strayEmptyLines > this.#maxAttributes) this.#failAttributes(events, `more than ${this.#maxAttributes} empty lines outside a request`);
        return;
      }
      events.push({ type: 'request', attrs: this.#attrs });
      this.#attrs = new Map();
      this.#lineCount = 0;
      this.#strayEmptyLines = 0;
      return;
    }
    this.#lineCount += 1;
    if (this.#lineCount > this.#maxAttributes) {
      this.#failAttributes(events, `more than ${this.#maxAttributes} lines in one request`);
      return;
    }
    const eq = line.indexOf('=');
    // `=value` has no name; Postgrey's regex needs at least one character before the `=`.
    if (eq <= 0) {
      events.push({ type: 'garbage', line });
      return;
    }
    const name = truncate(line.slice(0, eq));
    if (this.#keep === null || this.#keep.has(name)) this.#attrs.set(name, truncate(line.slice(eq + 1)));
  }

  #failAttributes(events: ParserEvent[], detail: string): void {
    this.#failed = true;
    this.#pending = EMPTY;
    this.#attrs = new Map();
    events.push({ type: 'oversize', what: 'attributes', detail });
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
