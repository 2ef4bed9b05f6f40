// One log line per interval for events an outsider can repeat at will (refused or closed
// connections, accept failures): the first event of a quiet spell is logged at once, so an admin
// sees the start of a storm as it happens; later ones are counted and logged as one line with the
// count when the interval ends. A storm of a million events is then a few lines a minute.

export interface RateLimitedLogOptions<T> {
  intervalMs: number;
  /** Writes one line for `count` events; `latest` is the most recent one's detail. */
  write: (count: number, latest: T) => void;
}

export class RateLimitedLog<T> {
  readonly #intervalMs: number;
  readonly #write: (count: number, latest: T) => void;
  #timer: NodeJS.Timeout | undefined;
  #pending = 0;
  #latest: T | undefined;

  constructor(opts: RateLimitedLogOptions<T>) {
    this.#intervalMs = opts.intervalMs;
    this.#write = opts.write;
  }

  note(detail: T): void {
    if (this.#timer === undefined) {
      this.#write(1, detail);
      this.#arm();
      return;
    }
    this.#pending += 1;
    this.#latest = detail;
  }

  /** Write what is still counted and stop the timer (on shutdown). */
  close(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#flush();
  }

  #arm(): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      // Another interval starts only if this one saw events: a storm gives one line per interval,
      // and the first event after a quiet interval is logged at once again.
      if (this.#flush()) this.#arm();
    }, this.#intervalMs);
    // A pending summary must not keep a stopping process alive.
    this.#timer.unref();
  }

  #flush(): boolean {
    if (this.#pending === 0 || this.#latest === undefined) return false;
    const count = this.#pending;
    const latest = this.#latest;
    this.#pending = 0;
    this.#latest = undefined;
    this.#write(count, latest);
    return true;
  }
}
