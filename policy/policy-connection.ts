// One Postfix policy client connection: parse requests, hand each to the handler, write the
// answers back in request order. Knows nothing of listening or of greylisting.
//
// Postfix keeps the connection open for many requests and a client may pipeline, so answers are
// queued in slots and written strictly in order even when the handler resolves out of order.
// Flow control: at most `maxPipelined` requests are in the handler at once per connection, and
// reading pauses while requests wait or while the client is not reading its answers, so a client
// can never make the server buffer without bound.
//
// Time: the server calls expire() now and then. A request must be complete within
// requestTimeoutMs of its first byte (Postfix writes a request in one go), and a connection with
// nothing in progress is closed after idleTimeoutMs without a completed request. Stray bytes do
// not count as activity, so dripping a byte at a time cannot keep a connection alive.

import type { Socket } from 'node:net';
import { describePeer, type ConnectionCounters, type ConnectionSettings, type ExpiryReason, type PolicyRequestInfo } from './connection-contract.ts';
import { describeError, escapeControlChars, type Logger } from './logger.ts';
import { PolicyParser, type ParserEvent } from './policy-parser.ts';

const POLICY_REQUEST = 'smtpd_access_policy';
const FALLBACK_ACTION = 'DUNNO';
const GARBAGE_LOG_LIMIT = 10;
const GARBAGE_SHOWN_CHARS = 100;

interface Slot {
  action: string | undefined;
  /** Set while the handler works on the request. */
  abort: AbortController | undefined;
}

export class PolicyConnection {
  readonly id: number;
  readonly client: string;
  /** The peer's IP address; undefined on a unix socket. */
  readonly peerAddress: string | undefined;
  readonly #socket: Socket;
  readonly #settings: ConnectionSettings;
  readonly #counters: ConnectionCounters;
  readonly #parser: PolicyParser;
  /** Answers owed, oldest first; a slot is filled when its handler settles. */
  #slots: Slot[] = [];
  /** Parsed events not yet acted on, because the pipeline was full. */
  #backlog: ParserEvent[] = [];
  #backlogPos = 0;
  #acceptingRequests = true;
  /** Close once every owed answer is written: client half-closed, exim mode, or shutdown. */
  #ending = false;
  #ended = false;
  #closed = false;
  #paused = false;
  #awaitingDrain = false;
  #garbageLogged = 0;
  #pumpQueued = false;
  /** When a request last completed or was answered, or the connection opened. */
  #activeAt: number;
  /** When the first byte of the request still incomplete arrived; undefined between requests. */
  #requestStartedAt: number | undefined;

  constructor(socket: Socket, id: number, settings: ConnectionSettings, counters: ConnectionCounters, onClose: (c: PolicyConnection) => void) {
    this.id = id;
    this.#socket = socket;
    this.#settings = settings;
    this.#counters = counters;
    this.client = describePeer(socket);
    this.peerAddress = socket.remoteAddress;
    this.#activeAt = Date.now();
    this.#parser = new PolicyParser({
      maxLineBytes: settings.maxLineBytes,
      maxAttributes: settings.maxAttributes,
      ...(settings.handlerAttributes ? { keep: settings.handlerAttributes } : {}),
    });

    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.#onData(chunk));
    socket.on('end', () => {
      // The client half-closed: answer what it already sent, then finish our side.
      this.#ending = true;
      this.#pump();
    });
    socket.on('drain', () => {
      this.#awaitingDrain = false;
      this.#updateFlow();
    });
    socket.on('error', (err) => {
      // Resets and broken pipes are routine when a client dies; 'close' follows and cleans up.
      this.#counters.socketErrors += 1;
      this.#log().debug?.(`policy connection ${this.id} from ${this.client}: ${describeError(err)}`, this.#fields());
    });
    socket.on('close', () => {
      this.#closed = true;
      for (const slot of this.#slots) slot.abort?.abort();
      this.#slots = [];
      this.#backlog = [];
      this.#backlogPos = 0;
      onClose(this);
    });
  }

  /** Graceful close for server shutdown: answer the requests already in the handler, take no
   * new ones, then end. A request not yet started is left to Postfix to retry elsewhere. */
  shutdown(): void {
    if (this.#closed) return;
    // An idle connection (Postfix keeps one per smtpd process) closes at once: its client would
    // only notice our FIN at its next request, and until then the drain would wait, with the
    // listener already closed. With nothing unread and nothing unanswered, closing loses nothing.
    const idle =
      this.#slots.length === 0 && this.#backlogPos >= this.#backlog.length && !this.#parser.midRequest && this.#socket.writableLength === 0;
    if (idle) {
      this.#socket.destroy();
      return;
    }
    this.#stopAfterCurrent();
    this.#pump();
  }

  destroy(): void {
    this.#socket.destroy();
  }

  /** When it last did something useful; the connection idle longest gives way to a new one. */
  get activeAt(): number {
    return this.#activeAt;
  }

  /** Requests in the handler or waiting for it, or answers not yet written. */
  get busy(): boolean {
    return this.#slots.length > 0 || this.#backlogPos < this.#backlog.length;
  }

  /** Close the connection if its request is overdue or it has been idle too long. */
  expire(now: number): ExpiryReason | undefined {
    if (this.#closed) return undefined;
    if (this.#requestStartedAt !== undefined) {
      if (this.#paused) {
        // While reading is paused the client cannot finish its request; that is our doing. Only
        // the idle limit applies then (a client that never reads its answers).
        this.#requestStartedAt = now;
      } else if (now - this.#requestStartedAt >= this.#settings.requestTimeoutMs) {
        this.#socket.destroy();
        return 'request-timeout';
      } else {
        return undefined;
      }
    }
    // A request still in the handler is not idleness; the answer's write restarts the clock.
    if (this.#slots.length > 0 || now - this.#activeAt < this.#settings.idleTimeoutMs) return undefined;
    this.#log().debug?.(`closing policy connection from ${this.client}: idle for ${this.#settings.idleTimeoutMs} ms`, this.#fields());
    this.#socket.destroy();
    return 'idle';
  }

  #log(): Logger {
    return this.#settings.logger;
  }

  #fields(): Record<string, unknown> {
    return { connectionId: this.id, client: this.client };
  }

  #onData(chunk: Buffer): void {
    if (!this.#acceptingRequests) return;
    const events = this.#parser.push(chunk);
    let completed = false;
    for (const event of events) {
      this.#backlog.push(event);
      if (event.type === 'request') completed = true;
    }
    // The deadline runs from the first byte of each request; empty lines before a request count
    // as its start, or a client could drip them forever.
    const started = this.#parser.midRequest || this.#parser.strayEmptyLines > 0;
    if (completed || (started && this.#requestStartedAt === undefined)) {
      const now = Date.now();
      if (completed) this.#activeAt = now;
      this.#requestStartedAt = started ? now : undefined;
    } else if (!started) {
      this.#requestStartedAt = undefined;
    }
    this.#pump();
  }

  /** Act on waiting events while the pipeline has room, then write what is ready. */
  #pump(): void {
    if (this.#closed) return;
    const hasRoom = (): boolean =>
      this.#acceptingRequests && this.#backlogPos < this.#backlog.length && this.#slots.length < this.#settings.maxPipelined;
    // Written answers free their slots, and answers given without the handler (unknown request
    // types) are ready at once, so keep alternating until no room or no work is left.
    for (this.#flush(); hasRoom(); this.#flush()) {
      while (hasRoom()) {
        const event = this.#backlog[this.#backlogPos++];
        if (event === undefined) break;
        if (event.type === 'request') this.#startRequest(event.attrs);
        else if (event.type === 'garbage') this.#onGarbage(event.line);
        else return this.#onLimit(event.what, event.detail);
      }
    }
    if (this.#backlogPos >= this.#backlog.length && this.#backlog.length > 0) {
      this.#backlog = [];
      this.#backlogPos = 0;
    }
    this.#finishIfDone();
    this.#updateFlow();
  }

  #startRequest(attrs: Map<string, string>): void {
    const slot: Slot = { action: undefined, abort: undefined };
    this.#slots.push(slot);
    // Exim's readsocket reads until EOF: one answer per connection, later input is ignored.
    if (this.#settings.exim) this.#stopAfterCurrent();

    const type = attrs.get('request') ?? '';
    if (type !== POLICY_REQUEST) {
      // Postgrey answers nothing here and the client hangs until its timeout; DUNNO lets Postfix
      // carry on with its other restrictions.
      this.#counters.unrecognizedRequests += 1;
      this.#log().warn(`unrecognized request type: '${escapeControlChars(type)}'`, this.#fields());
      slot.action = FALLBACK_ACTION;
      return;
    }

    this.#counters.requestsInFlight += 1;
    // The controller is made only if the handler looks at the signal (the bridge does, serve does
    // not): an AbortController per request is a measurable share of serve's per-request work.
    const connection = this;
    const info: PolicyRequestInfo = {
      connectionId: this.id,
      client: this.client,
      get signal(): AbortSignal {
        if (connection.#closed) return AbortSignal.abort();
        slot.abort ??= new AbortController();
        return slot.abort.signal;
      },
    };
    let result: Promise<string>;
    try {
      result = Promise.resolve(this.#settings.handler(attrs, info));
    } catch (err) {
      result = Promise.reject(err);
    }
    result.then(
      (action) => this.#settle(slot, action, undefined, false),
      (err: unknown) => this.#settle(slot, undefined, err, true),
    );
  }

  #settle(slot: Slot, action: unknown, err: unknown, failed: boolean): void {
    this.#counters.requestsInFlight -= 1;
    slot.abort = undefined;
    if (this.#closed) return; // the client is gone; nobody to answer
    if (failed || typeof action !== 'string' || action.trim() === '') {
      const cause = failed ? describeError(err) : `handler returned ${typeof action === 'string' ? 'an empty action' : typeof action}`;
      this.#counters.handlerErrors += 1;
      // DUNNO, not a deferral: an internal fault must never block mail (postgrey.md, fail open).
      this.#log().error(`policy handler failed, answering ${FALLBACK_ACTION}: ${cause}`, { ...this.#fields(), error: err });
      slot.action = FALLBACK_ACTION;
    } else {
      slot.action = this.#sanitize(action);
    }
    // Handlers that finish together (a pipelined batch) settle in one run of microtasks; pumping
    // once after them turns their answers into one write instead of one write each.
    if (this.#pumpQueued) return;
    this.#pumpQueued = true;
    queueMicrotask(() => {
      this.#pumpQueued = false;
      this.#pump();
    });
  }

  /** A CR or LF in the action would end the reply early and let header text forge protocol lines. */
  #sanitize(action: string): string {
    const clean = action.replace(/[\u0000-\u001f\u007f]/g, ' ');
    if (clean !== action) {
      this.#log().warn(`policy action contained control characters, replaced with spaces: ${escapeControlChars(action.slice(0, 200))}`, this.#fields());
    }
    return clean;
  }

  #flush(): void {
    let out = '';
    let answered = 0;
    for (let head = this.#slots[0]; head?.action !== undefined; head = this.#slots[0]) {
      out += `action=${head.action}\n\n`;
      answered += 1;
      this.#slots.shift();
    }
    if (answered === 0 || this.#closed || this.#ended) return;
    this.#counters.requestsAnswered += answered;
    this.#activeAt = Date.now();
    // One write for all answers that became ready together keeps pipelined replies cheap.
    if (!this.#socket.write(out)) this.#awaitingDrain = true;
  }

  #finishIfDone(): void {
    if (this.#ended || !this.#ending || this.#slots.length > 0) return;
    if (this.#acceptingRequests && this.#backlogPos < this.#backlog.length) return;
    this.#ended = true;
    this.#ignoreInput();
    // end(), not destroy(): closing with unread input makes the kernel send RST, which can
    // discard answers the client has not read yet. Input is drained until the client closes;
    // the idle timeout or the shutdown timer covers a client that never does.
    this.#socket.end();
  }

  #stopAfterCurrent(): void {
    this.#ending = true;
    this.#ignoreInput();
  }

  #ignoreInput(): void {
    this.#acceptingRequests = false;
    this.#requestStartedAt = undefined;
    this.#backlog = [];
    this.#backlogPos = 0;
    this.#updateFlow();
  }

  #onGarbage(line: string): void {
    this.#counters.garbageLines += 1;
    this.#garbageLogged += 1;
    if (this.#garbageLogged <= GARBAGE_LOG_LIMIT) {
      this.#log().warn(`ignoring garbage: <${escapeControlChars(line.slice(0, GARBAGE_SHOWN_CHARS))}>`, this.#fields());
    } else if (this.#garbageLogged === GARBAGE_LOG_LIMIT + 1) {
      this.#log().warn(`further garbage from ${this.client} on this connection is not logged`, this.#fields());
    }
  }

  #onLimit(what: 'line' | 'attributes', detail: string): void {
    this.#counters.limitViolations += 1;
    const limit = what === 'line' ? `maxLineBytes=${this.#settings.maxLineBytes}` : `maxAttributes=${this.#settings.maxAttributes}`;
    this.#log().warn(`closing policy connection from ${this.client}: ${detail} (limit ${limit})`, { ...this.#fields(), limit: what });
    this.#closed = true;
    this.#socket.destroy();
  }

  #updateFlow(): void {
    if (this.#closed) return;
    // Once input is ignored, keep reading (and dropping) so the client's FIN is seen.
    const pause =
      this.#acceptingRequests &&
      (this.#awaitingDrain || this.#backlogPos < this.#backlog.length || this.#slots.length >= this.#settings.maxPipelined);
    if (pause && !this.#paused) this.#socket.pause();
    else if (!pause && this.#paused) this.#socket.resume();
    this.#paused = pause;
  }
}
