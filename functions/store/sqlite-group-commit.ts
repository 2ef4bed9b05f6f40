// Group commit for the SQLite store's decisions: the decisions that arrive in the same turn of the
// event loop (many Postfix connections at once) share one write transaction and so one fsync, each
// isolated from the others, so one that fails writes nothing and fails alone. Every decision is
// answered only after the COMMIT, so no answer is ever sent for a decision that could still be lost.
//
// When another process holds the write lock, the batch goes back to the head of the queue and is
// tried again from a timer (sqlite-lock-wait.ts), joined by the decisions that arrive meanwhile;
// the event loop stays free for everything else. A decision that has waited its bound is answered
// with the target's lock error, alone.

import { setTimeout as sleep } from 'node:timers/promises';
import { lockRetryDelay } from './sqlite-lock-wait.ts';

/** A queued decision. */
export interface CommitJob {
  /**
   * Does the decision's reads and writes inside the batch's transaction, leaving nothing written
   * when it throws. Returns how to answer it once committed and how many rows it wrote.
   */
  run(): { settle: () => void; rows: number };
  /** Answers the decision with an error: its own, or its batch's. */
  reject(error: unknown): void;
}

interface QueuedJob {
  job: CommitJob;
  /** When it was queued (the target's clock): its wait for the lock is bounded from then. */
  queuedAt: number;
}

/** The store's side of a batch. */
export interface GroupCommitTarget {
  /** Runs `body` in one write transaction; throws the port's error when the transaction fails. */
  writeTransaction(body: () => void): void;
  /**
   * False when a failing statement took the whole transaction with it (SQLite rolls back by
   * itself on SQLITE_FULL and some I/O errors): then the whole batch fails with that error.
   */
  inTransaction(): boolean;
  /** What a job that failed on its own is rejected with. */
  jobError(error: unknown): unknown;
  /** Called after each commit with the rows the batch wrote, before its decisions are answered. */
  committed(rows: number): void;
  /** Whether the transaction failed because another connection holds the lock. */
  isLockBusy(error: unknown): boolean;
  /** Longest a decision waits for another connection's lock. */
  lockWaitMs: number;
  /** What a decision that waited `waitedMs` for the lock in vain is rejected with. */
  lockedTooLong(error: unknown, waitedMs: number): unknown;
  /** Milliseconds, monotonic; default performance.now. */
  clock?: () => number;
}

/** Bounds one transaction's lock time; larger bursts are split over several turns of the loop. */
export const MAX_BATCH = 256;

export class GroupCommit {
  readonly #target: GroupCommitTarget;
  readonly #clock: () => number;
  readonly #pending: QueuedJob[] = [];
  #flushScheduled = false;
  /** Set while the head of the queue waits for another connection's lock. */
  #lockTimer: NodeJS.Timeout | null = null;
  /** Attempts that found the lock taken since the last commit, for the pause before the next. */
  #lockAttempts = 0;

  constructor(target: GroupCommitTarget) {
    this.#target = target;
    this.#clock = target.clock ?? (() => performance.now());
  }

  /** Queues `job` for the batch committed on the next turn of the event loop. */
  add(job: CommitJob): void {
    this.#pending.push({ job, queuedAt: this.#clock() });
    this.#scheduleFlush();
  }

  /**
   * Commits and answers everything queued (on close: queued decisions are not dropped), waiting
   * for another connection's lock as a batch does, within the same bound.
   */
  async drain(): Promise<void> {
    while (this.#pending.length > 0) {
      if (this.#lockTimer === null) this.#flush();
      if (this.#pending.length > 0) await sleep(lockRetryDelay(0));
    }
  }

  #scheduleFlush(): void {
    // While the lock is taken, the timer's attempt takes the new decisions along.
    if (this.#flushScheduled || this.#lockTimer !== null) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending.splice(0, MAX_BATCH);
    if (batch.length === 0) return;
    if (this.#pending.length > 0) this.#scheduleFlush();
    const settle: Array<() => void> = [];
    let rows = 0;
    try {
      this.#target.writeTransaction(() => {
        for (const { job } of batch) {
          try {
            const done = job.run();
            settle.push(done.settle);
            rows += done.rows;
          } catch (error) {
            if (!this.#target.inTransaction()) throw error;
            const reported = this.#target.jobError(error);
            settle.push(() => job.reject(reported));
          }
        }
      });
    } catch (error) {
      if (this.#target.isLockBusy(error)) {
        this.#waitForLock(batch, error);
        return;
      }
      for (const { job } of batch) job.reject(error);
      return;
    }
    this.#lockAttempts = 0;
    this.#target.committed(rows);
    for (const done of settle) done();
  }

  /**
   * Puts `batch` back at the head of the queue, answers the queued decisions whose wait is over,
   * and tries again later.
   */
  #waitForLock(batch: QueuedJob[], error: unknown): void {
    this.#pending.unshift(...batch);
    const now = this.#clock();
    let kept = 0;
    for (const queued of this.#pending) {
      const waited = now - queued.queuedAt;
      if (waited >= this.#target.lockWaitMs) queued.job.reject(this.#target.lockedTooLong(error, waited));
      else this.#pending[kept++] = queued;
    }
    this.#pending.length = kept;
    if (kept === 0 || this.#lockTimer !== null) return;
    const delay = lockRetryDelay(this.#lockAttempts);
    this.#lockAttempts += 1;
    this.#lockTimer = setTimeout(() => {
      this.#lockTimer = null;
      this.#flush();
    }, delay);
  }
}
