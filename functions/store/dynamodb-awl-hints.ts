// Auto-whitelisted clients write no triplet, yet the touch would create one for each of their
// messages, for the decision to delete again. So the store remembers such a client for an hour, in
// this process, and reads its triplets instead of touching them: one round trip, no write. The
// hint only chooses between touching and reading, so a stale one costs a round trip, never a wrong
// answer. Time is the store's injected clock, so the hour can be stepped over in a test.

const HINT_TTL_MS = 3_600_000;
/** Bounds the memory of a process that sees many whitelisted clients; the oldest hint goes first. */
const MAX_HINTS = 10_000;

export class AwlHints {
  readonly #clock: () => number;
  readonly #until = new Map<string, number>();

  /** `clock`: milliseconds since the epoch, as Date.now. */
  constructor(clock: () => number) {
    this.#clock = clock;
  }

  /** Whether `client`'s last decision here, within the hour, wrote no triplet. */
  has(client: string): boolean {
    const until = this.#until.get(client);
    if (until === undefined) return false;
    if (until > this.#clock()) return true;
    this.#until.delete(client);
    return false;
  }

  /** Records how `client`'s decision ended: remembered when it wrote no triplet, forgotten otherwise. */
  remember(client: string, writesNoTriplet: boolean): void {
    this.#until.delete(client);
    if (!writesNoTriplet) return;
    this.#until.set(client, this.#clock() + HINT_TTL_MS);
    if (this.#until.size > MAX_HINTS) {
      const oldest = this.#until.keys().next().value;
      if (oldest !== undefined) this.#until.delete(oldest);
    }
  }
}
