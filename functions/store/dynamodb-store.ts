// The fleet's store: one DynamoDB table shared by every MX host (items: see dynamodb-table.ts).
//
// Concurrency. `ver` is a fresh random token on every write, and every write that builds on a
// read is conditioned on the token it read: two decisions never both build on the same state, so
// no update is lost. A lost condition re-reads and runs decide again (decide is pure).
//
// Cost. In parallel, the speculative sighting ("touch") of the triplet, an UpdateItem returning
// the old item, and a consistent GetItem of the client record:
//
//   SET first_seen = if_not_exists(first_seen, now), last_seen = now,
//       expires_at = now + if_not_exists(ttl_window, <lifetime of a new triplet>), ver = <token>
//
// `ttl_window` is `expires_at - last_seen` of the last write decide asked for (retry-window for a
// triplet still waiting, max-age once it has passed, as decide counts them), so for a new triplet,
// an early retry and a triplet that has passed the touch *is* the write decide asks for: one round
// trip, one write. When decide wants something else a corrective write follows, conditioned on
// the touch's token. The lifetime of a new triplet is adopted from decide's writes, so a store
// pays that correction once, on its first new triplet.
//
// The touch must never change what a later decision concludes: above all it must not make a
// waiting triplet look passed before the decision that lets it pass has counted the client and
// sent the header, or a lost race would lose both. `pass_mark` (first_seen + delay) lets the
// condition see where the triplet stands. When `now` falls outside a touch window, the decision
// reads, decides, then writes (one round trip more):
//
//   still waiting (last_seen < pass_mark)
//   first_seen          pass_mark                               last_seen + retry-window
//   |-- touch: stays waiting --|-- no touch: first pass, or reset --------|-- expired: absent
//
//   passed (last_seen >= pass_mark)
//   last_seen                                                     last_seen + max-age
//   |-- touch: stays passed -------------------------------------------------|-- expired: absent
//
//   Never touched either: a record whose last_seen is after now (clock skew, policy_test_time),
//   as the touch would move it back. A first_seen after now is touched, then corrected as decide asks.
//
// DynamoDB returns the item of a failed condition when asked (ReturnValuesOnConditionCheckFailure),
// which saves the read; dynalite ignores the request, and then a GetItem fetches it.
//
// Two records in one decision (a first pass that counts towards the auto-whitelist): both
// conditional writes go out at once. dynalite has no transactions, so nothing here relies on
// them: when only one write lands, decide runs again with that record's old state and the other
// record's fresh one, and only the missing write is retried. Each record thus moves through a
// chain of writes each built on the one before it, none lost, none applied twice; of concurrent
// first passes from one client exactly one counts, as the hourly rule says.
//
// Auto-whitelisted clients write no triplet. The first decision for one deletes the record its
// touch created; the store then remembers the client for an hour, in this process, and reads the
// triplet instead of touching it: one round trip, no write. The touch of an existing record may
// stay (the port's "one latitude").
//
// A request that fails (throttled, unreachable) ends the decision with StoreUnavailableError; a
// write sent in the same round trip may have landed, as with any remote store, and the MTA's retry
// then finds it.
//
// purgeExpired and countRecords scan the whole table: diagnostics for `greygate serve --store
// dynamodb`, never called by the Lambda, where TTL deletes expired records for free.

import { randomBytes } from 'node:crypto';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PolicyConfig } from '../core/policy-config.ts';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed, translateDynamoDbError } from './dynamodb-errors.ts';
import {
  checkTableName,
  parseClientItem,
  parseTripletItem,
  recordKindOf,
  recordPk,
  resolveRegion,
  type Item,
  type StoredClient,
  type StoredTriplet,
} from './dynamodb-table.ts';
import { StoreError, StoreUnavailableError } from './store-port.ts';
import { checkPurgeLimit, checkTime, checkWrites } from './write-checks.ts';
import type {
  ClientRecord,
  DecisionKeys,
  DecisionState,
  DecisionWrites,
  GreylistStore,
  TripletRecord,
} from './store-port.ts';

export interface DynamoDbStoreOptions {
  /** Created once per container by the composition root, which destroys it (see closeClient). */
  client: DynamoDBClient;
  /** close() also destroys `client`: for a root that created the client for this store alone. */
  closeClient?: boolean;
  tableName: string;
  /** For error messages; defaults to the client's region. */
  region?: string;
  /**
   * Hints from the policy config, so the common paths need one round trip: the retry window is
   * the first guess at a new triplet's lifetime; max-age tells a passed triplet by its lifetime
   * when the delay is not given.
   */
  retryWindowSeconds: number;
  maxAgeSeconds: number;
  /**
   * The greylisting delay. Without it the store cannot tell an early retry from a first pass
   * before reading, so an early retry takes the read-then-write path (two round trips).
   */
  delaySeconds?: number;
}

/** DynamoDbStoreOptions' policy hints, from the policy config every runtime already has. */
export function dynamoDbPolicyHints(
  policy: Pick<PolicyConfig, 'retryWindowSeconds' | 'maxAgeDays' | 'delaySeconds'>,
): Pick<DynamoDbStoreOptions, 'retryWindowSeconds' | 'maxAgeSeconds' | 'delaySeconds'> {
  return {
    retryWindowSeconds: policy.retryWindowSeconds,
    maxAgeSeconds: policy.maxAgeDays * 86_400,
    delaySeconds: policy.delaySeconds,
  };
}

export interface DynamoDbStoreStats {
  /** UpdateItem and DeleteItem requests sent (a failed condition is billed as a write too). */
  writes: number;
  /** GetItem and Scan requests sent. */
  reads: number;
  /** Sequential waits on DynamoDB: requests sent together count once. */
  roundTrips: number;
}

export type DynamoDbStore = GreylistStore & { stats(): DynamoDbStoreStats };

export function createDynamoDbStore(opts: DynamoDbStoreOptions): DynamoDbStore {
  checkTableName(opts.tableName);
  for (const name of ['retryWindowSeconds', 'maxAgeSeconds', 'delaySeconds'] as const) {
    const value = opts[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new StoreError(`${name} must be a non-negative integer of seconds, got ${value}`);
    }
  }
  return new DynamoDbGreylistStore(opts);
}

/** Attempts of one decision that keeps losing its conditions before StoreUnavailableError. */
const MAX_ATTEMPTS = 60;
const HINT_TTL_MS = 3_600_000;
const MAX_HINTS = 10_000;

/** What one decision knows about one record. */
interface Slot<R, S extends R & { ver: string }> {
  readonly pk: string;
  readonly parse: (item: Item) => S;
  readonly stored: (record: R, ver: string) => S;
  /** The item as last read or written by this decision; null = none; undefined = read it again. */
  item: S | null | undefined;
  /** This decision's write (or touch) that landed: the state decide saw, what was stored, its token. */
  mine: { seen: R | null; written: R; ver: string; touch: { old: StoredTriplet | null } | null } | null;
}
type TripletSlot = Slot<TripletRecord, StoredTriplet>;
type ClientSlot = Slot<ClientRecord, StoredClient>;

class DynamoDbGreylistStore implements DynamoDbStore {
  readonly #client: DynamoDBClient;
  readonly #closeClient: boolean;
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #retryWindow: number;
  readonly #maxAge: number;
  readonly #delay: number | undefined;
  readonly #tokenPrefix = randomBytes(6).toString('base64url');
  readonly #hints = new Map<string, number>();
  readonly #stats: DynamoDbStoreStats = { writes: 0, reads: 0, roundTrips: 0 };
  /** The lifetime decide gives a new triplet (`expiresAt - lastSeen`); see #learnNewLifetime. */
  #newLifetime: number;
  #region: string;
  #tokens = 0;
  #closed = false;
  #purgeCursor: Item | undefined;

  constructor(opts: DynamoDbStoreOptions) {
    this.#client = opts.client;
    this.#closeClient = opts.closeClient ?? false;
    this.#doc = DynamoDBDocumentClient.from(opts.client);
    this.#table = opts.tableName;
    this.#retryWindow = opts.retryWindowSeconds;
    this.#maxAge = opts.maxAgeSeconds;
    this.#delay = opts.delaySeconds;
    this.#newLifetime = opts.retryWindowSeconds;
    this.#region = opts.region ?? 'the configured region';
    if (opts.region === undefined) {
      void resolveRegion(opts.client).then((region) => {
        this.#region = region;
      });
    }
  }

  stats(): DynamoDbStoreStats {
    return { ...this.#stats };
  }

  async runDecision<T extends { writes: DecisionWrites }>(
    keys: DecisionKeys,
    now: number,
    decide: (state: DecisionState) => T,
  ): Promise<T> {
    this.#checkOpen();
    checkTime(now);
    const t = this.#tripletSlot(keys.triplet);
    const c = keys.client === null ? null : this.#clientSlot(keys.client);

    const hinted = keys.client !== null && this.#hinted(keys.client);
    await this.#round([hinted ? this.#read(t) : this.#touch(t, now), c && this.#read(c)]);
    if (t.item === undefined) await this.#round([this.#read(t)]);

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
      const landed = await this.#round([
        wantTriplet !== undefined
          ? this.#commit(t, wantTriplet, seen.triplet)
          : t.mine?.touch?.old === null
            ? this.#deleteCreatedTouch(t)
            : null,
        wantClient !== undefined && c !== null ? this.#commit(c, wantClient, seen.client) : null,
      ]);
      if (landed.every(Boolean)) {
        if (keys.client !== null) this.#remember(keys.client, wantTriplet === undefined);
        this.#learnNewLifetime(seen.triplet, wantTriplet, now);
        return result;
      }
      if (attempt >= MAX_ATTEMPTS) {
        throw new StoreUnavailableError(
          `gave up after ${attempt} attempts: other decisions kept changing the same records of the DynamoDB table ` +
            `"${this.#table}" in ${this.#region}; retry later`,
        );
      }
      // Full jitter spreads the losers of a race so the next round has fewer of them.
      await sleep(Math.random() * Math.min(50, 2 * 2 ** attempt));
      await this.#round([t.item === undefined ? this.#read(t) : null, c !== null && c.item === undefined ? this.#read(c) : null]);
    }
  }

  async peek(keys: DecisionKeys, now: number): Promise<DecisionState> {
    this.#checkOpen();
    checkTime(now);
    const t = this.#tripletSlot(keys.triplet);
    const c = keys.client === null ? null : this.#clientSlot(keys.client);
    await this.#round([this.#read(t), c && this.#read(c)]);
    return { triplet: seenTriplet(t, now), client: c === null ? null : seenClient(c, now) };
  }

  async purgeExpired(now: number, limit: number, signal?: AbortSignal): Promise<number> {
    this.#checkOpen();
    checkTime(now);
    checkPurgeLimit(limit);
    // Each call resumes where the previous one stopped and wraps around once, so a sweep in small
    // batches scans the table about once.
    let deleted = 0;
    let start = this.#purgeCursor;
    let wrapped = start === undefined;
    while (deleted < limit) {
      if (signal?.aborted) return deleted;
      const page = await this.#scan('#e <= :now', now, start);
      for (const pk of page.keys) {
        if (deleted >= limit || signal?.aborted) break;
        if (await this.#deleteExpired(pk, now)) deleted += 1;
      }
      if (deleted >= limit || signal?.aborted) {
        // Scan this page again next time: what is left of it is found again, what went is not.
        this.#purgeCursor = start;
        return deleted;
      }
      start = page.next;
      if (start === undefined) {
        if (wrapped) break;
        wrapped = true;
      }
    }
    this.#purgeCursor = undefined;
    return deleted;
  }

  async countRecords(now: number, signal?: AbortSignal): Promise<{ triplets: number; clients: number }> {
    this.#checkOpen();
    checkTime(now);
    const counts = { triplets: 0, clients: 0 };
    let start: Item | undefined;
    do {
      signal?.throwIfAborted();
      const page = await this.#scan('#e > :now', now, start);
      for (const pk of page.keys) {
        const kind = recordKindOf(pk);
        if (kind === 'triplet') counts.triplets += 1;
        else if (kind === 'client') counts.clients += 1;
      }
      start = page.next;
    } while (start !== undefined);
    return counts;
  }

  async ping(): Promise<void> {
    this.#checkOpen();
    // A GetItem needs no permission beyond what decisions use, and fails on a missing table.
    await this.#round([this.#get('ping')]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#closeClient) this.#client.destroy();
  }

  // --- decision steps ------------------------------------------------------------------------

  /** The speculative sighting. On a failed condition `t.item` holds the item, or is left to read. */
  async #touch(t: TripletSlot, now: number): Promise<void> {
    const guard = this.#touchGuard();
    if (guard === null) return this.#read(t);
    const ver = this.#newToken();
    // One value for the request and for what it is taken to have written: #newLifetime may change
    // while the request is in flight (#learnNewLifetime, first decisions after start).
    const newLifetime = this.#newLifetime;
    const values: Item = { ':now': now, ':life': newLifetime, ':ver': ver };
    let update =
      'SET first_seen = if_not_exists(first_seen, :now), last_seen = :now, ttl_window = if_not_exists(ttl_window, :life), ' +
      'expires_at = if_not_exists(ttl_window, :life) + :now, ver = :ver';
    if (this.#delay !== undefined) {
      update += ', pass_mark = if_not_exists(pass_mark, :mark)';
      values[':mark'] = now + this.#delay;
    }
    if (guard.includes(':mid')) values[':mid'] = Math.round((this.#retryWindow + this.#maxAge) / 2);
    try {
      const out = await this.#send('write', 'UpdateItem', () =>
        this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: { pk: t.pk },
            UpdateExpression: update,
            ConditionExpression: guard,
            ExpressionAttributeValues: values,
            ReturnValues: 'ALL_OLD',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
      const old = out.Attributes === undefined ? null : parseTripletItem(out.Attributes, this.#table);
      const lifetime = old?.ttlWindow ?? newLifetime;
      const written: TripletRecord = { firstSeen: old?.firstSeen ?? now, lastSeen: now, expiresAt: now + lifetime };
      t.item = { ...written, ver, ttlWindow: lifetime };
      t.mine = { seen: old === null ? null : tripletOf(old), written, ver, touch: { old } };
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      t.item = this.#conflictItem(t, error);
    }
  }

  /**
   * When a touch changes nothing decide cares about (see the timeline at the top); null when it
   * could not be touched at all. A record without pass_mark (written without the delay hint)
   * fails the comparison and is read and rewritten once.
   */
  #touchGuard(): string | null {
    let harmless: string | null = null;
    if (this.#delay !== undefined) {
      // Passed before and after (last_seen only grows here), or still waiting after the touch.
      harmless = '(last_seen >= pass_mark OR pass_mark > :now)';
    } else if (Math.abs(this.#maxAge - this.#retryWindow) > 60) {
      // Without the delay only a passed triplet is known to stay passed: it alone has the other lifetime.
      harmless = this.#maxAge > this.#retryWindow ? 'ttl_window > :mid' : 'ttl_window < :mid';
    }
    // With no delay a new triplet passes at once: creating it would make it look passed already.
    const create = this.#delay !== 0 ? 'attribute_not_exists(pk)' : null;
    // No parentheses beyond those the meaning needs (AND binds tighter than OR in DynamoDB): a
    // PEG parser such as dynalite's re-parses a parenthesised group for each way it could be read,
    // and the outer pair that used to be here made it spend 1.1 ms on this expression, 0.23 without.
    const existing = harmless === null ? null : `expires_at > :now AND last_seen <= :now AND ${harmless}`;
    if (create !== null && existing !== null) return `${create} OR ${existing}`;
    return create ?? existing;
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
          `a concurrent decision built on a record this decision had to change again, in the DynamoDB table "${this.#table}"; retry`,
        );
      }
      slot.mine = null;
      return false;
    });
  }

  /** One conditional UpdateItem of a whole record; the new token, or null when the condition failed. */
  async #write<R extends TripletRecord | ClientRecord, S extends R & { ver: string }>(
    slot: Slot<R, S>,
    record: R,
    expect: string | null,
  ): Promise<string | null> {
    const ver = this.#newToken();
    const values: Item = { ':l': record.lastSeen, ':e': record.expiresAt, ':ver': ver };
    let update = 'SET last_seen = :l, expires_at = :e, ver = :ver';
    if ('count' in record) {
      update += ', #count = :n';
      values[':n'] = record.count;
    } else {
      update += ', first_seen = :f, ttl_window = :w';
      values[':f'] = record.firstSeen;
      values[':w'] = record.expiresAt - record.lastSeen;
      if (this.#delay !== undefined) {
        update += ', pass_mark = :mark';
        values[':mark'] = record.firstSeen + this.#delay;
      }
    }
    if (expect !== null) values[':expect'] = expect;
    try {
      await this.#send('write', 'UpdateItem', () =>
        this.#doc.send(
          new UpdateCommand({
            TableName: this.#table,
            Key: { pk: slot.pk },
            UpdateExpression: update,
            ConditionExpression: expect === null ? 'attribute_not_exists(pk)' : 'ver = :expect',
            ...('count' in record ? { ExpressionAttributeNames: { '#count': 'count' } } : {}),
            ExpressionAttributeValues: values,
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        ),
      );
    } catch (error) {
      if (!isConditionalCheckFailed(error)) throw error;
      const conflict = this.#conflictItem(slot, error);
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
    const deleted = await this.#deleteIf(t.pk, 'ver = :ver', { ':ver': ver });
    t.mine = null;
    t.item = deleted ? null : undefined;
    return true;
  }

  /** Decide failed: undo this decision's touch if nobody changed the record since (best effort). */
  async #undoTouch(t: TripletSlot): Promise<void> {
    const mine = t.mine;
    if (mine === null || mine.touch === null) return;
    try {
      if (mine.touch.old === null) await this.#round([this.#deleteIf(t.pk, 'ver = :ver', { ':ver': mine.ver })]);
      else await this.#round([this.#write(t, tripletOf(mine.touch.old), mine.ver)]);
    } catch {
      // The error of decide is the story; a touch alone may stay (the port's latitude).
    }
  }

  /**
   * Decide counts a new triplet's lifetime as it sees fit (retry-window, plus a boundary second
   * today); a touch that creates a record with another lifetime costs a corrective write. So the
   * store adopts what decide wrote for the last new triplet it saw.
   */
  #learnNewLifetime(seen: TripletRecord | null, wrote: TripletRecord | undefined, now: number): void {
    if (seen !== null || wrote === undefined || wrote.firstSeen !== now || wrote.lastSeen !== now) return;
    if (wrote.expiresAt > now) this.#newLifetime = wrote.expiresAt - now;
  }

  // --- requests ------------------------------------------------------------------------------

  #tripletSlot(key: string): TripletSlot {
    return {
      pk: recordPk('triplet', key),
      parse: (item) => parseTripletItem(item, this.#table),
      stored: (record, ver) => ({ ...tripletOf(record), ver, ttlWindow: record.expiresAt - record.lastSeen }),
      item: undefined,
      mine: null,
    };
  }

  #clientSlot(key: string): ClientSlot {
    return {
      pk: recordPk('client', key),
      parse: (item) => parseClientItem(item, this.#table),
      stored: (record, ver) => ({ count: record.count, lastSeen: record.lastSeen, expiresAt: record.expiresAt, ver }),
      item: undefined,
      mine: null,
    };
  }

  async #read<R, S extends R & { ver: string }>(slot: Slot<R, S>): Promise<void> {
    const item = await this.#get(slot.pk);
    slot.item = item === undefined ? null : slot.parse(item);
  }

  async #get(pk: string): Promise<Item | undefined> {
    const out = await this.#send('read', 'GetItem', () =>
      this.#doc.send(new GetCommand({ TableName: this.#table, Key: { pk }, ConsistentRead: true })),
    );
    return out.Item;
  }

  /** The item a failed condition returned (real DynamoDB), parsed; undefined when it must be read. */
  #conflictItem<R, S extends R & { ver: string }>(slot: Slot<R, S>, error: unknown): S | undefined {
    const item = typeof error === 'object' && error !== null && 'Item' in error ? error.Item : undefined;
    return typeof item === 'object' && item !== null ? slot.parse(item as Item) : undefined;
  }

  async #deleteIf(pk: string, condition: string, values: Item): Promise<boolean> {
    try {
      await this.#send('write', 'DeleteItem', () =>
        this.#doc.send(
          new DeleteCommand({ TableName: this.#table, Key: { pk }, ConditionExpression: condition, ExpressionAttributeValues: values }),
        ),
      );
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  async #deleteExpired(pk: string, now: number): Promise<boolean> {
    // A record renewed since the scan stays.
    const [deleted] = await this.#round([this.#deleteIf(pk, 'expires_at <= :now', { ':now': now })]);
    return deleted === true;
  }

  async #scan(filter: string, now: number, start: Item | undefined): Promise<{ keys: string[]; next: Item | undefined }> {
    const [out] = await this.#round([
      this.#send('read', 'Scan', () =>
        this.#doc.send(
          new ScanCommand({
            TableName: this.#table,
            ConsistentRead: true,
            ProjectionExpression: '#pk',
            FilterExpression: filter,
            ExpressionAttributeNames: { '#pk': 'pk', '#e': 'expires_at' },
            ExpressionAttributeValues: { ':now': now },
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        ),
      ),
    ]);
    const keys = (out?.Items ?? []).map((item) => item.pk).filter((pk): pk is string => typeof pk === 'string');
    return { keys, next: out?.LastEvaluatedKey };
  }

  /** Sends requests together and counts one round trip; rejects with the first error. */
  async #round<R>(requests: ReadonlyArray<Promise<R> | null | undefined>): Promise<R[]> {
    const pending = requests.filter((r): r is Promise<R> => r !== null && r !== undefined);
    if (pending.length === 0) return [];
    this.#stats.roundTrips += 1;
    const settled = await Promise.allSettled(pending);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  }

  /** Counts and sends one request; SDK errors other than a failed condition become the port's. */
  async #send<R>(kind: 'read' | 'write', action: string, send: () => Promise<R>): Promise<R> {
    if (kind === 'read') this.#stats.reads += 1;
    else this.#stats.writes += 1;
    try {
      return await send();
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw error;
      throw translateDynamoDbError(error, { tableName: this.#table, region: this.#region, action: `dynamodb:${action}` });
    }
  }

  #newToken(): string {
    this.#tokens += 1;
    return `${this.#tokenPrefix}.${this.#tokens.toString(36)}`;
  }

  #hinted(client: string): boolean {
    const until = this.#hints.get(client);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.#hints.delete(client);
    return false;
  }

  /** Remembers the clients whose decisions write no triplet (auto-whitelisted), oldest dropped first. */
  #remember(client: string, writesNoTriplet: boolean): void {
    this.#hints.delete(client);
    if (!writesNoTriplet) return;
    this.#hints.set(client, Date.now() + HINT_TTL_MS);
    if (this.#hints.size > MAX_HINTS) {
      const oldest = this.#hints.keys().next().value;
      if (oldest !== undefined) this.#hints.delete(oldest);
    }
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError(`the DynamoDB store for table "${this.#table}" is closed`);
  }
}

function live<R extends { expiresAt: number }>(record: R | null | undefined, now: number): R | null {
  return record === null || record === undefined || record.expiresAt <= now ? null : record;
}

/** What decide sees of a record: its old state once this decision wrote it, else what is stored. */
function seenTriplet(t: TripletSlot, now: number): TripletRecord | null {
  if (t.mine !== null) return t.mine.seen;
  const item = live(t.item, now);
  return item === null ? null : tripletOf(item);
}

function seenClient(c: ClientSlot, now: number): ClientRecord | null {
  if (c.mine !== null) return c.mine.seen;
  const item = live(c.item, now);
  return item === null ? null : { count: item.count, lastSeen: item.lastSeen, expiresAt: item.expiresAt };
}

function tripletOf(item: TripletRecord): TripletRecord {
  return { firstSeen: item.firstSeen, lastSeen: item.lastSeen, expiresAt: item.expiresAt };
}

function sameRecord(a: TripletRecord | ClientRecord, b: TripletRecord | ClientRecord): boolean {
  if (a.lastSeen !== b.lastSeen || a.expiresAt !== b.expiresAt) return false;
  if ('count' in a) return 'count' in b && a.count === b.count;
  return 'firstSeen' in b && a.firstSeen === b.firstSeen;
}


function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
