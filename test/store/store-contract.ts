// The behaviour every GreylistStore adapter must show, written once and run against each real
// backend (keyv-style): `describeStoreContract('sqlite', harness)` in the adapter's test file, which
// then adds only what is specific to that backend.
//
// The `decide` functions here are small synthetic ones, not the core's: the contract is about
// storage (what state decide sees, what gets written), not greylisting rules. All times are
// passed in; nothing reads the real clock.
//
// Choices the contract fixes for every adapter:
// - A record is absent once `expiresAt <= now`, though it stays stored until purged.
// - With `keys.client === null`, decide sees `client: null`, and a result that still carries a
//   client write is rejected with a StoreError and nothing of that decision is written: it is a
//   bug in the caller, and dropping the write silently would hide it.
// - An exception from decide rejects runDecision with that same exception, nothing written.
// - Writes are full new values: every field is replaced, even by a smaller number.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  ClientRecord,
  DecisionKeys,
  DecisionState,
  DecisionWrites,
  ImportingStore as GreylistStore,
  TripletRecord,
} from '../../functions/store/store-port.ts';
import { StoreError } from '../../functions/store/store-port.ts';

export interface StoreHarness {
  /** A NEW client on the SAME backing data each time it is called. */
  open(): Promise<GreylistStore>;
  /** Removes the backing data. Runs after every store this harness opened has been closed. */
  cleanup(): Promise<void>;
}

const NOW = 1_700_000_000;
const DAY = 86_400;

const triplet = (firstSeen: number, lastSeen: number, expiresAt: number): TripletRecord => ({
  firstSeen,
  lastSeen,
  expiresAt,
});
const client = (count: number, lastSeen: number, expiresAt: number): ClientRecord => ({ count, lastSeen, expiresAt });
const keys = (tripletKey: string, clientKey: string | null = null): DecisionKeys => ({
  triplet: tripletKey,
  client: clientKey,
});

/** A decide that asks for `writes` and reports the state it was given. */
const writing =
  (writes: DecisionWrites) =>
  (state: DecisionState): { writes: DecisionWrites; seen: DecisionState } => ({ writes, seen: state });

/**
 * Registers the contract suite. `createHarness` is called before each test and must give it empty
 * backing data of its own (a new temp dir, a new table), because counts are checked exactly.
 */
export function describeStoreContract(name: string, createHarness: () => Promise<StoreHarness>): void {
  describe(`${name} store contract`, () => {
    let harness: StoreHarness;
    let opened: GreylistStore[];

    beforeEach(async () => {
      harness = await createHarness();
      opened = [];
    });

    afterEach(async () => {
      await Promise.allSettled(opened.map((store) => store.close()));
      await harness.cleanup();
    });

    const open = async (): Promise<GreylistStore> => {
      const store = await harness.open();
      opened.push(store);
      return store;
    };

    const put = async (store: GreylistStore, at: DecisionKeys, writes: DecisionWrites, now = NOW): Promise<void> => {
      await store.runDecision(at, now, writing(writes));
    };

    describe('importing records', () => {
      it('stores an imported record under its key, and writes nothing when merge returns nothing', async () => {
        // Prepare
        const store = await open();
        const seen: Array<TripletRecord | ClientRecord | null> = [];

        // Act
        const wroteTriplet = await store.importTriplet('t/imp', NOW, (held) => (seen.push(held), triplet(NOW - 9, NOW - 5, NOW + DAY)));
        const wroteClient = await store.importClient('c/imp', NOW, (held) => (seen.push(held), client(7, NOW - 5, NOW + DAY)));
        const again = await store.importTriplet('t/imp', NOW, (held) => (seen.push(held), undefined));

        // Assess
        expect([wroteTriplet, wroteClient, again]).toEqual([true, true, false]);
        expect(seen).toEqual([null, null, triplet(NOW - 9, NOW - 5, NOW + DAY)]);
        expect(await store.peek(keys('t/imp', 'c/imp'), NOW)).toEqual({
          triplet: triplet(NOW - 9, NOW - 5, NOW + DAY),
          client: client(7, NOW - 5, NOW + DAY),
        });
      });

      it('shows merge the record a decision wrote, and hides an expired one', async () => {
        // Prepare
        const store = await open();
        await put(store, keys('t/live', 'c/old'), { triplet: triplet(NOW - 3, NOW - 1, NOW + DAY), client: client(2, NOW - DAY, NOW - 1) });
        const seen: Array<TripletRecord | ClientRecord | null> = [];

        // Act
        await store.importTriplet('t/live', NOW, (held) => (seen.push(held), undefined));
        await store.importClient('c/old', NOW, (held) => (seen.push(held), undefined));

        // Assess
        expect(seen).toEqual([triplet(NOW - 3, NOW - 1, NOW + DAY), null]);
      });
    });

    describe('reading and writing', () => {
      it('shows decide an empty state for keys never written', async () => {
        // Prepare
        const store = await open();

        // Act
        const result = await store.runDecision(keys('t/new', 'c/new'), NOW, writing({}));
        const peeked = await store.peek(keys('t/new', 'c/new'), NOW);

        // Assess
        expect(result.seen).toEqual({ triplet: null, client: null });
        expect(peeked).toEqual({ triplet: null, client: null });
      });

      it('resolves with the very result decide returned', async () => {
        // Prepare
        const store = await open();
        let last: { writes: DecisionWrites; verdict: string } | undefined;

        // Act
        const result = await store.runDecision(keys('t/result'), NOW, () => {
          last = { writes: { triplet: triplet(NOW, NOW, NOW + DAY) }, verdict: 'greylist' };
          return last;
        });

        // Assess
        expect(result).toBe(last);
      });

      it('persists writes so that another client on the same data sees them', async () => {
        // Prepare
        const writer = await open();
        const at = keys('t/shared', 'c/shared');
        const writes = { triplet: triplet(NOW - 600, NOW, NOW + 35 * DAY), client: client(3, NOW, NOW + 35 * DAY) };

        // Act
        await put(writer, at, writes);
        const reader = await open();
        const peeked = await reader.peek(at, NOW);
        const decided = await reader.runDecision(at, NOW, writing({}));

        // Assess
        expect(peeked).toEqual(writes);
        expect(decided.seen).toEqual(writes);
      });

      it('treats a record as absent once expiresAt is at or before now, yet keeps it until purged', async () => {
        // Prepare
        const store = await open();
        const at = keys('t/expiring', 'c/expiring');
        await put(store, at, { triplet: triplet(NOW, NOW, NOW + 100), client: client(1, NOW, NOW + 50) });

        // Act
        const beforeClientExpiry = await store.peek(at, NOW + 49);
        const atClientExpiry = await store.peek(at, NOW + 50);
        const decidedAtTripletExpiry = await store.runDecision(at, NOW + 100, writing({}));
        const purged = await store.purgeExpired(NOW + 100, 10);

        // Assess
        expect(beforeClientExpiry).toEqual({ triplet: triplet(NOW, NOW, NOW + 100), client: client(1, NOW, NOW + 50) });
        expect(atClientExpiry).toEqual({ triplet: triplet(NOW, NOW, NOW + 100), client: null });
        expect(decidedAtTripletExpiry.seen).toEqual({ triplet: null, client: null });
        expect(purged).toBe(2);
      });

      it('writes a new record over an expired one', async () => {
        // Prepare
        const store = await open();
        const at = keys('t/reborn', 'c/reborn');
        await put(store, at, { triplet: triplet(NOW, NOW, NOW + 10), client: client(9, NOW, NOW + 10) });
        const later = NOW + DAY;
        const fresh = { triplet: triplet(later, later, later + 600), client: client(1, later, later + 600) };

        // Act
        const decided = await store.runDecision(at, later, writing(fresh));

        // Assess
        expect(decided.seen).toEqual({ triplet: null, client: null });
        expect(await store.peek(at, later)).toEqual(fresh);
      });

      it('replaces every field of a record, with smaller values too', async () => {
        // Prepare
        const store = await open();
        const at = keys('t/replace', 'c/replace');
        await put(store, at, { triplet: triplet(NOW, NOW + 500, NOW + 35 * DAY), client: client(7, NOW + 500, NOW + 35 * DAY) });
        const replacement = { triplet: triplet(NOW - 50, NOW - 40, NOW + 600), client: client(1, NOW - 40, NOW + 600) };

        // Act
        await put(store, at, replacement);

        // Assess
        expect(await store.peek(at, NOW)).toEqual(replacement);
      });

      it('leaves the client record untouched when only the triplet is written, and the reverse', async () => {
        // Prepare
        const store = await open();
        const at = keys('t/partial', 'c/partial');
        const first = { triplet: triplet(NOW, NOW, NOW + DAY), client: client(1, NOW, NOW + DAY) };
        await put(store, at, first);

        // Act
        await put(store, at, { triplet: triplet(NOW, NOW + 400, NOW + 2 * DAY) });
        const afterTripletOnly = await store.peek(at, NOW);
        await put(store, at, { client: client(2, NOW + 400, NOW + 3 * DAY) });
        const afterClientOnly = await store.peek(at, NOW);

        // Assess
        expect(afterTripletOnly).toEqual({ triplet: triplet(NOW, NOW + 400, NOW + 2 * DAY), client: first.client });
        expect(afterClientOnly).toEqual({
          triplet: triplet(NOW, NOW + 400, NOW + 2 * DAY),
          client: client(2, NOW + 400, NOW + 3 * DAY),
        });
      });

      it('keeps epoch seconds and counts beyond 32 bits exactly', async () => {
        // Prepare
        const store = await open();
        const at = keys('t/big', 'c/big');
        const farFuture = 9_999_999_999; // year 2286
        const writes = { triplet: triplet(2 ** 32 + 1, 2 ** 32 + 2, farFuture), client: client(2 ** 31 + 3, 2 ** 32 + 2, farFuture) };

        // Act
        await put(store, at, writes);
        const reader = await open();

        // Assess
        expect(await reader.peek(at, NOW)).toEqual(writes);
      });
    });

    describe('decisions without a client key (auto-whitelisting off)', () => {
      it('gives decide no client state and stores the triplet', async () => {
        // Prepare
        const store = await open();
        const at = keys('t/no-client');

        // Act
        const decided = await store.runDecision(at, NOW, writing({ triplet: triplet(NOW, NOW, NOW + DAY) }));

        // Assess
        expect(decided.seen).toEqual({ triplet: null, client: null });
        expect(await store.peek(at, NOW)).toEqual({ triplet: triplet(NOW, NOW, NOW + DAY), client: null });
      });

      it('rejects a client write that has no client key, and writes nothing of that decision', async () => {
        // Prepare
        const store = await open();
        const at = keys('t/stray-client');

        // Act
        const attempt = store.runDecision(
          at,
          NOW,
          writing({ triplet: triplet(NOW, NOW, NOW + DAY), client: client(1, NOW, NOW + DAY) }),
        );

        // Assess
        await expect(attempt).rejects.toBeInstanceOf(StoreError);
        expect(await store.peek(at, NOW)).toEqual({ triplet: null, client: null });
        expect(await store.countRecords(NOW)).toEqual({ triplets: 0, clients: 0 });
      });
    });

    describe('a decide that throws', () => {
      it('rejects with the same error and changes nothing', async () => {
        // Prepare
        const store = await open();
        const known = keys('t/known', 'c/known');
        const before = { triplet: triplet(NOW, NOW, NOW + DAY), client: client(4, NOW, NOW + DAY) };
        await put(store, known, before);
        const failure = new Error('decide failed');
        const failing = (): { writes: DecisionWrites } => {
          throw failure;
        };

        // Act
        const onKnown = store.runDecision(known, NOW, failing);
        const onNew = store.runDecision(keys('t/unknown', 'c/unknown'), NOW, failing);

        // Assess
        await expect(onKnown).rejects.toBe(failure);
        await expect(onNew).rejects.toBe(failure);
        expect(await store.peek(known, NOW)).toEqual(before);
        expect(await store.countRecords(NOW)).toEqual({ triplets: 1, clients: 1 });
      });
    });

    describe('purging', () => {
      it('deletes only expired records, at most limit per call, until none are left', async () => {
        // Prepare
        const store = await open();
        for (const [i, expiresAt] of [NOW - 100, NOW - 1, NOW].entries()) {
          await put(store, keys(`t/old-${i}`), { triplet: triplet(NOW - DAY, NOW - DAY, expiresAt) });
        }
        for (const [i, expiresAt] of [NOW - 5, NOW].entries()) {
          await put(store, keys(`t/unused-${i}`, `c/old-${i}`), { client: client(1, NOW - DAY, expiresAt) });
        }
        const live = keys('t/live', 'c/live');
        await put(store, live, { triplet: triplet(NOW, NOW, NOW + 1), client: client(5, NOW, NOW + 1) });

        // Act
        const deletedPerCall: number[] = [];
        for (let call = 0; call < 10; call += 1) {
          const deleted = await store.purgeExpired(NOW, 2);
          deletedPerCall.push(deleted);
          if (deleted === 0) break;
        }

        // Assess
        expect(deletedPerCall.every((deleted) => deleted <= 2)).toBe(true);
        expect(deletedPerCall.reduce((sum, deleted) => sum + deleted, 0)).toBe(5);
        expect(deletedPerCall.at(-1)).toBe(0);
        // Read at a time when the purged records would still be live: they must be gone.
        const earlier = NOW - 2 * DAY;
        expect(await store.peek(keys('t/old-0', 'c/old-0'), earlier)).toEqual({ triplet: null, client: null });
        expect(await store.peek(keys('t/old-2', 'c/old-1'), earlier)).toEqual({ triplet: null, client: null });
        expect(await store.peek(live, NOW)).toEqual({ triplet: triplet(NOW, NOW, NOW + 1), client: client(5, NOW, NOW + 1) });
      });

      it('deletes nothing and counts nothing once the caller has given up (signal aborted)', async () => {
        // Prepare
        const store = await open();
        const at = keys('t/given-up', 'c/given-up');
        await put(store, at, { triplet: triplet(NOW, NOW, NOW + 10), client: client(1, NOW, NOW + 10) });
        const aborted = AbortSignal.abort(new Error('shutting down'));

        // Act
        const deleted = await store.purgeExpired(NOW + 10, 100, aborted);
        const counting = store.countRecords(NOW, aborted);

        // Assess
        expect(deleted).toBe(0);
        await expect(counting).rejects.toThrow('shutting down');
        expect(await store.countRecords(NOW)).toEqual({ triplets: 1, clients: 1 });
      });

      it('deletes nothing when nothing has expired or when limit is 0', async () => {
        // Prepare
        const store = await open();
        const at = keys('t/keep', 'c/keep');
        await put(store, at, { triplet: triplet(NOW, NOW, NOW + 10), client: client(1, NOW, NOW + 10) });

        // Act
        const nothingExpired = await store.purgeExpired(NOW, 100);
        const zeroLimit = await store.purgeExpired(NOW + 10, 0);

        // Assess
        expect(nothingExpired).toBe(0);
        expect(zeroLimit).toBe(0);
        expect(await store.countRecords(NOW)).toEqual({ triplets: 1, clients: 1 });
      });
    });

    describe('counting', () => {
      it('counts live triplets and clients, not expired ones awaiting purge', async () => {
        // Prepare
        const store = await open();
        await put(store, keys('t/a', 'c/a'), { triplet: triplet(NOW, NOW, NOW + 10), client: client(1, NOW, NOW + 10) });
        await put(store, keys('t/b', 'c/b'), { triplet: triplet(NOW, NOW, NOW + 20), client: client(1, NOW, NOW + 5) });
        await put(store, keys('t/c'), { triplet: triplet(NOW, NOW, NOW + 30) });

        // Act
        const atStart = await store.countRecords(NOW);
        const later = await store.countRecords(NOW + 10);
        const afterAll = await store.countRecords(NOW + 30);

        // Assess
        expect(atStart).toEqual({ triplets: 3, clients: 2 });
        expect(later).toEqual({ triplets: 2, clients: 0 });
        expect(afterAll).toEqual({ triplets: 0, clients: 0 });
      });
    });

    describe('concurrency', () => {
      it('loses no update when 50 decisions from 5 clients change the same records at once', async () => {
        // Prepare
        const clients = await Promise.all(Array.from({ length: 5 }, () => open()));
        const at = keys('t/contended', 'c/contended');
        // An adapter may call this more than once per decision, so only stored values are counted.
        const increment = (state: DecisionState) => {
          const count = (state.client?.count ?? 0) + 1;
          const lastSeen = (state.triplet?.lastSeen ?? NOW) + 1;
          return {
            count,
            writes: {
              triplet: triplet(state.triplet?.firstSeen ?? NOW, lastSeen, NOW + DAY),
              client: client(count, NOW, NOW + DAY),
            },
          };
        };

        // Act
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) => clients[i % clients.length]!.runDecision(at, NOW, increment)),
        );

        // Assess
        const final = await clients[0]!.peek(at, NOW);
        expect(final.client?.count).toBe(50);
        expect(final.triplet?.lastSeen).toBe(NOW + 50);
        // Every decision saw a different state: none ran on a stale read.
        expect(results.map((r) => r.count).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      });
    });

    describe('keys', () => {
      it('round-trips keys with unicode, slashes, quotes, wildcards and 512 characters, each kept apart', async () => {
        // Prepare
        const writer = await open();
        const tricky = [
          '203.0.113/grüße@bücher.example/日本語@例え.jp',
          '2001:db8:1:2:0:0:0:0/📧sender@example.org/rcpt@example.net',
          `it's/"quoted"/back\\slash`,
          "'; DROP TABLE triplets; --/a/b",
          '198.51.100/%_*?/[x]',
          'Case/Key',
          'case/key',
          'k'.repeat(512),
          'é'.repeat(512),
        ];

        // Act
        for (const [i, key] of tricky.entries()) {
          await put(writer, keys(key, key), { triplet: triplet(i + 1, i + 1, NOW + DAY), client: client(i + 1, NOW, NOW + DAY) });
        }
        const reader = await open();
        const read = await Promise.all(tricky.map((key) => reader.peek(keys(key, key), NOW)));

        // Assess
        expect(read).toEqual(
          tricky.map((_, i) => ({ triplet: triplet(i + 1, i + 1, NOW + DAY), client: client(i + 1, NOW, NOW + DAY) })),
        );
        expect(await reader.countRecords(NOW)).toEqual({ triplets: tricky.length, clients: tricky.length });
      });
    });

    describe('lifecycle', () => {
      it('answers ping while open', async () => {
        // Prepare
        const store = await open();

        // Act
        const pinged = store.ping();

        // Assess
        await expect(pinged).resolves.toBeUndefined();
      });

      it('rejects every call with a StoreError once closed, and closes twice without error', async () => {
        // Prepare
        const store = await open();
        const at = keys('t/closed', 'c/closed');

        // Act
        await store.close();
        const secondClose = store.close();

        // Assess
        await expect(secondClose).resolves.toBeUndefined();
        await expect(store.runDecision(at, NOW, writing({}))).rejects.toBeInstanceOf(StoreError);
        await expect(store.peek(at, NOW)).rejects.toBeInstanceOf(StoreError);
        await expect(store.purgeExpired(NOW, 10)).rejects.toBeInstanceOf(StoreError);
        await expect(store.countRecords(NOW)).rejects.toBeInstanceOf(StoreError);
        await expect(store.ping()).rejects.toBeInstanceOf(StoreError);
      });

      it('keeps other clients working when one closes', async () => {
        // Prepare
        const first = await open();
        const second = await open();
        const at = keys('t/survivor', 'c/survivor');
        await put(first, at, { triplet: triplet(NOW, NOW, NOW + DAY) });

        // Act
        await first.close();
        const peeked = await second.peek(at, NOW);

        // Assess
        expect(peeked).toEqual({ triplet: triplet(NOW, NOW, NOW + DAY), client: null });
      });
    });
  });
}
