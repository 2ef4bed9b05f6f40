// The schema of greygate's SQLite file and the migrations that build it.
//
// `PRAGMA user_version` holds the schema version: it lives in the file header and changes inside
// the migration's transaction, so a crash mid-migration leaves the old version and the old tables.
// `PRAGMA application_id` marks the file as greygate's, so a SQLite file of another program is
// refused instead of having our tables added to it. The `meta` table records which greygate
// release introduced the file's schema, so an older release that finds a newer schema can tell the
// admin which release to run.
//
// To change the schema: append a migration (never edit a released one) with the next version and
// the release that ships it. Released files then migrate forward when they are opened.

import type BetterSqlite3 from 'better-sqlite3';
import { StoreMisconfiguredError } from './store-port.ts';

/** 'GRGT' in ASCII. */
export const GREYGATE_APPLICATION_ID = 0x47524754;

export interface Migration {
  /** The schema version this migration produces; versions count up from 1 without gaps. */
  version: number;
  /** The greygate release that first ships this schema version. */
  release: string;
  sql: string;
}

// WITHOUT ROWID: every lookup is by the text key, and rows are small (a key of tens of bytes, or a
// 64-character HMAC under --privacy, plus three integers), so storing rows in the primary-key
// B-tree saves the second lookup and the extra rowid index a rowid table would need.
// No index on expires_at (version 2 drops the ones version 1 made): a decision's write moves its
// row's expires_at, so an index entry would move too, a second random page per write and per
// commit, on the path every answer waits for. The purge sweeps the tables in key order instead, a
// bounded step at a time (sqlite-sweep.ts).
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    release: '0.1.0',
    sql: `
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE triplets (
        key TEXT PRIMARY KEY,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX triplets_expires_at ON triplets (expires_at);
      CREATE TABLE clients (
        key TEXT PRIMARY KEY,
        count INTEGER NOT NULL,
        last_seen INTEGER NOT NULL,
        expires_at INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX clients_expires_at ON clients (expires_at);
    `,
  },
  {
    version: 2,
    release: '0.1.0',
    sql: `
      DROP INDEX IF EXISTS triplets_expires_at;
      DROP INDEX IF EXISTS clients_expires_at;
    `,
  },
  // Run-time allow entries (sqlite-admin.ts). Their version counter is the meta row
  // `allow_version`, read by every process on the file on a short interval.
  {
    version: 3,
    release: '0.1.0',
    sql: `
      CREATE TABLE allow_entries (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        value TEXT NOT NULL,
        expires_at INTEGER,
        comment TEXT NOT NULL,
        added_by TEXT NOT NULL,
        added_at INTEGER NOT NULL
      ) WITHOUT ROWID;
    `,
  },
  {
    // Per-hour statistics (functions/stats/sqlite-stats.ts): a handful of rows per hour, keyed by
    // the hour first so that reading a period and forgetting old hours are range operations.
    version: 4,
    release: '0.1.0',
    sql: `
      CREATE TABLE stats (
        hour INTEGER NOT NULL,
        name TEXT NOT NULL,
        value INTEGER NOT NULL,
        PRIMARY KEY (hour, name)
      ) WITHOUT ROWID;
    `,
  },
];

export const SCHEMA_VERSION: number = MIGRATIONS.length;

/**
 * Refuses a file that is not greygate's or whose schema is newer than this release knows; returns
 * its schema version otherwise. Only reads, so a refused file is left exactly as it was.
 */
export function checkSchema(db: BetterSqlite3.Database, file: string): number {
  const version = readIntPragma(db, 'user_version');
  const applicationId = readIntPragma(db, 'application_id');
  if (applicationId !== GREYGATE_APPLICATION_ID && (applicationId !== 0 || version !== 0 || hasTables(db))) {
    throw new StoreMisconfiguredError(
      `${file} is a SQLite database of another program, not a greygate database. ` +
        'Point the database directory (--dbdir) at a directory of its own, or move the file away.',
    );
  }
  if (version > SCHEMA_VERSION) throw newerSchemaError(db, file, version);
  return version;
}

/**
 * Brings the file at `file` (open as `db`) to SCHEMA_VERSION, or refuses it. Runs in one IMMEDIATE
 * transaction, checking again inside it, so two processes opening a new file at once migrate it
 * exactly once.
 */
export function migrateSchema(db: BetterSqlite3.Database, file: string): void {
  const migrate = db.transaction(() => {
    const version = checkSchema(db, file);
    for (const migration of MIGRATIONS) {
      if (migration.version <= version) continue;
      db.exec(migration.sql);
      db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('min_release', ?)").run(migration.release);
      db.pragma(`user_version = ${migration.version}`);
    }
    if (readIntPragma(db, 'application_id') !== GREYGATE_APPLICATION_ID) {
      db.pragma(`application_id = ${GREYGATE_APPLICATION_ID}`);
    }
  });
  migrate.immediate();
}

function newerSchemaError(db: BetterSqlite3.Database, file: string, version: number): StoreMisconfiguredError {
  const needs = readMinRelease(db);
  return new StoreMisconfiguredError(
    `${file} has schema version ${version}, written by a newer greygate` +
      (needs === null ? '' : ` (it needs greygate ${needs} or later)`) +
      `; this greygate understands schema versions up to ${SCHEMA_VERSION}. ` +
      'greygate was probably downgraded: run the newer release again, or move the file away to start ' +
      'with an empty database (known senders are then greylisted once more).',
  );
}

function readMinRelease(db: BetterSqlite3.Database): string | null {
  try {
    const value: unknown = db.prepare("SELECT value FROM meta WHERE key = 'min_release'").pluck().get();
    return typeof value === 'string' ? value : null;
  } catch {
    // A future schema may have moved the meta table; the version numbers alone still explain it.
    return null;
  }
}

function readIntPragma(db: BetterSqlite3.Database, name: string): number {
  const value: unknown = db.pragma(name, { simple: true });
  if (typeof value !== 'number') throw new Error(`PRAGMA ${name} returned ${String(value)}`);
  return value;
}

function hasTables(db: BetterSqlite3.Database): boolean {
  return db.prepare('SELECT 1 FROM sqlite_schema LIMIT 1').get() !== undefined;
}
