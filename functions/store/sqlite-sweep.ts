// The SQLite store's purge of expired records and its count of live ones. Both walk the tables in
// key order, SWEEP_STEP_ROWS rows per step, each step its own short transaction, and let the event
// loop answer decisions in between. An index on expires_at would spare them the walk, but every
// decision would then write two B-tree pages instead of one (sqlite-schema.ts).

import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type BetterSqlite3 from 'better-sqlite3';

/** Rows one step of a purge or a count reads: about a millisecond, so answers barely wait on it. */
export const SWEEP_STEP_ROWS = 2000;

/**
 * How the sweep reaches the store's connection; each call is one step's transaction, run once the
 * lock it needs is free (the wait does not block the event loop).
 */
export interface SweepTransactions {
  /** Runs `body` in a read transaction; rejects with the port's errors, also when the store is closed. */
  read<R>(body: () => R): Promise<R>;
  /** The same in a write transaction. */
  write<R>(body: () => R): Promise<R>;
  /** False once the store is closed: a purge under way stops between two steps. */
  isOpen(): boolean;
  /** Rows a purge step deleted, once committed (the checkpointer's pacing). */
  deleted(rows: number): void;
  /**
   * Called in a purge step's transaction just before it deletes the expired triplets with keys
   * in (after, upTo] (the statistics count those that never passed: sqlite-stats.ts).
   */
  beforeTripletDelete?(after: string, upTo: string, now: number): void;
}

/**
 * One table's statements for walking it in key order. A step covers the keys after `after` up to
 * `end` (inclusive); every range bound is a key, so each statement is a range scan of the primary
 * key, whatever the table's size.
 */
interface TableStatements {
  /** The key SWEEP_STEP_ROWS rows after `after`; undefined when fewer rows are left. */
  stepEnd: BetterSqlite3.Statement<[string], string>;
  /** The table's last key after `after`; null when there is none. */
  lastKeyAfter: BetterSqlite3.Statement<[string], string | null>;
  /** The greatest of the first `limit` expired keys in (after, end]; null when none expired. */
  lastExpired: BetterSqlite3.Statement<[string, string, number, number], string | null>;
  deleteExpired: BetterSqlite3.Statement<[string, string, number]>;
  countLive: BetterSqlite3.Statement<[string, string, number], number>;
}

function prepareTable(db: BetterSqlite3.Database, table: 'triplets' | 'clients'): TableStatements {
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
 * Where a purge sweep stands: the table (an index into the sweep's tables), the last key done in
 * it, and the `now` it purges for. A call with another `now` is another purge run and starts over,
 * so the keys before the cursor are always ones this run has swept.
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
function nextStep(t: TableStatements, after: string): { end: string; final: boolean } | null {
  const end = t.stepEnd.get(after);
  if (end !== undefined) return { end, final: false };
  const last = t.lastKeyAfter.get(after) ?? null;
  return last === null ? null : { end: last, final: true };
}

export class SqliteSweep {
  /** The triplets table's, then the clients table's: the order of a sweep. */
  readonly #tables: readonly [TableStatements, TableStatements];
  readonly #tx: SweepTransactions;
  /** Where purge() resumes: a purge run spans many calls, each deleting up to its limit. */
  #purgeCursor: SweepCursor | null = null;

  constructor(db: BetterSqlite3.Database, transactions: SweepTransactions) {
    this.#tables = [prepareTable(db, 'triplets'), prepareTable(db, 'clients')];
    this.#tx = transactions;
  }

  /**
   * Sweeps the triplets, then the clients, from where the last call stopped, until `limit` records
   * are deleted or the sweep reaches the end (then it starts over on the next call). Fewer than
   * `limit` therefore means a whole sweep is done. Stops early, keeping what it deleted, when
   * `signal` fires or the store is closed meanwhile.
   */
  async purge(now: number, limit: number, signal?: AbortSignal): Promise<number> {
    let deleted = 0;
    while (deleted < limit && this.#tx.isOpen() && !signal?.aborted) {
      const cursor = this.#purgeCursor?.now === now ? this.#purgeCursor : sweepStart(now);
      const step = await this.#tx.write(() => this.#purgeStep(cursor, limit - deleted));
      deleted += step.deleted;
      this.#tx.deleted(step.deleted);
      this.#purgeCursor = step.next;
      if (step.next === null) break;
      await yieldToEventLoop();
    }
    return deleted;
  }

  /** Deletes up to `limit` records expired at `cursor.now` in one step; `next` is null once the sweep is done. */
  #purgeStep(cursor: SweepCursor, limit: number): { deleted: number; next: SweepCursor | null } {
    const { now } = cursor;
    const t = this.#tables[cursor.table] as TableStatements;
    const step = nextStep(t, cursor.after);
    if (step !== null) {
      const upTo = t.lastExpired.get(cursor.after, step.end, now, limit) ?? null;
      if (upTo !== null && cursor.table === 0) this.#tx.beforeTripletDelete?.(cursor.after, upTo, now);
      const deleted = upTo === null ? 0 : t.deleteExpired.run(cursor.after, upTo, now).changes;
      // The limit may have cut the step short: the rest of its range comes next.
      if (upTo !== null && deleted === limit) return { deleted, next: { ...cursor, after: upTo } };
      if (!step.final) return { deleted, next: { ...cursor, after: step.end } };
      return { deleted, next: this.#nextTable(cursor) };
    }
    return { deleted: 0, next: this.#nextTable(cursor) };
  }

  #nextTable(cursor: SweepCursor): SweepCursor | null {
    return cursor.table + 1 < this.#tables.length ? { ...sweepStart(cursor.now), table: cursor.table + 1 } : null;
  }

  /** Counted a step at a time like the purge: a consistent count of each step, not of the whole table. */
  async count(now: number, signal?: AbortSignal): Promise<{ triplets: number; clients: number }> {
    const live = [0, 0];
    for (const [table, t] of this.#tables.entries()) {
      let after: string | null = SWEEP_START_KEY;
      while (after !== null) {
        signal?.throwIfAborted();
        const from: string = after;
        const step = await this.#tx.read(() => {
          const range = nextStep(t, from);
          if (range === null) return { live: 0, next: null };
          return { live: t.countLive.get(from, range.end, now) ?? 0, next: range.final ? null : range.end };
        });
        live[table] = (live[table] ?? 0) + step.live;
        after = step.next;
        if (after !== null) await yieldToEventLoop();
      }
    }
    return { triplets: live[0] ?? 0, clients: live[1] ?? 0 };
  }
}
