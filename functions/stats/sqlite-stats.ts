// Statistics in the SQLite file: a `stats` table (sqlite-schema.ts, version 3) of (hour, name) →
// value. A flush is one job of the store's group commit, so it shares the decisions' transactions
// and lock waits and never blocks an answer; an upsert adds to the stored value, so `serve` and a
// second process on the same file sum. The purge counts the triplets it deletes that never passed
// in the same transaction as the delete (neverPassedCounter), so a crash can neither lose nor
// double that count.

import type BetterSqlite3 from 'better-sqlite3';
import { COHORT_NEVER_PASSED, HOUR_SECONDS, type HourStats } from './stats-model.ts';
import type { PendingTriplet, StatisticsStore } from './stats-port.ts';

/** How the statistics reach the store's connection (SqliteGreylistStore supplies both). */
export interface SqliteStatsAccess {
  /** Runs `body` in a write transaction queued with the decisions; rejects with the port's errors. */
  write(body: () => void, rows: number): Promise<void>;
  /** Runs `body` in a read transaction once no other process's lock is in the way. */
  read<R>(body: () => R): Promise<R>;
}

export class SqliteStatistics implements StatisticsStore {
  readonly countsNeverPassed = true;
  readonly #access: SqliteStatsAccess;
  readonly #add: BetterSqlite3.Statement<[number, string, number]>;
  readonly #forget: BetterSqlite3.Statement<[number]>;
  readonly #range: BetterSqlite3.Statement<[number, number], { hour: number; name: string; value: number }>;
  readonly #pending: BetterSqlite3.Statement<[number, number], PendingTriplet>;
  readonly #savepoint: BetterSqlite3.Statement<[]>;
  readonly #release: BetterSqlite3.Statement<[]>;
  readonly #rollbackTo: BetterSqlite3.Statement<[]>;

  constructor(db: BetterSqlite3.Database, access: SqliteStatsAccess) {
    this.#access = access;
    this.#add = db.prepare('INSERT INTO stats (hour, name, value) VALUES (?, ?, ?) ON CONFLICT (hour, name) DO UPDATE SET value = value + excluded.value');
    // The primary key starts with the hour: forgetting old buckets is a range delete, not a scan.
    this.#forget = db.prepare('DELETE FROM stats WHERE hour < ?');
    this.#range = db.prepare('SELECT hour, name, value FROM stats WHERE hour >= ? AND hour <= ? ORDER BY hour');
    // A full scan of the triplets, for `greygate report` only (never on a decision's path).
    this.#pending = db.prepare(
      'SELECT key, first_seen AS firstSeen, last_seen AS lastSeen FROM triplets WHERE expires_at > ? AND last_seen - first_seen < ?',
    );
    this.#savepoint = db.prepare('SAVEPOINT stats');
    this.#release = db.prepare('RELEASE stats');
    this.#rollbackTo = db.prepare('ROLLBACK TO stats');
  }

  addStatistics(hours: readonly HourStats[], { now, retentionSeconds }: { now: number; retentionSeconds: number }): Promise<void> {
    const rows = hours.reduce((n, h) => n + Object.keys(h.counters).length, 0);
    return this.#access.write(() => {
      // Inside the group commit's batch: a savepoint, so a failure here undoes this flush only,
      // never the decisions sharing the transaction.
      this.#savepoint.run();
      try {
        for (const { hour, counters } of hours) for (const [name, value] of Object.entries(counters)) this.#add.run(hour, name, value);
        this.#forget.run(now - retentionSeconds - HOUR_SECONDS + 1);
      } catch (error) {
        this.#rollbackTo.run();
        this.#release.run();
        throw error;
      }
      this.#release.run();
    }, rows);
  }

  readStatistics(fromHour: number, toHour: number): Promise<HourStats[]> {
    return this.#access.read(() => {
      const byHour = new Map<number, Record<string, number>>();
      for (const row of this.#range.all(fromHour, toHour)) {
        const counters = byHour.get(row.hour) ?? {};
        counters[row.name] = row.value;
        byHour.set(row.hour, counters);
      }
      return [...byHour.entries()].map(([hour, counters]) => ({ hour, counters }));
    });
  }

  pendingTriplets(now: number, delaySeconds: number): Promise<PendingTriplet[]> {
    return this.#access.read(() => this.#pending.all(now, delaySeconds));
  }
}

/**
 * For the store's purge (sqlite-sweep.ts): called inside the transaction that deletes the expired
 * triplets with keys in (after, upTo], it adds those that never passed to `cohort.never-passed`
 * of the hour they were first seen in. A triplet "never passed" exactly as decide() tells it:
 * last_seen - first_seen < delay.
 */
export function neverPassedCounter(db: BetterSqlite3.Database, delaySeconds: number): (after: string, upTo: string, now: number) => void {
  const count = db.prepare<[number, string, string, number, number], { hour: number; n: number }>(
    'SELECT first_seen - (first_seen % ?) AS hour, count(*) AS n FROM triplets ' +
      'WHERE key > ? AND key <= ? AND expires_at <= ? AND last_seen - first_seen < ? GROUP BY 1',
  );
  const add = db.prepare<[number, string, number]>(
    'INSERT INTO stats (hour, name, value) VALUES (?, ?, ?) ON CONFLICT (hour, name) DO UPDATE SET value = value + excluded.value',
  );
  return (after, upTo, now) => {
    for (const { hour, n } of count.all(HOUR_SECONDS, after, upTo, now, delaySeconds)) add.run(hour, COHORT_NEVER_PASSED, n);
  };
}
