// Opens the SQLite store's database file: the directory and the file created private, a file that
// is not greygate's refused before anything is written to it, the schema migrated, and the
// connection's settings (WAL journal, durability, caches).

import { accessSync, closeSync, constants, mkdirSync, openSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { describeFsError, translateSqliteError } from './sqlite-errors.ts';
import { checkSchema, migrateSchema } from './sqlite-schema.ts';
import { StoreMisconfiguredError } from './store-port.ts';

/** The values of PRAGMA synchronous the store runs with; sqlite-store.ts says what each survives. */
export type SqliteSynchronous = 'NORMAL' | 'FULL';

export interface SqliteDatabaseOptions {
  /**
   * How long opening the file (the schema check and migration) waits for another process's lock
   * before SQLITE_BUSY. Nothing is served yet then, so SQLite's own blocking wait is fine; the
   * connection is left without one afterwards (see openSqliteDatabase).
   */
  busyTimeoutMs: number;
  synchronous: SqliteSynchronous;
}

/**
 * The WAL file is truncated back to this size when it starts over, so a burst does not keep its
 * disk space. Above the size one checkpoint interval fills (sqlite-checkpointer.ts), so the steady
 * state does not pay a truncate and a regrowth of the file per checkpoint.
 */
const WAL_SIZE_LIMIT_BYTES = 128 * 1024 * 1024;

/**
 * SQLite's page cache, per connection. Its default (2 MiB) holds the B-tree pages of few enough
 * triplets that lookups on a busy database go to the OS cache through a system call per page;
 * this costs that much memory at most, once the database is that large.
 */
const PAGE_CACHE_KIB = 16 * 1024;

/** Creates `dbdir` (mode 0700) when missing and checks that this process may create files in it. */
export function prepareDbdir(dbdir: string): void {
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
export function createPrivateFile(file: string): void {
  try {
    closeSync(openSync(file, 'a', 0o600));
  } catch (error) {
    throw new StoreMisconfiguredError(`cannot open the database file ${file}: ${describeFsError(error)}`, {
      cause: error,
    });
  }
}

/**
 * Opens `file` as greygate's database, migrated to the current schema, in WAL mode, with no busy
 * timeout: a statement that finds another connection's lock fails at once with SQLITE_BUSY, and
 * the store waits from a timer instead of inside the call (sqlite-lock-wait.ts). Throws the port's
 * errors; nothing is left open when it throws.
 */
export function openSqliteDatabase(file: string, { busyTimeoutMs, synchronous }: SqliteDatabaseOptions): BetterSqlite3.Database {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
    // First access to the file, read-only: a non-database or a foreign database is refused here,
    // before switching the journal mode would change it.
    checkSchema(db, file);
    db.pragma('journal_mode = WAL');
    // better-sqlite3 builds SQLite with SQLITE_DEFAULT_WAL_SYNCHRONOUS=1 (NORMAL once in WAL), so
    // FULL must be set explicitly, after the switch to WAL.
    db.pragma(`synchronous = ${synchronous}`);
    db.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
    db.pragma(`cache_size = -${PAGE_CACHE_KIB}`);
    migrateSchema(db, file);
    db.pragma('busy_timeout = 0');
    return db;
  } catch (error) {
    db?.close();
    throw translateSqliteError(error, file);
  }
}
