// Keeps SQLite's WAL checkpoints off the event loop.
//
// A checkpoint copies the pages written since the last one from the WAL back into the database
// file and fsyncs both. SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000 WAL
// pages, on the committing thread: under load that froze `greygate serve` for 7–15 ms every few
// hundred decisions, long enough to set the p99 latency of every connection waiting at the time.
//
// So the store's own connection runs with wal_autocheckpoint=0, and a worker thread with a second
// connection to the same file does the copying and syncing in parallel (SQLite lets a PASSIVE
// checkpoint run while another connection writes). The WAL only starts over from its beginning
// when a write transaction begins with every frame copied, and under load new commits land while
// the worker copies: so the worker repeats the pass on what is left, which shrinks to the frames
// committed during one pass, and then the store's thread copies that remainder itself, between two
// of its transactions, so that its next one finds the WAL fully copied and rewinds it. Measured
// under 32 busy connections: about 2 ms on the event loop every ~2000 WAL frames, against 7–15 ms.
//
// If the worker cannot start or dies, the store falls back to SQLite's automatic checkpoint: the
// old pauses, but a WAL that stays bounded.

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';

export interface CheckpointerOptions {
  /** The database file, opened by the worker's own connection. */
  file: string;
  /** 'NORMAL' or 'FULL', as the store's connection: the checkpoint's fsyncs follow it. */
  synchronous: 'NORMAL' | 'FULL';
  /** Rows written between checkpoints; a row dirties one to three pages (table and index). */
  writesPerCheckpoint?: number;
}

export interface Checkpointer {
  /** The store committed a transaction that wrote `rows` rows. */
  wrote(rows: number): void;
  /** Stops the worker; the store's connection then checkpoints on close as SQLite always does. */
  close(): Promise<void>;
}

/** About 1000–2000 WAL pages of greygate's writes; SQLite's own threshold is 1000 pages. */
export const DEFAULT_WRITES_PER_CHECKPOINT = 600;

/**
 * Each pass copies what the one before left behind, so the remainder shrinks to the few frames
 * committed during a pass's fsyncs; a pass that ends with no commit during it finishes the job.
 */
const MAX_WORKER_PASSES = 8;

/** SQLite's automatic checkpoint threshold, restored when the worker is gone. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

// The worker is handed its source rather than a file: the store runs from TypeScript under tsx, from
// vitest, and from the esbuild bundle, and only plain JavaScript starts the same way in all three.
// It loads better-sqlite3 from the path the store itself resolved.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.file, { timeout: 0 });
db.pragma('synchronous = ' + workerData.synchronous);
// A PASSIVE checkpoint reports the WAL's length as it was when the pass began, so one pass cannot
// tell whether frames arrived meanwhile: only a pass that finds the same length as the one before
// proves that everything up to the current end is copied.
parentPort.on('message', () => {
  try {
    let previous = -1;
    let caughtUp = false;
    for (let pass = 0; pass < workerData.maxPasses && !caughtUp; pass++) {
      const [r] = db.pragma('wal_checkpoint(PASSIVE)');
      caughtUp = r.log === previous && r.checkpointed === r.log;
      previous = r.log;
    }
    parentPort.postMessage({ ok: true, caughtUp });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message || error) });
  }
});
parentPort.postMessage({ ok: true, ready: true });
`;

interface WorkerReply {
  ok: boolean;
  ready?: boolean;
  caughtUp?: boolean;
  message?: string;
}

export function startCheckpointer(db: BetterSqlite3.Database, options: CheckpointerOptions): Checkpointer {
  const writesPerCheckpoint = options.writesPerCheckpoint ?? DEFAULT_WRITES_PER_CHECKPOINT;
  let worker: Worker | null = null;
  let ready = false;
  let busy = false;
  let written = 0;
  let closed = false;

  const requestIfDue = (): void => {
    if (worker === null || written < writesPerCheckpoint || busy || !ready) return;
    written = 0;
    busy = true;
    worker.postMessage(null);
  };
  const fallBack = (): void => {
    worker = null;
    if (!closed && db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
  };

  try {
    const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: options.file, synchronous: options.synchronous, betterSqlite3, maxPasses: MAX_WORKER_PASSES },
      // The worker only relays pragma results; a small heap keeps it from growing the process.
      resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
    });
  } catch {
    fallBack();
  }
  if (worker !== null) {
    db.pragma('wal_autocheckpoint = 0');
    worker.unref();
    worker.on('message', (reply: WorkerReply) => {
      if (reply.ready) {
        ready = true;
        requestIfDue();
        return;
      }
      busy = false;
      if (closed || !db.open) return;
      // The remainder. The store's transactions are synchronous, so this runs between two of them,
      // competes with no write of ours and completes; when the worker caught up and nothing was
      // committed since, it finds nothing to copy and costs nothing.
      if (!reply.ok || db.inTransaction) return;
      try {
        db.pragma('wal_checkpoint(PASSIVE)');
      } catch {
        // An I/O error here shows again, with the store's own message, on the next write; this
        // handler has nobody to report to, and throwing would take the process down.
      }
    });
    worker.on('error', fallBack);
    worker.on('exit', () => {
      if (!closed) fallBack();
    });
  }

  return {
    wrote(rows: number): void {
      written += rows;
      requestIfDue();
    },
    async close(): Promise<void> {
      closed = true;
      const w = worker;
      worker = null;
      if (w !== null) await w.terminate();
    },
  };
}
