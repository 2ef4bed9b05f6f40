// The administration side of the SQLite store (store-admin.ts): allow entries in the
// `allow_entries` table with their version in the meta row `allow_version`, and the triplet scan
// of `greygate pending`. The store hands in its transactions (sqlite-store.ts's admin()), so these
// reads and writes wait for another process's lock and join the group commit like a decision.

import type BetterSqlite3 from 'better-sqlite3';
import type { AllowEntry, AllowKind } from '../core/allow-entry.ts';
import type { TripletRecord } from '../core/types.ts';
import type { StoreAdmin, StoredTriplet } from './store-admin.ts';

export interface SqliteAdminAccess {
  /** A read transaction on the open database. */
  read<R>(body: (db: BetterSqlite3.Database) => R): Promise<R>;
  /** A write, committed with the next group of decisions. */
  write<R>(body: (db: BetterSqlite3.Database) => R): Promise<R>;
  updateTriplet(key: string, now: number, change: (held: TripletRecord | null) => TripletRecord | undefined): Promise<boolean>;
}

interface AllowRow {
  id: string;
  kind: string;
  value: string;
  expires_at: number | null;
  comment: string;
  added_by: string;
  added_at: number;
}

/** Rows per step of the triplet scan: short enough that answers never wait behind one. */
const SCAN_PAGE = 500;

function readVersion(db: BetterSqlite3.Database): number {
  const value: unknown = db.prepare("SELECT value FROM meta WHERE key = 'allow_version'").pluck().get();
  return typeof value === 'string' ? Number(value) : 0;
}

function bumpVersion(db: BetterSqlite3.Database): number {
  const next = readVersion(db) + 1;
  db.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('allow_version', ?)").run(String(next));
  return next;
}

export function sqliteAdmin(access: SqliteAdminAccess): StoreAdmin {
  return {
    allowVersion: () => access.read(readVersion),
    allowEntries: () =>
      access.read((db) => ({
        version: readVersion(db),
        entries: (db.prepare('SELECT * FROM allow_entries ORDER BY id').all() as AllowRow[]).map(
          (row): AllowEntry => ({
            id: row.id,
            kind: row.kind as AllowKind,
            value: row.value,
            expiresAt: row.expires_at,
            comment: row.comment,
            addedBy: row.added_by,
            addedAt: row.added_at,
          }),
        ),
      })),
    putAllowEntry: (entry) =>
      access.write((db) => {
        db.prepare(
          'INSERT OR REPLACE INTO allow_entries (id, kind, value, expires_at, comment, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(entry.id, entry.kind, entry.value, entry.expiresAt, entry.comment, entry.addedBy, entry.addedAt);
        return bumpVersion(db);
      }),
    removeAllowEntry: (id) =>
      access.write((db) => {
        const gone = db.prepare('DELETE FROM allow_entries WHERE id = ?').run(id).changes > 0;
        if (gone) bumpVersion(db);
        return gone;
      }),
    async scanTriplets(now, visit) {
      let after = '';
      for (;;) {
        const page = await access.read(
          (db) =>
            db
              .prepare(
                'SELECT key, first_seen AS firstSeen, last_seen AS lastSeen, expires_at AS expiresAt FROM triplets ' +
                  'WHERE key > ? ORDER BY key LIMIT ?',
              )
              .all(after, SCAN_PAGE) as Array<TripletRecord & { key: string }>,
        );
        for (const { key, ...record } of page) {
          if (record.expiresAt <= now) continue;
          const triplet: StoredTriplet = { key, record };
          if (!visit(triplet)) return;
        }
        if (page.length < SCAN_PAGE) return;
        after = page[page.length - 1]?.key ?? after;
      }
    },
    updateTriplet: (key, now, change) => access.updateTriplet(key, now, change),
  };
}
