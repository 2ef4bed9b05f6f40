// The embedded store of `greygate serve`: one SQLite file in --dbdir, through better-sqlite3.
//
// better-sqlite3 is synchronous; each port method does its work in short calls, so nothing here
// interleaves with other JavaScript on the same connection. Decisions are queued for one event-loop
// turn and committed together (group commit, runDecision). The purge and the count walk the tables
// in key order, SWEEP_STEP_ROWS rows per step, each step its own short transaction, and let the
// event loop answer in between. An index on expires_at would spare them the walk, but every
// decision would then write two B-tree pages instead of one (sqlite-schema.ts, version 2).
//
// Durability: WAL journal with synchronous=NORMAL by default, SQLite's own advice for WAL. Every
// committed transaction survives a process crash (kill -9, OOM kill), because the commit is in the
// OS page cache when it returns; an OS crash or power loss can take the transactions since the
// last checkpoint (a minute of writes at most, less under load). That never corrupts the file; it
// forgets some recent triplets, whose senders are then greylisted once more: a delay, never a lost
// message.
// `--sqlite-sync full` (synchronous=FULL) fsyncs the WAL on every commit and keeps those too, as
// Postgrey's synced BerkeleyDB commits did. The fsync is paid on the event loop, once per commit:
// group commit shares it among concurrent connections, so FULL costs most with one connection
// (measured on the development VM, ext4 on a virtual disk: ~0.13 ms per decision against ~0.06 ms,
// and about half the single-connection throughput).
// better-sqlite3 builds SQLite with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1 (NORMAL once in WAL), so FULL
// must be set explicitly, after the switch to WAL.
//
// Sharing: several processes may open the same dbdir (e.g. `greygate serve` and an admin command).
// SQLite's own locking keeps them consistent, decisions take the write lock up front (BEGIN
// IMMEDIATE) so they never fail mid-transaction, and a writer that waits longer than
// busyTimeoutMs gets StoreUnavailableError. WAL needs shared memory between those processes, so
// dbdir must be on a local file system, not NFS/SMB. Each process checkpoints the WAL from its own
// worker thread (sqlite-checkpointer.ts); when two try at once, one finds SQLite's checkpoint lock
// taken and leaves the copying to the other.

import { accessSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type {
  ClientRecord,
  DecisionKeys,
  DecisionState,
  DecisionWrites,
  GreylistStore,
  TripletRecord,
} from './store-port.ts';
import { checkPurgeLimit, checkTime, checkWrites } from './write-checks.ts';
import { StoreError, StoreMisconfiguredError, StoreUnavailableError } from './store-port.ts';
import { checkSchema, migrateSchema } from './sqlite-schema.ts';
import { startCheckpointer, type Checkpointer } from './sqlite-checkpointer.ts';

export interface SqliteStoreOptions {
  /** Directory of the database file; created (mode 0700) when missing. */
  dbdir: string;
  /** Defaults to `greygate.sqlite`. */
  fileName?: string;
  /**
   * How long a write waits for another process's lock before StoreUnavailableError. The wait
   * blocks the event loop, so it is short: our own transactions hold the lock for milliseconds.
   */
  busyTimeoutMs?: number;
  /** See the header comment: `normal` survives process crashes, `full` power loss too. */
  synchronous?: 'full' | 'normal';
  /**
   * WAL checkpoints in a worker thread (sqlite-checkpointer.ts), the default; false leaves them to
   * SQLite, inside the commits on the event loop.
   */
  checkpointWorker?: boolean;
  /** Rows written between two checkpoints of the worker (default DEFAULT_WRITES_PER_CHECKPOINT). */
  checkpointEveryRows?: number;
  /** Warnings an admin should see (the checkpoint thread gave up); not per decision. */
  onWarning?: (message: string) => void;
}

export interface SqliteStore extends GreylistStore {
  /** Absolute or dbdir-relative path of the database file, for log lines. */
  readonly file: string;
}

export const DEFAULT_SQLITE_FILE_NAME = 'greygate.sqlite';
export const DEFAULT_BUSY_TIMEOUT_MS = 2000;

export function openSqliteStore({
  dbdir,
  fileName = DEFAULT_SQLITE_FILE_NAME,
  busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS,
  synchronous = 'normal',
  checkpointWorker = true,
  checkpointEveryRows,
  onWarning,
}: SqliteStoreOptions): SqliteStore {
  prepareDbdir(dbdir);
  const file = join(dbdir, fileName);
  createPrivateFile(file);
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
    // First access to the file, read-only: a non-database or a foreign database is refused here,
    // before switching the journal mode would change it.
    checkSchema(db, file);
    db.pragma('journal_mode = WAL');
    const sync = synchronous === 'normal' ? 'NORMAL' : 'FULL';
    db.pragma(`synchronous = ${sync}`);
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    migrateSchema(db, file);
    const store = new SqliteGreylistStore(db, file);
    // Last, so nothing after it can fail and leave its worker running.
    if (checkpointWorker) {
      store.checkpointer = startCheckpointer(db, {
        file,
        synchronous: sync,
        writesPerCheckpoint: checkpointEveryRows,
        onFallback: onWarning,
      });
    }
    return store;
  } catch (error) {
    db?.close();
    throw translateSqliteError(error, file);
  }
}

function prepareDbdir(dbdir: string): void {
  try {
    mkdirSync(dbdir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new StoreMisconfiguredError(`cannot create the database directory ${dbdir}: ${describeFsError(error)}`, {
      cause: error,
    });
  }
  if (!statSync(dbdir).isDirectory()) {
    throw new StoreMisconfiguredError(`the database directory ${dbdir} exists but is not a directory`);
  }
  try {
    accessSync(dbdir, constants.W_OK | constants.X_OK);
  } catch (error) {
    throw new StoreMisconfiguredError(
      `the database directory ${dbdir} is not writable by this process (uid ${process.getuid?.() ?? '?'}): ` +
        `${describeFsError(error)}. Give it to the user greygate runs as, or choose another --dbdir.`,
      { cause: error },
    );
  }
}

// SQLite would create the file 0644; greylisting data names who mails whom, so it is private.
// The -wal and -shm files copy the database file's mode. An existing file keeps the admin's mode.
function createPrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'a', 0o600));
  } catch (error) {
    throw new StoreMisconfiguredError(`cannot open the database file ${file}: ${describeFsError(error)}`, {
      cause: error,
    });
  }
}

function describeFsError(error: unknown): string {
  const code = error instanceof Error && 'code' in error ? error.code : undefined;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EEXIST':
    case 'ENOTDIR':
      return 'a part of the path is a file, not a directory';
    case 'EISDIR':
      return 'it is a directory';
    case 'EROFS':
      return 'the file system is read-only';
    case 'ENOSPC':
      return 'no space left on the device';
    default:
      return error instanceof Error ? error.message : String(error);
  }
}

interface Statements {
  beginRead: BetterSqlite3.Statement<[]>;
  beginWrite: BetterSqlite3.Statement<[]>;
  commit: BetterSqlite3.Statement<[]>;
  rollback: BetterSqlite3.Statement<[]>;
  getTriplet: BetterSqlite3.Statement<[string, number], TripletRecord>;
  getClient: BetterSqlite3.Statement<[string, number], ClientRecord>;
  putTriplet: BetterSqlite3.Statement<[string, number, number, number]>;
  putClient: BetterSqlite3.Statement<[string, number, number, number]>;
  /** The triplets table's, then the clients table's: the order of a sweep. */
  sweep: readonly [SweepStatements, SweepStatements];
  ping: BetterSqlite3.Statement<[]>;
  savepoint: BetterSqlite3.Statement<[]>;
  release: BetterSqlite3.Statement<[]>;
  rollbackTo: BetterSqlite3.Statement<[]>;
}

function prepareStatements(db: BetterSqlite3.Database): Statements {
  const upsert = (table: string, columns: [string, string, string]): string =>
    `INSERT INTO ${table} (key, ${columns.join(', ')}) VALUES (?, ?, ?, ?) ` +
    `ON CONFLICT (key) DO UPDATE SET ${columns.map((c) => `${c} = excluded.${c}`).join(', ')}`;
  return {
    beginRead: db.prepare('BEGIN'),
    beginWrite: db.prepare('BEGIN IMMEDIATE'),
    commit: db.prepare('COMMIT'),
    rollback: db.prepare('ROLLBACK'),
    getTriplet: db.prepare(
      'SELECT first_seen AS firstSeen, last_seen AS lastSeen, expires_at AS expiresAt FROM triplets ' +
        'WHERE key = ? AND expires_at > ?',
    ),
    getClient: db.prepare(
      'SELECT count, last_seen AS lastSeen, expires_at AS expiresAt FROM clients WHERE key = ? AND expires_at > ?',
    ),
    putTriplet: db.prepare(upsert('triplets', ['first_seen', 'last_seen', 'expires_at'])),
    putClient: db.prepare(upsert('clients', ['count', 'last_seen', 'expires_at'])),
    sweep: [prepareSweep(db, 'triplets'), prepareSweep(db, 'clients')],
    ping: db.prepare('SELECT 1 FROM meta LIMIT 1'),
    savepoint: db.prepare('SAVEPOINT decision'),
    release: db.prepare('RELEASE decision'),
    rollbackTo: db.prepare('ROLLBACK TO decision'),
  };
}

/** Rows one step of a purge or a count reads: about a millisecond, so answers barely wait on it. */
export const SWEEP_STEP_ROWS = 2000;

/**
 * One table's statements for walking it in key order. A step covers the keys after `after` up to
 * `end` (inclusive); every range bound is a key, so each statement is a range scan of the primary
 * key, whatever the table's size.
 */
interface SweepStatements {
  /** The key SWEEP_STEP_ROWS rows after `after`; undefined when fewer rows are left. */
  stepEnd: BetterSqlite3.Statement<[string], string>;
  /** The table's last key after `after`; null when there is none. */
  lastKeyAfter: BetterSqlite3.Statement<[string], string | null>;
  /** The greatest of the first `limit` expired keys in (after, end]; null when none expired. */
  lastExpired: BetterSqlite3.Statement<[string, string, number, number], string | null>;
  deleteExpired: BetterSqlite3.Statement<[string, string, number]>;
  countLive: BetterSqlite3.Statement<[string, string, number], number>;
}

function prepareSweep(db: BetterSqlite3.Database, table: 'triplets' | 'clients'): SweepStatements {
  return {
    stepEnd: db
      .prepare<[string], string>(`SELECT key FROM ${table} WHERE key > ? ORDER BY key LIMIT 1 OFFSET ${SWEEP_STEP_ROWS - 1}`)
      .pluck(),
    lastKeyAfter: db.prepare<[string], string | null>(`SELECT max(key) FROM ${table} WHERE key > ?`).pluck(),
    lastExpired: db
      .prepare<[string, string, number, number], string | null>(
        `SELECT max(key) FROM (SELECT key FROM ${table} WHERE key > ? AND key <= ? AND expires_at <= ? ORDER BY key LIMIT ?)`,
      )
      .pluck(),
    deleteExpired: db.prepare(`DELETE FROM ${table} WHERE key > ? AND key <= ? AND expires_at <= ?`),
    countLive: db
      .prepare<[string, string, number], number>(`SELECT count(*) FROM ${table} WHERE key > ? AND key <= ? AND expires_at > ?`)
      .pluck(),
  };
}

/** Keys are never empty, so every key sorts after this one. */
const SWEEP_START_KEY = '';

/**
 * Where a purge sweep stands: the table (an index into Statements.sweep), the last key done in it,
 * and the `now` it purges for. A call with another `now` is another purge run and starts over, so
 * the keys before the cursor are always ones this run has swept.
 */
interface SweepCursor {
  now: number;
  table: number;
  after: string;
}

function sweepStart(now: number): SweepCursor {
  return { now, table: 0, after: SWEEP_START_KEY };
}

/** The next step's range in `t` after `after`; null when the table holds nothing after it. */
function nextStep(t: SweepStatements, after: string): { end: string; final: boolean } | null {
  const end = t.stepEnd.get(after);
  if (end !== undefined) return { end, final: false };
  const last = t.lastKeyAfter.get(after) ?? null;
  return last === null ? null : { end: last, final: true };
}

/** Carries an exception out of `decide` past the SQLite error translation, unchanged. */
class DecideFailed extends Error {
  constructor(readonly error: unknown) {
    super('decide threw');
    this.name = 'DecideFailed';
  }
}

/**
 * A queued decision: `run` executes inside the batch transaction and returns how to settle it and
 * how many rows it wrote (the checkpointer's pacing).
 */
interface Job {
  run(): { settle: () => void; rows: number };
  reject(error: unknown): void;
}

/**
 * The WAL file is truncated back to this size when it starts over, so a burst does not keep its
 * disk space. Above the size one checkpoint interval fills (about 11,000 pages, 45 MiB), so the
 * steady state does not pay a truncate and a regrowth of the file per checkpoint.
 */
const WAL_SIZE_LIMIT_BYTES = 128 * 1024 * 1024;

/**
 * SQLite's page cache, per connection. Its default (2 MiB) holds the B-tree pages of only a few
 * ten thousand triplets, so lookups and updates on a busy database went to the OS cache through
 * a system call per page; 16 MiB measured 10-30 % more decisions/s at 32 connections (npm run
 * bench) and costs that much memory at most, once the database is that large.
 */
const PAGE_CACHE_KIB = 16 * 1024;

/** Bounds one transaction's lock time; larger bursts are split over several turns of the loop. */
const MAX_BATCH = 256;

class SqliteGreylistStore implements SqliteStore {
  readonly file: string;
  #db: BetterSqlite3.Database | null;
  readonly #s: Statements;
  readonly #pending: Job[] = [];
  #flushScheduled = false;
  /** Where purgeExpired resumes: a purge run spans many calls, each deleting up to its limit. */
  #purgeCursor: SweepCursor | null = null;

  /** Set by openSqliteStore once the store is built; null leaves checkpoints to SQLite. */
  checkpointer: Checkpointer | null = null;

  constructor(db: BetterSqlite3.Database, file: string) {
    this.file = file;
    this.#db = db;
    this.#s = prepareStatements(db);
  }

  /**
   * Group commit: decisions that arrive in the same turn of the event loop (many Postfix
   * connections at once) share one transaction and so one fsync, each isolated from the others: a
   * failing decide() writes nothing, and a failing write undoes its own decision's writes only.
   * Every promise resolves only after the COMMIT, so no answer is ever sent for a decision that
   * could still be lost.
   */
  runDecision<T extends { writes: DecisionWrites }>(
    keys: DecisionKeys,
    now: number,
    decide: (state: DecisionState) => T,
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      try {
        this.#run(() => checkTime(now));
      } catch (error) {
        reject(error);
        return;
      }
      this.#pending.push({
        run: () => {
          const state = this.#read(keys, now);
          let result: T;
          try {
            result = decide(state);
          } catch (error) {
            throw new DecideFailed(error);
          }
          checkWrites(keys, result.writes);
          const { triplet, client } = result.writes;
          // A failing statement undoes itself, so a decision with one write needs no savepoint; one
          // with two takes one, so that the second failing also undoes the first.
          const both = triplet !== undefined && client !== undefined;
          if (both) this.#s.savepoint.run();
          try {
            if (triplet) this.#s.putTriplet.run(keys.triplet, triplet.firstSeen, triplet.lastSeen, triplet.expiresAt);
            if (client && keys.client !== null) {
              this.#s.putClient.run(keys.client, client.count, client.lastSeen, client.expiresAt);
            }
          } catch (error) {
            // SQLite rolls the whole transaction back by itself on SQLITE_FULL and some I/O errors:
            // then there is no savepoint left, and the batch fails with the real cause.
            if (both && this.#db?.inTransaction) {
              this.#s.rollbackTo.run();
              this.#s.release.run();
            }
            throw error;
          }
          if (both) this.#s.release.run();
          return { settle: () => resolve(result), rows: (triplet ? 1 : 0) + (client ? 1 : 0) };
        },
        reject,
      });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending.splice(0, MAX_BATCH);
    if (this.#pending.length > 0) {
      this.#flushScheduled = true;
      setImmediate(() => this.#flush());
    }
    const settle: Array<() => void> = [];
    let rows = 0;
    try {
      this.#run(() =>
        this.#transaction(this.#s.beginWrite, () => {
          for (const job of batch) {
            try {
              const done = job.run();
              settle.push(done.settle);
              rows += done.rows;
            } catch (error) {
              if (!this.#db?.inTransaction) throw error;
              const reported = error instanceof DecideFailed ? error.error : translateSqliteError(error, this.file);
              settle.push(() => job.reject(reported));
            }
          }
        }),
      );
    } catch (error) {
      for (const job of batch) job.reject(error);
      return;
    }
    this.checkpointer?.wrote(rows);
    for (const done of settle) done();
  }

  async peek(keys: DecisionKeys, now: number): Promise<DecisionState> {
    return this.#run(() => {
      checkTime(now);
      return this.#transaction(this.#s.beginRead, () => this.#read(keys, now));
    });
  }

  /**
   * Sweeps the triplets, then the clients, from where the last call stopped, until `limit` records
   * are deleted or the sweep reaches the end (then it starts over on the next call). Fewer than
   * `limit` therefore means a whole sweep is done. Stops early, keeping what it deleted, when
   * `signal` fires or the store is closed meanwhile.
   */
  async purgeExpired(now: number, limit: number, signal?: AbortSignal): Promise<number> {
    this.#run(() => {
      checkTime(now);
      checkPurgeLimit(limit);
    });
    let deleted = 0;
    while (deleted < limit && this.#db !== null && !signal?.aborted) {
      const cursor = this.#purgeCursor?.now === now ? this.#purgeCursor : sweepStart(now);
      const step = this.#run(() => this.#transaction(this.#s.beginWrite, () => this.#purgeStep(cursor, limit - deleted)));
      deleted += step.deleted;
      this.checkpointer?.wrote(step.deleted);
      this.#purgeCursor = step.next;
      if (step.next === null) break;
      await yieldToEventLoop();
    }
    return deleted;
  }

  /** Deletes up to `limit` records expired at `cursor.now` in one step; `next` is null once the sweep is done. */
  #purgeStep(cursor: SweepCursor, limit: number): { deleted: number; next: SweepCursor | null } {
    const { now } = cursor;
    const t = this.#s.sweep[cursor.table] as SweepStatements;
    const step = nextStep(t, cursor.after);
    if (step !== null) {
      const upTo = t.lastExpired.get(cursor.after, step.end, now, limit) ?? null;
      const deleted = upTo === null ? 0 : t.deleteExpired.run(cursor.after, upTo, now).changes;
      // The limit may have cut the step short: the rest of its range comes next.
      if (upTo !== null && deleted === limit) return { deleted, next: { ...cursor, after: upTo } };
      if (!step.final) return { deleted, next: { ...cursor, after: step.end } };
      return { deleted, next: this.#nextTable(cursor) };
    }
    return { deleted: 0, next: this.#nextTable(cursor) };
  }

  #nextTable(cursor: SweepCursor): SweepCursor | null {
    return cursor.table + 1 < this.#s.sweep.length ? { ...sweepStart(cursor.now), table: cursor.table + 1 } : null;
  }

  /** Counted a step at a time like the purge: a consistent count of each step, not of the whole table. */
  async countRecords(now: number, signal?: AbortSignal): Promise<{ triplets: number; clients: number }> {
    this.#run(() => checkTime(now));
    const live = [0, 0];
    for (const [table, t] of this.#s.sweep.entries()) {
      let after: string | null = SWEEP_START_KEY;
      while (after !== null) {
        signal?.throwIfAborted();
        const from: string = after;
        const step = this.#run(() =>
          this.#transaction(this.#s.beginRead, () => {
            const range = nextStep(t, from);
            if (range === null) return { live: 0, next: null };
            return { live: t.countLive.get(from, range.end, now) ?? 0, next: range.final ? null : range.end };
          }),
        );
        live[table] = (live[table] ?? 0) + step.live;
        after = step.next;
        if (after !== null) await yieldToEventLoop();
      }
    }
    return { triplets: live[0] ?? 0, clients: live[1] ?? 0 };
  }

  async ping(): Promise<void> {
    this.#run(() => this.#s.ping.get());
  }

  async close(): Promise<void> {
    const db = this.#db;
    if (db === null) return;
    // Decisions already queued are committed and answered, not dropped.
    while (this.#pending.length > 0) this.#flush();
    this.#db = null;
    await this.checkpointer?.close();
    try {
      db.close();
    } catch (error) {
      throw translateSqliteError(error, this.file);
    }
  }

  #read(keys: DecisionKeys, now: number): DecisionState {
    return {
      triplet: this.#s.getTriplet.get(keys.triplet, now) ?? null,
      client: keys.client === null ? null : (this.#s.getClient.get(keys.client, now) ?? null),
    };
  }

  /** Runs `work` on the open database and turns what it throws into the port's errors. */
  #run<R>(work: () => R): R {
    if (this.#db === null) throw new StoreError(`the SQLite store ${this.file} is closed`);
    try {
      return work();
    } catch (error) {
      if (error instanceof DecideFailed) throw error.error;
      throw translateSqliteError(error, this.file);
    }
  }

  #transaction<R>(begin: BetterSqlite3.Statement<[]>, body: () => R): R {
    begin.run();
    try {
      const result = body();
      this.#s.commit.run();
      return result;
    } catch (error) {
      if (this.#db?.inTransaction) {
        try {
          this.#s.rollback.run();
        } catch {
          // SQLite already rolled back (e.g. after SQLITE_FULL); the original error is the story.
        }
      }
      throw error;
    }
  }
}


/**
 * Maps what better-sqlite3 throws to the port's errors, keeping it as `cause`. Codes are SQLite's
 * extended result codes (SQLITE_BUSY_SNAPSHOT, SQLITE_IOERR_FSYNC, ...), hence the prefixes.
 */
export function translateSqliteError(error: unknown, file: string): StoreError {
  if (error instanceof StoreError) return error;
  const options = { cause: error };
  if (!(error instanceof Database.SqliteError)) {
    const detail = error instanceof Error ? error.message : String(error);
    return new StoreError(`unexpected error in the SQLite store ${file}: ${detail}`, options);
  }
  const code = error.code;
  const detail = `${code}: ${error.message}`;
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
    return new StoreUnavailableError(
      `the database ${file} stayed locked by another connection for longer than the busy timeout (${detail}); ` +
        'look for another process holding a long transaction on it',
      options,
    );
  }
  if (code === 'SQLITE_NOTADB') {
    return new StoreMisconfiguredError(
      `${file} is not a greygate database, or it is corrupt (${detail}). Move it away; greygate then creates ` +
        'a new one (known senders are greylisted once more).',
      options,
    );
  }
  if (code.startsWith('SQLITE_CORRUPT')) {
    return new StoreError(
      `the database ${file} is corrupt (${detail}). Stop greygate and move the file (with its -wal and -shm ` +
        'files) away, or repair it with `sqlite3 FILE .recover`.',
      { ...options, code: 'store-corrupt' },
    );
  }
  if (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM') {
    return new StoreMisconfiguredError(
      `cannot write the database ${file} (${detail}). The file, its -wal and -shm files and their directory ` +
        'must be writable by the user greygate runs as, on a local, writable file system.',
      options,
    );
  }
  if (code === 'SQLITE_FULL' || code.startsWith('SQLITE_IOERR')) {
    return new StoreUnavailableError(
      `the database ${file} could not be written (${detail}); check free space and the disk`,
      options,
    );
  }
  return new StoreError(`the SQLite store ${file} failed (${detail})`, options);
}
