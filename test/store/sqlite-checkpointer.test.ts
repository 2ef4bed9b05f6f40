// The WAL checkpoint worker of the SQLite store: it, not the committing thread, copies the WAL back
// into the database file, and when it cannot run, SQLite's own automatic checkpoint takes over.

import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCheckpointer, type Checkpointer } from '../../functions/store/sqlite-checkpointer.ts';
import { openSqliteDatabase } from '../../functions/store/sqlite-database.ts';
import {
  DEFAULT_BUSY_TIMEOUT_MS,
  DEFAULT_SQLITE_FILE_NAME,
  openSqliteStore,
  SqliteGreylistStore,
  type SqliteStore,
} from '../../functions/store/sqlite-store.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('sqlite checkpoint worker', () => {
  let tmp: TempDir;
  let db: Database.Database;
  let file: string;
  let checkpointer: Checkpointer | null;

  beforeEach(async () => {
    tmp = await makeTempDir('greygate-checkpointer-');
    file = join(tmp.path, 'test.sqlite');
    db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID');
    db.pragma('wal_checkpoint(TRUNCATE)');
    checkpointer = null;
  });

  afterEach(async () => {
    await checkpointer?.close();
    db.close();
    await tmp.cleanup();
  });

  const writeRows = (from: number, count: number): void => {
    const insert = db.prepare('INSERT INTO t VALUES (?, ?)');
    db.transaction(() => {
      for (let i = from; i < from + count; i++) insert.run(`key-${i}`, 'v'.repeat(200));
    })();
  };
  const autocheckpoint = (): number => db.pragma('wal_autocheckpoint', { simple: true }) as number;

  it('copies the WAL into the database file from its own thread, the committing connection never does', async () => {
    // Prepare
    checkpointer = startCheckpointer(db, { file, synchronous: 'NORMAL', writesPerCheckpoint: 1000 });
    const cp = checkpointer;
    const sizeBefore = statSync(file).size;
    expect(autocheckpoint()).toBe(0);

    // Act: far more than SQLite's 1000-page automatic threshold, which is switched off here
    writeRows(0, 20_000);
    const sizeAfterWrites = statSync(file).size;
    cp.wrote(20_000);
    await until(() => cp.cycles === 1, 'one checkpoint cycle');

    // Assess: the rows reached the database file only through the worker's cycle, and the first
    // commit after it started the WAL over
    expect(sizeAfterWrites).toBe(sizeBefore);
    expect(statSync(file).size).toBeGreaterThan(4 * 1024 * 1024);
    writeRows(20_000, 1);
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number }>;
    expect(result).toMatchObject({ busy: 0 });
    expect(result?.log).toBeGreaterThan(0);
    expect(result?.log).toBeLessThan(10);
  });

  it('stays idle below its threshold', async () => {
    // Prepare
    const cp = startCheckpointer(db, { file, synchronous: 'NORMAL', writesPerCheckpoint: 1000 });
    checkpointer = cp;
    await until(() => cp.ready, 'the worker to start');
    const sizeBefore = statSync(file).size;

    // Act
    writeRows(0, 999);
    cp.wrote(999);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const cyclesBelow = cp.cycles;
    cp.wrote(1);
    await until(() => cp.cycles === 1, 'the cycle at the threshold');

    // Assess
    expect(cyclesBelow).toBe(0);
    expect(statSync(file).size).toBeGreaterThan(sizeBefore);
  });

  it('checkpoints rows below the threshold once the interval has passed, so low traffic reaches the disk too', async () => {
    // Prepare
    const cp = startCheckpointer(db, { file, synchronous: 'NORMAL', writesPerCheckpoint: 1000, maxIntervalMs: 200 });
    checkpointer = cp;
    await until(() => cp.ready, 'the worker to start');
    const sizeBefore = statSync(file).size;

    // Act
    writeRows(0, 50);
    cp.wrote(50);
    await until(() => cp.cycles === 1, 'the interval checkpoint');

    // Assess
    expect(statSync(file).size).toBeGreaterThan(sizeBefore);
  });

  it('hands checkpoints back to SQLite when the worker cannot open the database, and says why', async () => {
    // Act
    const reasons: string[] = [];
    checkpointer = startCheckpointer(db, {
      file: join(tmp.path, 'missing-dir', 'x.sqlite'),
      synchronous: 'NORMAL',
      onFallback: (reason) => reasons.push(reason),
    });

    // Assess: SQLite's own default threshold again, so the WAL stays bounded
    await until(() => autocheckpoint() === 1000, 'the automatic checkpoint to be restored');
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toMatch(
      /^the WAL checkpoint thread stopped \(Cannot open database because the directory does not exist\); SQLite checkpoints inside commits again/,
    );
  });

  it('stops its worker on close and hands checkpoints back to SQLite for a connection that goes on writing', async () => {
    // Prepare
    const cp = startCheckpointer(db, { file, synchronous: 'NORMAL', writesPerCheckpoint: 10 });
    checkpointer = cp;
    await until(() => cp.ready, 'the worker to start');

    // Act
    await cp.close();
    writeRows(0, 100);
    cp.wrote(100);
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Assess
    expect(cp.ready).toBe(false);
    expect(cp.cycles).toBe(0);
    expect(autocheckpoint()).toBe(1000);
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 100 });
  });

  it('copies while this connection commits during its passes, and the WAL still starts over', async () => {
    // Prepare
    const cp = startCheckpointer(db, { file, synchronous: 'NORMAL', writesPerCheckpoint: 1 });
    checkpointer = cp;
    await until(() => cp.ready, 'the worker to start');

    // Act: commits while cycles run, then quiet
    for (let i = 0; i < 40; i++) {
      writeRows(i * 500, 500);
      cp.wrote(500);
      await new Promise((resolve) => setImmediate(resolve));
    }
    const cyclesDuringWrites = cp.cycles;
    cp.wrote(1);
    await until(() => cp.cycles > cyclesDuringWrites, 'a cycle after the last write');
    writeRows(20_000, 1);

    // Assess: nothing lost, and the commit after the last cycle began a new WAL
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 20_001 });
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number }>;
    expect(result).toMatchObject({ busy: 0 });
    expect(result?.log).toBeLessThan(10);
  });
});

describe('sqlite WAL under sustained writes', () => {
  /** A store whose worker has started: the writes below meet the worker's steady state, not its start. */
  async function storeWithRunningWorker(dbdir: string): Promise<SqliteStore> {
    const file = join(dbdir, DEFAULT_SQLITE_FILE_NAME);
    const db = openSqliteDatabase(file, { busyTimeoutMs: DEFAULT_BUSY_TIMEOUT_MS, synchronous: 'NORMAL' });
    const cp = startCheckpointer(db, { file, synchronous: 'NORMAL', writesPerCheckpoint: 1000 });
    await until(() => cp.ready, 'the worker to start');
    return new SqliteGreylistStore(db, file, cp);
  }

  it.each([
    ['the checkpoint worker', true],
    ['SQLite’s automatic checkpoint', false],
  ])('starts the WAL over with %s while decisions keep coming, and loses nothing', async (_, checkpointWorker) => {
    // Prepare
    const dir = await makeTempDir();
    const store = checkpointWorker ? await storeWithRunningWorker(dir.path) : openSqliteStore({ dbdir: dir.path, checkpointWorker });
    const now = 1_800_000_000;
    const decideAt = (key: string) =>
      store.runDecision({ triplet: key, client: null }, now, () => ({
        writes: { triplet: { firstSeen: now, lastSeen: now, expiresAt: now + 60 } },
      }));
    // Frames in use, from the WAL index header in the -shm file (SQLite's documented format:
    // mxFrame, a native-endian u32 at byte 16), read without touching the database.
    const walFrames = (): number => readFileSync(join(dir.path, 'greygate.sqlite-shm')).readUInt32LE(16);

    // Act: about 30 MiB of WAL if it never started over, written without pauses
    let peakFrames = 0;
    for (let batch = 0; batch < 60; batch++) {
      await Promise.all(Array.from({ length: 500 }, (_, i) => decideAt(`k${batch}-${i}-${'x'.repeat(400)}`)));
      peakFrames = Math.max(peakFrames, walFrames());
    }
    // The cycle asked for by the last rows may still be under way: a few more decisions follow it.
    const deadline = Date.now() + 10_000;
    for (let i = 0; walFrames() > 100 && Date.now() < deadline; i++) {
      await decideAt(`tail-${i}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const settledFrames = walFrames();
    await store.close();
    const reopened = openSqliteStore({ dbdir: dir.path });
    const afterReopen = await reopened.countRecords(now);
    await reopened.close();
    await dir.cleanup();

    // Assess: the WAL started over during the writes (never starting over, it reached ~10,000
    // frames) and after them, and every row is in the file
    expect(peakFrames).toBeLessThan(5000);
    expect(settledFrames).toBeLessThanOrEqual(100);
    expect(afterReopen.triplets).toBeGreaterThanOrEqual(30_000);
  });
});
