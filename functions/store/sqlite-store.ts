// The embedded store of `greygate serve`: one SQLite file in --dbdir, through better-sqlite3.
//
// better-sqlite3 is synchronous; each port method does its work in short calls, so nothing here
// interleaves with other JavaScript on the same connection. Decisions are committed in groups
// (sqlite-group-commit.ts); the purge and the count walk the tables a short step at a time
// (sqlite-sweep.ts); WAL checkpoints run in a worker thread (sqlite-checkpointer.ts). This module
// opens the file (sqlite-database.ts), builds those parts, and does a decision's reads and writes.
//
// Durability: WAL journal with synchronous=NORMAL by default, SQLite's own advice for WAL. Every
// committed transaction survives a process crash (kill -9, OOM kill), because the commit is in the
// OS page cache when it returns; an OS crash or power loss can take the transactions since the
// last checkpoint (a minute of writes at most, less under load). That never corrupts the file; it
// forgets some recent triplets, whose senders are then greylisted once more: a delay, never a lost
// message.
// `--sqlite-sync full` (synchronous=FULL) fsyncs the WAL on every commit and keeps those too, as
// Postgrey's synced BerkeleyDB commits did. The fsync is paid on the event loop, once per commit:
// group commit shares it among concurrent connections, so FULL costs most with one connection.
//
// Sharing: several processes may open the same dbdir (e.g. `greygate serve` and an admin command).
// SQLite's own locking keeps them consistent, decisions take the write lock up front (BEGIN
// IMMEDIATE) so they never fail mid-transaction. A lock another process holds is waited for from a
// timer, never inside a call (sqlite-lock-wait.ts): answers that need no store go out meanwhile,
// and a request that waits longer than busyTimeoutMs gets StoreUnavailableError. WAL needs shared
// memory between those processes, so dbdir must be on a local file system, not NFS/SMB. Each
// process checkpoints the WAL from its own worker thread; when two try at once, one finds SQLite's
// checkpoint lock taken and leaves the copying to the other.

import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type {
  ClientRecord,
  DecisionKeys,
  DecisionState,
  DecisionWrites,
  GreylistStore,
  ImportingStore,
  TripletRecord,
} from './store-port.ts';
import { checkPurgeLimit, checkTime, checkWrites } from './write-checks.ts';
import { StoreError } from './store-port.ts';
import { startCheckpointer, type Checkpointer } from './sqlite-checkpointer.ts';
import { createPrivateFile, openSqliteDatabase, prepareDbdir } from './sqlite-database.ts';
import { isLockBusy, lockedTooLong, translateSqliteError } from './sqlite-errors.ts';
import { GroupCommit } from './sqlite-group-commit.ts';
import { retryWhileLocked } from './sqlite-lock-wait.ts';
import { SqliteSweep } from './sqlite-sweep.ts';
import { sqliteAdmin } from './sqlite-admin.ts';
import type { StoreAdmin } from './store-admin.ts';
import { neverPassedCounter, SqliteStatistics } from '../stats/sqlite-stats.ts';
import type { HasStatistics, StatisticsStore } from '../stats/stats-port.ts';

export interface SqliteStoreOptions {
  /** Directory of the database file; created (mode 0700) when missing. */
  dbdir: string;
  /** Defaults to `greygate.sqlite`. */
  fileName?: string;
  /**
   * How long a request waits for another process's lock before StoreUnavailableError. The wait
   * does not block the event loop; it is bounded so that Postfix (which waits `timeout=10s` in the
   * recommended setup) gets the fail-open answer in time.
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
  /**
   * The greylisting delay, for the statistics: with it the purge counts the triplets it deletes
   * that never passed (functions/stats/sqlite-stats.ts); without it it counts nothing.
   */
  statisticsDelaySeconds?: number;
}

export interface SqliteStore extends ImportingStore, HasStatistics {
  /** Absolute or dbdir-relative path of the database file, for log lines. */
  readonly file: string;
  admin(): StoreAdmin;
}

export const DEFAULT_SQLITE_FILE_NAME = 'greygate.sqlite';
export const DEFAULT_BUSY_TIMEOUT_MS = 5000;

export function openSqliteStore({
  dbdir,
  fileName = DEFAULT_SQLITE_FILE_NAME,
  busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS,
  synchronous = 'normal',
  checkpointWorker = true,
  checkpointEveryRows,
  onWarning,
  statisticsDelaySeconds,
}: SqliteStoreOptions): SqliteStore {
  prepareDbdir(dbdir);
  const file = join(dbdir, fileName);
  createPrivateFile(file);
  const sync = synchronous === 'normal' ? 'NORMAL' : 'FULL';
  const db = openSqliteDatabase(file, { busyTimeoutMs, synchronous: sync });
  let checkpointer: Checkpointer | null = null;
  try {
    if (checkpointWorker) {
      checkpointer = startCheckpointer(db, { file, synchronous: sync, writesPerCheckpoint: checkpointEveryRows, onFallback: onWarning });
    }
    return new SqliteGreylistStore(db, file, checkpointer, busyTimeoutMs, statisticsDelaySeconds);
  } catch (error) {
    // Stops the worker (asynchronously) and hands checkpoints back to the connection closed next.
    void checkpointer?.close();
    db.close();
    throw translateSqliteError(error, file);
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
    ping: db.prepare('SELECT 1 FROM meta LIMIT 1'),
    savepoint: db.prepare('SAVEPOINT decision'),
    release: db.prepare('RELEASE decision'),
    rollbackTo: db.prepare('ROLLBACK TO decision'),
  };
}

/** Carries an exception out of `decide` past the SQLite error translation, unchanged. */
class DecideFailed extends Error {
  constructor(readonly error: unknown) {
    super('decide threw');
    this.name = 'DecideFailed';
  }
}

/**
 * Runs a caller's code inside a commit: a SQLite error stays one (the batch translates it), any
 * other error is the caller's and reaches that caller alone, as a decide function's does.
 */
function callersWork<R>(body: () => R): R {
  try {
    return body();
  } catch (error) {
    throw error instanceof Error && error.name === 'SqliteError' ? error : new DecideFailed(error);
  }
}

/**
 * The store on a database as openSqliteDatabase leaves it (without a busy timeout: this class
 * waits for locks itself). It owns `db` and `checkpointer` from then on and closes both in
 * close(); a null checkpointer leaves checkpoints to SQLite.
 */
export class SqliteGreylistStore implements SqliteStore {
  readonly file: string;
  #db: BetterSqlite3.Database | null;
  readonly #s: Statements;
  readonly #checkpointer: Checkpointer | null;
  readonly #commits: GroupCommit;
  readonly #sweep: SqliteSweep;
  readonly #lockWaitMs: number;

  #statistics: SqliteStatistics | null = null;

  constructor(
    db: BetterSqlite3.Database,
    file: string,
    checkpointer: Checkpointer | null,
    lockWaitMs = DEFAULT_BUSY_TIMEOUT_MS,
    statisticsDelaySeconds?: number,
  ) {
    this.file = file;
    this.#db = db;
    this.#s = prepareStatements(db);
    this.#checkpointer = checkpointer;
    this.#lockWaitMs = lockWaitMs;
    this.#commits = new GroupCommit({
      writeTransaction: (body) => this.#run(() => this.#transaction(this.#s.beginWrite, body)),
      inTransaction: () => this.#db?.inTransaction ?? false,
      jobError: (error) => (error instanceof DecideFailed ? error.error : translateSqliteError(error, this.file)),
      committed: (rows) => this.#checkpointer?.wrote(rows),
      isLockBusy,
      lockWaitMs,
      lockedTooLong: (error, waitedMs) => lockedTooLong(error, this.file, waitedMs),
    });
    this.#sweep = new SqliteSweep(db, {
      read: (body) => this.#whileLocked(() => this.#run(() => this.#transaction(this.#s.beginRead, body))),
      write: (body) => this.#whileLocked(() => this.#run(() => this.#transaction(this.#s.beginWrite, body))),
      isOpen: () => this.#db !== null,
      deleted: (rows) => this.#checkpointer?.wrote(rows),
      ...(statisticsDelaySeconds === undefined ? {} : { beforeTripletDelete: neverPassedCounter(db, statisticsDelaySeconds) }),
    });
  }

  /** The statistics in this file (functions/stats/sqlite-stats.ts), sharing the decisions' commits. */
  statistics(): StatisticsStore {
    const db = this.#db;
    if (db === null) throw new StoreError(`the SQLite store ${this.file} is closed`);
    this.#statistics ??= new SqliteStatistics(db, {
      write: (body, rows) => this.#inCommit(() => ({ value: body(), rows })),
      read: (body) => this.#whileLocked(() => this.#run(() => this.#transaction(this.#s.beginRead, body))),
    });
    return this.#statistics;
  }

  /**
   * Queued for the next group commit: a failing decide() writes nothing, and a failing write
   * undoes its own decision's writes only. Resolves once the decision is committed.
   */
  runDecision<T extends { writes: DecisionWrites }>(
    keys: DecisionKeys,
    now: number,
    decide: (state: DecisionState) => T,
  ): Promise<T> {
    return this.#queued(now, () => {
      const result = this.#decide(keys, now, decide);
      return { value: result, rows: (result.writes.triplet ? 1 : 0) + (result.writes.client ? 1 : 0) };
    });
  }

  /**
   * Runs `body` in the next group commit's transaction, beside the decisions queued with it, and
   * resolves with its value once that commit is durable. `rows`: how many rows it wrote.
   */
  #queued<V>(now: number, body: () => { value: V; rows: number }): Promise<V> {
    try {
      this.#run(() => checkTime(now));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#inCommit(body);
  }

  /** #queued without a decision clock to check: statistics and administration writes. */
  #inCommit<V>(body: () => { value: V; rows: number }): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.#commits.add({
        run: () => {
          const { value, rows } = body();
          return { settle: () => resolve(value), rows };
        },
        reject,
      });
    });
  }

  /** One decision inside the batch's transaction: read, decide, write. */
  #decide<T extends { writes: DecisionWrites }>(keys: DecisionKeys, now: number, decide: (state: DecisionState) => T): T {
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
    return result;
  }

  importTriplet(key: string, now: number, merge: (held: TripletRecord | null) => TripletRecord | undefined): Promise<boolean> {
    return this.#importOne(now, () => {
      const want = merge(this.#s.getTriplet.get(key, now) ?? null);
      if (want !== undefined) this.#s.putTriplet.run(key, want.firstSeen, want.lastSeen, want.expiresAt);
      return want !== undefined;
    });
  }

  importClient(key: string, now: number, merge: (held: ClientRecord | null) => ClientRecord | undefined): Promise<boolean> {
    return this.#importOne(now, () => {
      const want = merge(this.#s.getClient.get(key, now) ?? null);
      if (want !== undefined) this.#s.putClient.run(key, want.count, want.lastSeen, want.expiresAt);
      return want !== undefined;
    });
  }

  /** Allow entries and the pending triplets (sqlite-admin.ts), through this store's transactions. */
  admin(): StoreAdmin {
    return sqliteAdmin({
      read: (body) =>
        this.#whileLocked(() =>
          this.#run(() => this.#transaction(this.#s.beginRead, () => body(this.#db as BetterSqlite3.Database))),
        ),
      write: <R>(body: (db: BetterSqlite3.Database) => R) =>
        this.#inCommit(() => ({ value: callersWork(() => body(this.#db as BetterSqlite3.Database)), rows: 1 })),
      updateTriplet: (key, now, change) => this.importTriplet(key, now, change),
    });
  }

  /** Queued with the decisions, so an import running beside serve shares its commits and lock waits. */
  #importOne(now: number, body: () => boolean): Promise<boolean> {
    return this.#queued(now, () => {
      const wrote = callersWork(body);
      return { value: wrote, rows: wrote ? 1 : 0 };
    });
  }

  async peek(keys: DecisionKeys, now: number): Promise<DecisionState> {
    this.#run(() => checkTime(now));
    return this.#whileLocked(() => this.#run(() => this.#transaction(this.#s.beginRead, () => this.#read(keys, now))));
  }

  /** See SqliteSweep.purge: resumes the sweep where the last call stopped. */
  async purgeExpired(now: number, limit: number, signal?: AbortSignal): Promise<number> {
    this.#run(() => {
      checkTime(now);
      checkPurgeLimit(limit);
    });
    return this.#sweep.purge(now, limit, signal);
  }

  async countRecords(now: number, signal?: AbortSignal): Promise<{ triplets: number; clients: number }> {
    this.#run(() => checkTime(now));
    return this.#sweep.count(now, signal);
  }

  async ping(): Promise<void> {
    await this.#whileLocked(() => this.#run(() => this.#s.ping.get()));
  }

  async close(): Promise<void> {
    const db = this.#db;
    if (db === null) return;
    await this.#commits.drain();
    if (this.#db !== db) return; // closed by a concurrent call meanwhile
    this.#db = null;
    await this.#checkpointer?.close();
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

  /**
   * Runs `attempt` until it no longer finds another connection's lock, waiting in between (reads
   * meet one only in rare moments of WAL bookkeeping, writes whenever another process writes).
   */
  #whileLocked<R>(attempt: () => R): Promise<R> {
    return retryWhileLocked(attempt, {
      boundMs: this.#lockWaitMs,
      isBusy: isLockBusy,
      tooLong: (error, waitedMs) => lockedTooLong(error, this.file, waitedMs),
    });
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
