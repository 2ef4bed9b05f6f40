// Recent Postfix `instance` ids, so a message with several recipients gets one X-Greylist header.
//
// Postfix sends the same `instance` for every RCPT of one message. Postgrey keeps the last 10 ids
// in its single process; greygate answers many connections at once, so the caller picks a larger
// capacity. A Set keeps insertion order, which makes "forget the oldest" O(1).

export class InstanceMemory {
  readonly #ids = new Set<string>();
  readonly #capacity: number;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`InstanceMemory capacity must be a positive integer, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Record `id` as the most recent; the oldest id is forgotten once capacity is reached. */
  remember(id: string): void {
    // Re-inserting moves the id to the newest end, so an active message is not evicted early.
    this.#ids.delete(id);
    this.#ids.add(id);
    if (this.#ids.size > this.#capacity) {
      const oldest = this.#ids.values().next();
      if (!oldest.done) this.#ids.delete(oldest.value);
    }
  }

  /**
   * Whether a message may get its X-Greylist header: true the first time for an `instance` (which
   * is then remembered), false once it had one. Postgrey's is_new_instance: a missing `instance`
   * (not sent by the client) is always new; an empty one is an id like any other.
   */
  claimHeader(instance: string | undefined): boolean {
    if (instance === undefined) return true;
    if (this.has(instance)) return false;
    this.remember(instance);
    return true;
  }

  get size(): number {
    return this.#ids.size;
  }
}
