// Group commit in the SQLite store: decisions queued together share one transaction, yet each
// succeeds or fails on its own, sees what the ones before it wrote, and is answered only once
// committed. A write lock held by another connection is waited for without blocking the event
// loop, each decision within its own bound.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import type { Checkpointer } from '../../functions/store/sqlite-checkpointer.ts';
import { openSqliteDatabase } from '../../functions/store/sqlite-database.ts';
import { openSqliteStore, SqliteGreylistStore } from '../../functions/store/sqlite-store.ts';
import { StoreUnavailableError } from '../../functions/store/store-port.ts';
import { makeTempDir } from '../support/temp-dir.ts';

const FILE_NAME = 'greygate.sqlite';

describe('sqlite group commit', () => {
  it('commits decisions that arrive together in one transaction, each isolated from a failing neighbour', async () => {
    // Prepare
    const dir = await makeTempDir();
    const store = openSqliteStore({ dbdir: dir.path });
    const now = 1_800_000_000;
    const write = (key: string) => () => ({ writes: { triplet: { firstSeen: now, lastSeen: now, expiresAt: now + 60 } }, key });

    // Act: three decisions queued in the same turn of the event loop, the middle one throws
    const results = await Promise.allSettled([
      store.runDecision({ triplet: 'a', client: null }, now, write('a')),
      store.runDecision({ triplet: 'b', client: null }, now, () => {
        throw new Error('decide failed for b');
      }),
      store.runDecision({ triplet: 'c', client: null }, now, write('c')),
    ]);
    const counts = await store.countRecords(now);
    await store.close();
    await dir.cleanup();

    // Assess
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('decide failed for b'));
    expect(counts).toEqual({ triplets: 2, clients: 0 });
  });

  it('undoes the triplet write of a decision whose client write fails, and only that decision', async () => {
    // Prepare: a trigger (from a second connection) refuses one client key, as a full disk would
    const dir = await makeTempDir();
    const store = openSqliteStore({ dbdir: dir.path });
    const admin = new Database(join(dir.path, FILE_NAME));
    admin.exec(
      "CREATE TRIGGER refuse_client BEFORE INSERT ON clients WHEN NEW.key = 'bad-client' " +
        "BEGIN SELECT RAISE(ABORT, 'client write refused'); END",
    );
    admin.close();
    const now = 1_800_000_000;
    const both = () => ({
      writes: {
        triplet: { firstSeen: now, lastSeen: now, expiresAt: now + 60 },
        client: { count: 1, lastSeen: now, expiresAt: now + 60 },
      },
    });

    // Act: two decisions with two writes each, in one batch
    const results = await Promise.allSettled([
      store.runDecision({ triplet: 'refused', client: 'bad-client' }, now, both),
      store.runDecision({ triplet: 'accepted', client: 'good-client' }, now, both),
    ]);
    const refused = await store.peek({ triplet: 'refused', client: 'bad-client' }, now);
    const accepted = await store.peek({ triplet: 'accepted', client: 'good-client' }, now);
    await store.close();
    await dir.cleanup();

    // Assess
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toContain('client write refused');
    expect(refused).toEqual({ triplet: null, client: null });
    expect(accepted.triplet).not.toBeNull();
    expect(accepted.client).not.toBeNull();
  });

  it('sees, within one batch, what an earlier decision on the same key wrote', async () => {
    // Prepare
    const dir = await makeTempDir();
    const store = openSqliteStore({ dbdir: dir.path });
    const now = 1_800_000_000;
    const bump = store.runDecision.bind(store);

    // Act: 20 increments of one client record, all queued before the first commit
    await Promise.all(
      Array.from({ length: 20 }, () =>
        bump({ triplet: 't', client: 'c' }, now, (state) => ({
          writes: { client: { count: (state.client?.count ?? 0) + 1, lastSeen: now, expiresAt: now + 60 } },
        })),
      ),
    );
    const state = await store.peek({ triplet: 't', client: 'c' }, now);
    await store.close();
    await dir.cleanup();

    // Assess
    expect(state.client?.count).toBe(20);
  });

  it('tells its checkpointer the rows each commit and each purge wrote, and closes it with the store', async () => {
    // Prepare: a store whose checkpointer only records what it is told
    const dir = await makeTempDir();
    const file = join(dir.path, FILE_NAME);
    const told: number[] = [];
    let closed = false;
    const recorder: Checkpointer = {
      wrote: (rows) => told.push(rows),
      cycles: 0,
      ready: false,
      close: async () => {
        closed = true;
      },
    };
    const db = openSqliteDatabase(file, { busyTimeoutMs: 2000, synchronous: 'NORMAL' });
    const store = new SqliteGreylistStore(db, file, recorder);
    const now = 1_800_000_000;
    const record = { lastSeen: now, expiresAt: now + 60 };

    // Act: one batch of two decisions (three rows), then a purge once they have expired
    await Promise.all([
      store.runDecision({ triplet: 'a', client: 'c' }, now, () => ({
        writes: { triplet: { firstSeen: now, ...record }, client: { count: 1, ...record } },
      })),
      store.runDecision({ triplet: 'b', client: null }, now, () => ({ writes: { triplet: { firstSeen: now, ...record } } })),
    ]);
    const toldAfterCommit = [...told];
    const purged = await store.purgeExpired(now + 60, 10);
    await store.close();
    await dir.cleanup();

    // Assess
    expect(toldAfterCommit).toEqual([3]);
    expect(purged).toBe(3);
    expect(told.slice(1).reduce((sum, rows) => sum + rows, 0)).toBe(3);
    expect(closed).toBe(true);
  });

  it('waits for a write lock another connection holds without blocking the event loop, and commits once it is released', async () => {
    // Prepare
    const dir = await makeTempDir();
    const store = openSqliteStore({ dbdir: dir.path, busyTimeoutMs: 5000 });
    const other = new Database(join(dir.path, FILE_NAME));
    other.exec('BEGIN IMMEDIATE');
    const now = 1_800_000_000;

    // Act: a decision queued while the lock is held; timers keep firing meanwhile
    const started = performance.now();
    const decision = store.runDecision({ triplet: 'waited', client: null }, now, () => ({
      writes: { triplet: { firstSeen: now, lastSeen: now, expiresAt: now + 60 } },
    }));
    let ticks = 0;
    const ticker = setInterval(() => (ticks += 1), 10);
    await new Promise((resolve) => setTimeout(resolve, 300));
    clearInterval(ticker);
    const lockedFor = performance.now() - started;
    let settled = false;
    void decision.finally(() => (settled = true)).catch(() => {});
    await Promise.resolve();
    const settledWhileLocked = settled;
    other.exec('COMMIT');
    other.close();
    await decision;
    const state = await store.peek({ triplet: 'waited', client: null }, now);
    await store.close();
    await dir.cleanup();

    // Assess: SQLite's own busy wait would have held this thread until its timeout
    expect(lockedFor).toBeLessThan(1500);
    expect(ticks).toBeGreaterThanOrEqual(5);
    expect(settledWhileLocked).toBe(false);
    expect(state.triplet).not.toBeNull();
  });

  it('answers a decision that waited its bound for the lock with StoreUnavailableError, alone; later ones keep waiting', async () => {
    // Prepare: a 1 s bound
    const dir = await makeTempDir();
    const store = openSqliteStore({ dbdir: dir.path, busyTimeoutMs: 1000 });
    const other = new Database(join(dir.path, FILE_NAME));
    other.exec('BEGIN IMMEDIATE');
    const now = 1_800_000_000;
    const write = (key: string) =>
      store.runDecision({ triplet: key, client: null }, now, () => ({
        writes: { triplet: { firstSeen: now, lastSeen: now, expiresAt: now + 60 } },
      }));
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    // Act: one decision at once, one 800 ms later; the lock is released 1,400 ms in
    const started = performance.now();
    const early = write('early').then(
      () => ({ ok: true as const, ms: performance.now() - started }),
      (error: unknown) => ({ ok: false as const, ms: performance.now() - started, error }),
    );
    await sleep(800);
    const late = write('late');
    await sleep(600);
    other.exec('COMMIT');
    other.close();
    const [earlyDone] = await Promise.all([early, late]);
    const counts = await store.countRecords(now);
    await store.close();
    await dir.cleanup();

    // Assess
    expect(earlyDone.ok).toBe(false);
    expect(earlyDone.ms).toBeGreaterThanOrEqual(1000);
    const error = (earlyDone as { error: unknown }).error;
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(String(error)).toMatch(/stayed locked by another connection for 1\.\d s \(SQLITE_BUSY\)/);
    expect(counts).toEqual({ triplets: 1, clients: 0 });
  });
});
