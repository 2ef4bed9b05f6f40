// The thread that copies the SQLite store's WAL back into the database file (the other half of
// sqlite-checkpointer.ts, which starts it and explains why it exists). It holds a second connection
// to the store's file and, for each request, runs PASSIVE checkpoints until it has caught up with
// the writers or finds another checkpoint under way.
//
// Runs only as a worker thread's entry module: `npm run build` writes it beside the bundle
// (dist/sqlite-checkpoint-worker.mjs); from the sources it is loaded through
// typescript-worker-entry.mjs. Nothing imports it but for its types.

import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { SqliteSynchronous } from './sqlite-database.ts';

export interface CheckpointWorkerData {
  /** The database file the worker opens its own connection to. */
  file: string;
  /** As the store's connection: the checkpoint's fsyncs follow it. */
  synchronous: SqliteSynchronous;
  /** The better-sqlite3 the store itself loaded (its resolved path), so both use one copy. */
  betterSqlite3: string;
  /** Checkpoint passes per request at most. */
  maxPasses: number;
}

/** The worker's messages: once `ready` after opening the file, then one reply per request. */
export type CheckpointWorkerReply =
  | { ok: true; ready: true }
  | { ok: true; ready?: undefined; busy: boolean }
  | { ok: false; ready?: undefined; message: string };

/** A row of `PRAGMA wal_checkpoint`: frames in the WAL and frames copied, -1 each when busy. */
interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/**
 * A PASSIVE checkpoint reports the WAL's length as it was when the pass began, so one pass cannot
 * tell whether frames arrived meanwhile: only a pass that finds the same length as the one before
 * proves that everything up to the current end is copied. Each pass copies what the one before
 * left behind, so the passes shrink to the frames committed during one pass. A pass that finds
 * SQLite's checkpoint lock taken (another process checkpointing) ends the request as busy.
 */
function checkpoint(db: BetterSqlite3.Database, maxPasses: number): { busy: boolean } {
  let previous = -1;
  let caughtUp = false;
  let busy = false;
  for (let pass = 0; pass < maxPasses && !caughtUp && !busy; pass++) {
    const [r] = db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
    if (r === undefined) throw new Error('wal_checkpoint returned no row');
    busy = r.busy !== 0 || r.log < 0;
    caughtUp = !busy && r.log === previous && r.checkpointed === r.log;
    previous = r.log;
  }
  return { busy };
}

function serve(port: NonNullable<typeof parentPort>, data: CheckpointWorkerData): void {
  const reply = (message: CheckpointWorkerReply): void => port.postMessage(message);
  const Database = createRequire(import.meta.url)(data.betterSqlite3) as typeof BetterSqlite3;
  // No busy wait: a lock held by a writer makes the pass report busy instead of blocking it.
  const db = new Database(data.file, { timeout: 0 });
  db.pragma(`synchronous = ${data.synchronous}`);
  port.on('message', () => {
    try {
      reply({ ok: true, ...checkpoint(db, data.maxPasses) });
    } catch (error) {
      reply({ ok: false, message: error instanceof Error ? error.message : String(error) });
    }
  });
  reply({ ok: true, ready: true });
}

if (parentPort === null) throw new Error('sqlite-checkpoint-worker runs only as a worker thread');
serve(parentPort, workerData as CheckpointWorkerData);
