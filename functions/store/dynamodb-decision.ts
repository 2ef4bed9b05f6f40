// One decision against the DynamoDB table, optimistically: touch, read, decide, correct, and try
// again when another decision got there first.
//
// Concurrency. `ver` is a fresh random token on every write, and every write that builds on a
// read is conditioned on the token it read: two decisions never both build on the same state, so
// no update is lost. A lost condition re-reads and runs decide again (decide is pure).
//
// The first round trip touches the triplet and reads the client (dynamodb-requests.ts says when a
// touch is harmless, and what it writes). Where the touch is the write decide asks for, that is
// the whole decision; otherwise one corrective write follows, conditioned on the touch's token.
//
// Two records in one decision (a first pass that counts towards the auto-whitelist): both
// conditional writes go out at once. dynalite has no transactions, so nothing here relies on
// them: when only one write lands, decide runs again with that record's old state and the other
// record's fresh one, and only the missing write is retried. Each record thus moves through a
// chain of writes each built on the one before it, none lost, none applied twice; of concurrent
// first passes from one client exactly one counts, as the hourly rule says.
//
// Auto-whitelisted clients write no triplet. The first decision for one deletes the record its
// touch created; later ones read the triplet instead of touching it (dynamodb-awl-hints.ts). The
// touch of an existing record may stay (the port's "one latitude").

import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AwlHints } from './dynamodb-awl-hints.ts';
import { isConditionalCheckFailed } from './dynamodb-errors.ts';
import type { DynamoDbRequests } from './dynamodb-requests.ts';
import type { DynamoDbSender } from './dynamodb-sender.ts';
import {
  clientSlot,
  conflictItem,
  sameRecord,
  seenClient,
  seenTriplet,
  tripletOf,
  tripletSlot,
  type Slot,
  type TripletSlot,
} from './dynamodb-slots.ts';
import { parseTripletItem } from './dynamodb-table.ts';
import { StoreUnavailableError } from './store-port.ts';
import { checkWrites } from './write-checks.ts';
import type { ClientRecord, DecisionKeys, DecisionState, DecisionWrites, TripletRecord } from './store-port.ts';

/** Attempts of one decision that keeps losing its conditions before StoreUnavailableError. */
const MAX_ATTEMPTS = 60;

export class DynamoDbDecisions {
  readonly #sender: DynamoDbSender;
  readonly #requests: DynamoDbRequests;
  readonly #awl: AwlHints;
  readonly #tokenPrefix = randomBytes(6).toString('base64url');
  #tokens = 0;

  constructor(sender: DynamoDbSender, requests: DynamoDbRequests, awl: AwlHints) {
    this.#sender = sender;
    this.#requests = requests;
    this.#awl = awl;
  }

  /** GreylistStore.runDecision, once the store has checked its arguments. */
  async run<T extends { writes: DecisionWrites }>(keys: DecisionKeys, now: number, decide: (state: DecisionState) => T): Promise<T> {
    const t = tripletSlot(this.#sender.table, keys.triplet);
    const c = keys.client === null ? null : clientSlot(this.#sender.table, keys.client);

    const hinted = keys.client !== null && this.#awl.has(keys.client);
    await this.#sender.round([hinted ? this.#read(t) : this.#touch(t, now), c && this.#read(c)]);
    if (t.item === undefined) await this.#sender.round([this.#read(t)]);

    for (let attempt = 1; ; attempt += 1) {
      const seen: DecisionState = { triplet: seenTriplet(t, now), client: c === null ? null : seenClient(c, now) };
      let result: T;
      try {
        result = decide(seen);
        checkWrites(keys, result.writes);
      } catch (error) {
        await this.#undoTouch(t);
        throw error;
      }
      const { triplet: wantTriplet, client: wantClient } = result.writes;
      const landed = await this.#sender.round([
        wantTriplet !== undefined
          ? this.#commit(t, wantTriplet, seen.triplet)
          : t.mine?.touch?.old === null
            ? this.#deleteCreatedTouch(t)
            : null,
        wantClient !== undefined && c !== null ? this.#commit(c, wantClient, seen.client) : null,
      ]);
      if (landed.every(Boolean)) {
        if (keys.client !== null) this.#awl.remember(keys.client, wantTriplet === undefined);
        return result;
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new StoreUnavailableError(
          `gave up after ${attempt} attempts: other decisions kept changing the same records of the DynamoDB table ` +
            `"${this.#sender.table}" in ${this.#sender.region}; retry later`,
        );
      }
      // Full jitter spreads the losers of a race so the next round has fewer of them.
      await sleep(Math.random() * Math.min(50, 2 * 2 ** attempt));
      await this.#sender.round([t.item === undefined ? this.#read(t) : null, c !== null && c.item === undefined ? this.#read(c) : null]);
    }
  }

  /**
   * GreylistStore.importTriplet / importClient: read one record, merge, and write the merge
   * conditioned on the version read; a lost condition merges again with what won. No touch.
   */
  async importTriplet(key: string, now: number, merge: (held: TripletRecord | null) => TripletRecord | undefined): Promise<boolean> {
    const t = tripletSlot(this.#sender.table, key);
    return this.#importOne(t, () => seenTriplet(t, now), merge);
  }

  async importClient(key: string, now: number, merge: (held: ClientRecord | null) => ClientRecord | undefined): Promise<boolean> {
    const c = clientSlot(this.#sender.table, key);
    return this.#importOne(c, () => seenClient(c, now), merge);
  }

  async #importOne<R extends TripletRecord | ClientRecord, S extends R & { ver: string }>(
    slot: Slot<R, S>,
    seen: () => R | null,
    merge: (held: R | null) => R | undefined,
  ): Promise<boolean> {
    await this.#sender.round([this.#read(slot)]);
    for (let attempt = 1; ; attempt += 1) {
      const want = merge(seen());
      if (want === undefined) return false;
      const landed = await this.#sender.round([this.#write(slot, want, slot.item?.ver ?? null)]);
      if (landed.every((ver) => ver !== null)) return true;
      if (attempt >= MAX_ATTEMPTS) {
        throw new StoreUnavailableError(
          `gave up importing "${slot.pk}" after ${attempt} attempts: decisions kept changing it in the DynamoDB table "${this.#sender.table}"; run the import again`,
        );
      }
      if (slot.item === undefined) await this.#sender.round([this.#read(slot)]);
    }
  }

  /** GreylistStore.peek: the state a decision would see, read in one round trip. */
  async peek(keys: DecisionKeys, now: number): Promise<DecisionState> {
    const t = tripletSlot(this.#sender.table, keys.triplet);
    const c = keys.client === null ? null : clientSlot(this.#sender.table, keys.client);
    await this.#sender.round([this.#read(t), c && this.#read(c)]);
    return { triplet: seenTriplet(t, now), client: c === null ? null : seenClient(c, now) };
  }

  /** The speculative sighting. On a failed condition `t.item` holds the item, or is left to read. */
  async #touch(t: TripletSlot, now: number): Promise<void> {
    if (!this.#requests.touches) return this.#read(t);
    const ver = this.#newToken();
    try {
      const out = await this.#sender.update(this.#requests.touch(t.pk, now, ver));
      const old = out.Attributes === undefined ? null : parseTripletItem(out.Attributes, this.#sender.table);
      // What the touch's if_not_exists clauses wrote.
      const lifetime = old?.ttlWindow ?? this.#requests.newTripletLifetime;
      const written: TripletRecord = { firstSeen: old?.firstSeen ?? now, lastSeen: now, expiresAt: now + lifetime };
      t.item = { ...written, ver, ttlWindow: lifetime };
      t.mine = { seen: old === null ? null : tripletOf(old), written, ver, touch: { old } };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      t.item = conflictItem(t, error);
    }
  }

  /**
   * Stores `want` for this decision, conditioned on the version it built on; resolves false when
   * another decision got there first (the slot then holds what to build on next). Null when the
   * record already holds `want` by this decision's own hand.
   */
  #commit<R extends TripletRecord | ClientRecord, S extends R & { ver: string }>(
    slot: Slot<R, S>,
    want: R,
    seen: R | null,
  ): Promise<boolean> | null {
    const mine = slot.mine;
    if (mine !== null && sameRecord(want, mine.written)) return null;
    const expect = mine !== null ? mine.ver : (slot.item?.ver ?? null);
    return this.#write(slot, want, expect).then((ver) => {
      if (ver !== null) {
        slot.mine = { seen: mine !== null ? mine.seen : seen, written: want, ver, touch: null };
        return true;
      }
      if (mine !== null && mine.touch === null) {
        // Decide changed its mind about a record this decision already wrote (its writes to one
        // record depend on the other), and another decision has built on that write meanwhile.
        throw new StoreUnavailableError(
          `a concurrent decision built on a record this decision had to change again, in the DynamoDB table "${this.#sender.table}"; retry`,
        );
      }
      slot.mine = null;
      return false;
    });
  }

  /** One conditional write of a whole record; the new token, or null when the condition failed. */
  async #write<R extends TripletRecord | ClientRecord, S extends R & { ver: string }>(
    slot: Slot<R, S>,
    record: R,
    expect: string | null,
  ): Promise<string | null> {
    const ver = this.#newToken();
    try {
      await this.#sender.update(this.#requests.write(slot.pk, record, ver, expect));
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const conflict = conflictItem(slot, error);
      // The SDK retries a request that timed out; if the first attempt had landed, the retry
      // fails its condition against our own write. Our token on the item says so.
      if (conflict?.ver === ver) {
        slot.item = slot.stored(record, ver);
        return ver;
      }
      slot.item = conflict;
      return null;
    }
    slot.item = slot.stored(record, ver);
    return ver;
  }

  /** Decide wrote no triplet: the record this decision's touch created goes again, if nobody sighted it since. */
  async #deleteCreatedTouch(t: TripletSlot): Promise<boolean> {
    const ver = t.mine?.ver;
    if (ver === undefined) return true;
    const deleted = await this.#sender.delete(this.#requests.deleteMine(t.pk, ver));
    t.mine = null;
    t.item = deleted ? null : undefined;
    return true;
  }

  /** Decide failed: undo this decision's touch if nobody changed the record since (best effort). */
  async #undoTouch(t: TripletSlot): Promise<void> {
    const mine = t.mine;
    if (mine === null || mine.touch === null) return;
    try {
      if (mine.touch.old === null) await this.#sender.round([this.#sender.delete(this.#requests.deleteMine(t.pk, mine.ver))]);
      else await this.#sender.round([this.#write(t, tripletOf(mine.touch.old), mine.ver)]);
    } catch {
      // The error of decide is the story; a touch alone may stay (the port's latitude).
    }
  }

  async #read<R, S extends R & { ver: string }>(slot: Slot<R, S>): Promise<void> {
    const item = await this.#sender.get(this.#requests.get(slot.pk));
    slot.item = item === undefined ? null : slot.parse(item);
  }

  #newToken(): string {
    this.#tokens += 1;
    return `${this.#tokenPrefix}.${this.#tokens.toString(36)}`;
  }
}
