// The WAL checkpoint worker of the SQLite store: it, not the committing thread, copies the WAL back
// into the database file, and when it cannot run, SQLite's own automatic checkpoint takes over.

import { statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startCheckpointer, type Checkpointer } from '../../functions/store/sqlite-checkpointer.ts';
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

    // Assess: the rows reach the database file only once the worker has run
    expect(sizeAfterWrites).toBe(sizeBefore);
    await until(() => statSync(file).size > 4 * 1024 * 1024, 'the worker to fill the database file');
    writeRows(20_000, 1); // the first commit after a complete checkpoint starts the WAL over
    const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>;
    expect(result?.log).toBeLessThan(10);
  });

  it('stays idle below its threshold', async () => {
    // Prepare
    checkpointer = startCheckpointer(db, { file, synchronous: 'NORMAL', writesPerCheckpoint: 1000 });
    const sizeBefore = statSync(file).size;
    await new Promise((resolve) => setTimeout(resolve, 200));

    // Act
    writeRows(0, 999);
    checkpointer.wrote(999);
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Assess
    expect(statSync(file).size).toBe(sizeBefore);
  });

  it('hands checkpoints back to SQLite when the worker cannot open the database', async () => {
    // Act
    checkpointer = startCheckpointer(db, { file: join(tmp.path, 'missing-dir', 'x.sqlite'), synchronous: 'NORMAL' });

    // Assess: SQLite's own default threshold again, so the WAL stays bounded
    await until(() => autocheckpoint() === 1000, 'the automatic checkpoint to be restored');
  });

  it('stops its worker on close, and the connection goes on writing', async () => {
    // Prepare
    checkpointer = startCheckpointer(db, { file, synchronous: 'NORMAL' });

    // Act
    await checkpointer.close();
    writeRows(0, 10);
    checkpointer.wrote(10_000);

    // Assess
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 10 });
  });
});
