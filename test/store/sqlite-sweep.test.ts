// The SQLite store's purge and count: they walk the tables a step at a time, so they must cover
// every step, purge nothing live, resume where a limited call stopped, and let decisions through.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startPurger } from '../../functions/store/purge-scheduler.ts';
import { openSqliteStore, type SqliteStore } from '../../functions/store/sqlite-store.ts';
import { SWEEP_STEP_ROWS } from '../../functions/store/sqlite-sweep.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const NOW = 1_700_000_000;
const DAY = 86_400;
const FILE_NAME = 'greygate.sqlite';

describe('sqlite purge and count over many steps', () => {
  let tmp: TempDir;
  let store: SqliteStore;
  const ROWS = 3 * SWEEP_STEP_ROWS + 123;

  beforeEach(async () => {
    tmp = await makeTempDir('greygate-sqlite-sweep-');
    store = openSqliteStore({ dbdir: tmp.path });
    // Every third triplet and every fifth client expired, spread over the whole key range.
    const raw = new Database(join(tmp.path, FILE_NAME));
    const triplet = raw.prepare('INSERT INTO triplets (key, first_seen, last_seen, expires_at) VALUES (?, ?, ?, ?)');
    const client = raw.prepare('INSERT INTO clients (key, count, last_seen, expires_at) VALUES (?, ?, ?, ?)');
    raw.transaction(() => {
      for (let i = 0; i < ROWS; i++) {
        triplet.run(`t/${i}`, NOW, NOW, i % 3 === 0 ? NOW - 1 : NOW + DAY);
        client.run(`c/${i}`, 1, NOW, i % 5 === 0 ? NOW : NOW + DAY);
      }
    })();
    raw.close();
  });

  afterEach(async () => {
    await store.close();
    await tmp.cleanup();
  });

  const expiredTriplets = Math.ceil(ROWS / 3);
  const expiredClients = Math.ceil(ROWS / 5);

  it('counts live records across steps', async () => {
    // Act
    const counts = await store.countRecords(NOW);

    // Assess
    expect(counts).toEqual({ triplets: ROWS - expiredTriplets, clients: ROWS - expiredClients });
  });

  it('purges every expired record and no live one, in calls of at most the limit', async () => {
    // Act: as the purge scheduler calls it, until a call deletes fewer than the limit.
    const limit = 700;
    const perCall: number[] = [];
    for (;;) {
      const deleted = await store.purgeExpired(NOW, limit);
      perCall.push(deleted);
      if (deleted < limit) break;
    }

    // Assess
    expect(perCall.slice(0, -1).every((deleted) => deleted === limit)).toBe(true);
    expect(perCall.reduce((sum, deleted) => sum + deleted, 0)).toBe(expiredTriplets + expiredClients);
    expect(await store.countRecords(NOW - 2)).toEqual({ triplets: ROWS - expiredTriplets, clients: ROWS - expiredClients });
    expect(await store.purgeExpired(NOW, limit)).toBe(0);
  });

  it('answers decisions while a purge call is under way', async () => {
    // Act: one call that has to walk every step, and a decision asked for just after it starts.
    const order: string[] = [];
    const purge = store.purgeExpired(NOW, 10 * ROWS).then(() => order.push('purge'));
    const decision = store
      .runDecision({ triplet: 't/new', client: null }, NOW, () => ({
        writes: { triplet: { firstSeen: NOW, lastSeen: NOW, expiresAt: NOW + DAY } },
      }))
      .then(() => order.push('decision'));
    await Promise.all([purge, decision]);

    // Assess
    expect(order).toEqual(['decision', 'purge']);
    expect((await store.peek({ triplet: 't/new', client: null }, NOW)).triplet).not.toBeNull();
  });

  it('starts a purge run with another `now` from the beginning, so nothing expired before the cursor is left', async () => {
    // Prepare: a first run stopped by its limit part-way through the triplets...
    const firstRun = await store.purgeExpired(NOW, 100);
    // ...and, before where it stopped, a triplet that expires before the next run's `now`.
    await store.runDecision({ triplet: 't/0-late', client: null }, NOW, () => ({
      writes: { triplet: { firstSeen: NOW, lastSeen: NOW, expiresAt: NOW + 5 } },
    }));

    // Act
    let secondRun = 0;
    for (;;) {
      const deleted = await store.purgeExpired(NOW + 10, 700);
      secondRun += deleted;
      if (deleted < 700) break;
    }

    // Assess
    expect(firstRun).toBe(100);
    expect(secondRun).toBe(expiredTriplets + expiredClients - 100 + 1);
    expect((await store.peek({ triplet: 't/0-late', client: null }, NOW)).triplet).toBeNull();
  });

  it('stops a purge run between two steps when its purger is stopped, without counting or warning', async () => {
    // Prepare
    const warnings: string[] = [];
    const purger = startPurger(store, {
      clock: () => NOW,
      batchSize: 10 * ROWS,
      logger: { info: () => {}, warn: (msg) => warnings.push(msg) },
    });

    // Act
    const run = purger.runOnce();
    await new Promise((resolve) => setImmediate(resolve));
    await purger.stop();
    const deleted = await run;

    // Assess
    expect(deleted).toBeGreaterThan(0);
    expect(deleted).toBeLessThan(expiredTriplets + expiredClients);
    expect(warnings).toEqual([]);
  });

  it('rejects a count whose signal has fired', async () => {
    // Act
    const counting = store.countRecords(NOW, AbortSignal.abort(new Error('shutting down')));

    // Assess
    await expect(counting).rejects.toThrow('shutting down');
  });

  it('stops a purge under way when the store is closed, keeping what it deleted', async () => {
    // Act
    const purge = store.purgeExpired(NOW, 10 * ROWS);
    await new Promise((resolve) => setImmediate(resolve));
    await store.close();
    const deleted = await purge;

    // Assess
    expect(deleted).toBeGreaterThan(0);
    expect(deleted).toBeLessThan(expiredTriplets + expiredClients);
    const reopened = openSqliteStore({ dbdir: tmp.path });
    const counts = await reopened.countRecords(NOW - 2);
    await reopened.close();
    expect(2 * ROWS - counts.triplets - counts.clients).toBe(deleted);
  });
});
