// Keeps SQLite's WAL checkpoints off the event loop.
//
// A checkpoint copies the pages written since the last one from the WAL back into the database
// file and fsyncs both. SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000 WAL
// pages, on the committing thread: every answer waiting at the time waits for the copying and the
// fsyncs too, which sets the tail latency of a busy server.
//
// So the store's own connection runs with wal_autocheckpoint=0, and a worker thread with a second
// connection to the same file (sqlite-checkpoint-worker.ts) does the copying and syncing in
// parallel: SQLite lets a PASSIVE checkpoint run while another connection writes. The WAL only
// starts over from its beginning when a write transaction begins with every frame copied, and under
// load new commits land while the worker copies: so the worker repeats its pass on what is left,
// and then the store's thread copies the remainder itself, between two of its transactions, so
// that its next one finds the WAL fully copied and rewinds it. The remainder is what was committed
// during the worker's last pass, so it stays small unless the disk cannot keep up with the writes
// at all.
//
// If another process's checkpoint holds SQLite's checkpoint lock (several greygate processes on one
// dbdir, or an admin's sqlite3), the worker says so and the store's thread leaves the copying to
// that process this time.
//
// If the worker cannot start, dies, or keeps failing, the store falls back to SQLite's automatic
// checkpoint: pauses on the event loop, but a WAL that stays bounded. So does close().

import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import type { CheckpointWorkerData, CheckpointWorkerReply } from './sqlite-checkpoint-worker.ts';
import type { SqliteSynchronous } from './sqlite-database.ts';

export interface CheckpointerOptions {
  /** The database file, opened by the worker's own connection. */
  file: string;
  /** As the store's connection: the checkpoint's fsyncs follow it. */
  synchronous: SqliteSynchronous;
  /** Rows written between checkpoints; a row dirties one or two WAL pages. */
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
 * delays every answer in flight by as much, now and then by the time of the remainder's two fsyncs.
 * Fewer, larger checkpoints touch fewer answers; the price is a larger WAL between them (a row
 * written at random dirties one or two pages, so tens of MiB at this count). Under a mail host's
 * usual traffic the interval below comes first and keeps the WAL to a few MiB.
 */
export const DEFAULT_WRITES_PER_CHECKPOINT = 8000;

/**
 * With synchronous=NORMAL the WAL reaches the disk at checkpoints: under low traffic the row count
 * alone could leave a day of writes unsynced, which a power loss would take (not corrupt).
 */
export const DEFAULT_MAX_CHECKPOINT_INTERVAL_MS = 60_000;

/** Passes per checkpoint request: enough to catch up with the writers, bounded if it cannot. */
const MAX_WORKER_PASSES = 8;

/** Cycles failing in a row (an I/O error, say) before the worker is given up. */
const MAX_FAILED_CYCLES = 3;

/** SQLite's automatic checkpoint threshold, restored when the worker is gone. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;

/** The worker's heap: it only relays pragma results, so a small one keeps it from growing the process. */
const WORKER_RESOURCE_LIMITS = { maxOldGenerationSizeMb: 8, maxYoungGenerationSizeMb: 1 };

/**
 * Starts sqlite-checkpoint-worker.ts, which sits beside this module: as TypeScript when greygate
 * runs from its sources, loaded through typescript-worker-entry.mjs; as the JavaScript file
 * `npm run build` writes beside the bundle (build/bundle-options.ts) otherwise.
 */
function startWorker(data: CheckpointWorkerData): Worker {
  const options = { workerData: data, resourceLimits: WORKER_RESOURCE_LIMITS };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL('./sqlite-checkpoint-worker.mjs', import.meta.url), options);
  const source = new URL('./sqlite-checkpoint-worker.ts', import.meta.url);
  return new Worker(new URL('./typescript-worker-entry.mjs', import.meta.url), { ...options, argv: [source.href] });
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
    worker = startWorker({ file: options.file, synchronous: options.synchronous, betterSqlite3, maxPasses: MAX_WORKER_PASSES });
  } catch (error) {
    void handBackToSqlite(failed('could not start', error));
  }
  if (worker !== null) {
    const own = worker;
    db.pragma('wal_autocheckpoint = 0');
    own.unref();
    own.on('message', (reply: CheckpointWorkerReply) => {
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
