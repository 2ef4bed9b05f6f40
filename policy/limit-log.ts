// The policy server's log lines about its limits: connections refused, connections closed to make
// room, requests not completed in time, accept() failures. An outsider can repeat each of these
// at will, so each kind is one line per interval with a count (rate-limited-log.ts).

import type { LimitCause } from './connection-table.ts';
import { describeAcceptError } from './listen-failures.ts';
import type { Logger } from './logger.ts';
import { RateLimitedLog } from './rate-limited-log.ts';

const INTERVAL_MS = 10_000;

export interface LimitLogSettings {
  maxConnections: number;
  maxConnectionsPerAddress: number;
  requestTimeoutMs: number;
}

interface LimitEvent {
  client: string;
  cause: LimitCause;
}

export class LimitLog {
  readonly #logger: Logger;
  readonly #settings: LimitLogSettings;
  readonly #refusals: RateLimitedLog<LimitEvent>;
  readonly #evictions: RateLimitedLog<LimitEvent>;
  readonly #overdue: RateLimitedLog<string>;
  readonly #acceptErrors = new Map<string, RateLimitedLog<string>>();

  constructor(logger: Logger, settings: LimitLogSettings) {
    this.#logger = logger;
    this.#settings = settings;
    this.#refusals = this.#capLog((count, e) => `refused ${count} policy connection(s): ${this.#cap(e.cause)} reached and every connection busy (latest from ${e.client})`);
    this.#evictions = this.#capLog(
      (count, e) => `closed ${count} idle or slow policy connection(s) to make room: ${this.#cap(e.cause)} reached (latest for a new connection from ${e.client})`,
    );
    const { requestTimeoutMs } = settings;
    this.#overdue = new RateLimitedLog<string>({
      intervalMs: INTERVAL_MS,
      write: (count, client) =>
        logger.warn(`closed ${count} policy connection(s) that did not complete a request within ${requestTimeoutMs} ms (latest from ${client})`, {
          connections: count,
          requestTimeoutMs,
        }),
    });
  }

  /** A new connection turned away: every connection was busy. */
  refused(client: string, cause: LimitCause): void {
    this.#refusals.note({ client, cause });
  }

  /** An idle or slow connection closed so that a new one from `client` could be served. */
  evicted(client: string, cause: LimitCause): void {
    this.#evictions.note({ client, cause });
  }

  /** A connection closed for not completing its request in time. */
  overdue(client: string): void {
    this.#overdue.note(client);
  }

  /** accept() failed on `listener`: out of descriptors (EMFILE, ENFILE) or memory. */
  acceptFailed(listener: string, err: unknown): void {
    let log = this.#acceptErrors.get(listener);
    if (log === undefined) {
      log = new RateLimitedLog<string>({
        intervalMs: INTERVAL_MS,
        write: (count, text) => this.#logger.error(`policy listener ${listener}: ${count} connection(s) lost: ${text}`, { connections: count }),
      });
      this.#acceptErrors.set(listener, log);
    }
    log.note(describeAcceptError(err));
  }

  /** Write the counts still pending (at shutdown). */
  close(): void {
    for (const log of [this.#refusals, this.#evictions, this.#overdue, ...this.#acceptErrors.values()]) log.close();
  }

  #capLog(text: (count: number, e: LimitEvent) => string): RateLimitedLog<LimitEvent> {
    const { maxConnections, maxConnectionsPerAddress } = this.#settings;
    return new RateLimitedLog<LimitEvent>({
      intervalMs: INTERVAL_MS,
      write: (count, e) => this.#logger.warn(text(count, e), { connections: count, maxConnections, maxConnectionsPerAddress }),
    });
  }

  #cap(cause: LimitCause): string {
    return cause === 'total'
      ? `maxConnections=${this.#settings.maxConnections}`
      : `maxConnectionsPerAddress=${this.#settings.maxConnectionsPerAddress}`;
  }
}
