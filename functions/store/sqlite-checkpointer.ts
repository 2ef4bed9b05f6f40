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
// under 32 busy connections: about 1.5 ms on the event loop per checkpoint, against 7–15 ms.
//
// The remainder is what was committed during the worker's last pass, so it stays small unless the
// disk cannot keep up with the writes at all. If another process's checkpoint holds SQLite's
// checkpoint lock (several greygate processes on one dbdir, or an admin's sqlite3), the worker
// says so and the store's thread leaves the copying to that process this time.
//
// If the worker cannot start, dies, or fails three cycles in a row, the store falls back to
// SQLite's automatic checkpoint: the old pauses, but a WAL that stays bounded. So does close().

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
  /** Longest time written rows wait for a checkpoint when traffic is low. */
  maxIntervalMs?: number;
  /** Told, once, why checkpoints went back to SQLite (the admin's log). */
  onFallback?: (reason: string) => void;
}

export interface Checkpointer {
  /** The store committed a transaction that wrote `rows` rows. */
  wrote(rows: number): void;
  /** Checkpoint cycles the worker has completed. */
  readonly cycles: number;
  /** True while the worker is running and has its connection open. */
  readonly ready: boolean;
  /**
   * Stops the worker and hands checkpoints back to SQLite, so a connection that goes on writing
   * keeps a bounded WAL.
   */
  close(): Promise<void>;
}

/**
 * Each checkpoint costs the event loop its remainder, however many pages the worker copied, and
 * delays every answer in flight by as much: typically 1.5 ms, but the remainder's two fsyncs made
 * it 4-15 ms in one checkpoint of ten on the development VM's disk. Under 32 busy connections,
 * checkpoints every 2000 rows touched ~1.6 % of the answers, every 8000 rows ~0.4 % (p99 5.1-5.9 ms
 * against 5.9-6.4 ms, and 10-15 % more decisions/s). A row written at random dirties about 1.4 WAL
 * pages (5.5 KiB; three before schema 2 dropped the expires_at indexes), so the WAL reaches ~45 MiB
 * between checkpoints at that rate; under a mail host's usual traffic the one-minute interval comes
 * first and keeps it to a few MiB.
 */
export const DEFAULT_WRITES_PER_CHECKPOINT = 8000;

/**
 * With synchronous=NORMAL the WAL reaches the disk at checkpoints: under low traffic the row count
 * alone could leave a day of writes unsynced, which a power loss would take (not corrupt).
 */
export const DEFAULT_MAX_CHECKPOINT_INTERVAL_MS = 60_000;

/**
 * Each pass copies what the one before left behind, so the remainder shrinks to the frames
 * committed during one pass.
 */
const MAX_WORKER_PASSES = 8;

/** Cycles failing in a row (an I/O error, say) before the worker is given up. */
const MAX_FAILED_CYCLES = 3;

/** SQLite's automatic checkpoint threshold, restored when the worker is gone. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

// The worker is handed its source rather than a file: the store runs from TypeScript under tsx, from
// vitest, and from the esbuild bundle, and only plain JavaScript starts the same way in all three.
// It loads better-sqlite3 from the path the store itself resolved.
//
// A PASSIVE checkpoint reports the WAL's length as it was when the pass began, so one pass cannot
// tell whether frames arrived meanwhile: only a pass that finds the same length as the one before
// proves that everything up to the current end is copied. A pass that finds the checkpoint lock
// taken reports busy and -1 for both counts.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.file, { timeout: 0 });
db.pragma('synchronous = ' + workerData.synchronous);
parentPort.on('message', () => {
  try {
    let previous = -1;
    let caughtUp = false;
    let busy = false;
    for (let pass = 0; pass < workerData.maxPasses && !caughtUp && !busy; pass++) {
      const [r] = db.pragma('wal_checkpoint(PASSIVE)');
      busy = r.busy !== 0 || r.log < 0;
      caughtUp = !busy && r.log === previous && r.checkpointed === r.log;
      previous = r.log;
    }
    parentPort.postMessage({ ok: true, busy });
  } catch (error) {
    parentPort.postMessage({ ok: false, message: String(error && error.message || error) });
  }
});
parentPort.postMessage({ ok: true, ready: true });
`;

interface WorkerReply {
  ok: boolean;
  ready?: boolean;
  busy?: boolean;
  message?: string;
}

export function startCheckpointer(db: BetterSqlite3.Database, options: CheckpointerOptions): Checkpointer {
  const writesPerCheckpoint = options.writesPerCheckpoint ?? DEFAULT_WRITES_PER_CHECKPOINT;
  const maxIntervalMs = options.maxIntervalMs ?? DEFAULT_MAX_CHECKPOINT_INTERVAL_MS;
  let worker: Worker | null = null;
  let ready = false;
  let inFlight = false;
  let written = 0;
  let cycles = 0;
  let failedInRow = 0;

  const request = (): void => {
    if (worker === null || !ready || inFlight || written === 0) return;
    written = 0;
    inFlight = true;
    worker.postMessage(null);
  };
  const requestIfDue = (): void => {
    if (written >= writesPerCheckpoint) request();
  };
  const timer = setInterval(request, maxIntervalMs);
  timer.unref();
  /** Resolves once the worker, if there was one, has stopped. */
  const handBackToSqlite = async (reason: string | null): Promise<void> => {
    clearInterval(timer);
    const w = worker;
    worker = null;
    ready = false;
    if (db.open) db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
    if (reason !== null) options.onFallback?.(reason);
    await w?.terminate();
  };
  const failed = (what: string, error: unknown): string =>
    `the WAL checkpoint thread ${what} (${error instanceof Error ? error.message : String(error)}); ` +
    'SQLite checkpoints inside commits again, which pauses answers for some milliseconds now and then';

  try {
    const betterSqlite3 = createRequire(import.meta.url).resolve('better-sqlite3');
    worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: { file: options.file, synchronous: options.synchronous, betterSqlite3, maxPasses: MAX_WORKER_PASSES },
      // The worker only relays pragma results; a small heap keeps it from growing the process.
      resourceLimits: { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 },
    });
  } catch (error) {
    void handBackToSqlite(failed('could not start', error));
  }
  if (worker !== null) {
    const own = worker;
    db.pragma('wal_autocheckpoint = 0');
    own.unref();
    own.on('message', (reply: WorkerReply) => {
      if (worker !== own) return; // closed or given up meanwhile
      if (reply.ready) {
        ready = true;
        requestIfDue();
        return;
      }
      inFlight = false;
      if (!reply.ok) {
        failedInRow += 1;
        if (failedInRow >= MAX_FAILED_CYCLES) void handBackToSqlite(failed(`failed ${failedInRow} times in a row`, reply.message));
        return;
      }
      failedInRow = 0;
      cycles += 1;
      // The remainder. The store's transactions are synchronous, so this runs between two of them
      // and competes with no write of ours; when the worker caught up and nothing was committed
      // since, it finds nothing to copy and costs nothing. Skipped while another process holds
      // the checkpoint lock: its checkpoint does the copying.
      if (!reply.busy && db.open && !db.inTransaction) {
        try {
          db.pragma('wal_checkpoint(PASSIVE)');
        } catch {
          // An I/O error here shows again, with the store's own message, on the next write; this
          // handler has nobody to report to, and throwing would take the process down.
        }
      }
      requestIfDue();
    });
    own.on('error', (error) => {
      if (worker === own) void handBackToSqlite(failed('stopped', error));
    });
    own.on('exit', (code) => {
      if (worker === own) void handBackToSqlite(failed('exited', `code ${code}`));
    });
  }

  return {
    wrote(rows: number): void {
      written += rows;
      requestIfDue();
    },
    get cycles(): number {
      return cycles;
    },
    get ready(): boolean {
      return ready;
    },
    close(): Promise<void> {
      return handBackToSqlite(null);
    },
  };
}
