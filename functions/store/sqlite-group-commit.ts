// Group commit for the SQLite store's decisions: the decisions that arrive in the same turn of the
// event loop (many Postfix connections at once) share one write transaction and so one fsync, each
// isolated from the others, so one that fails writes nothing and fails alone. Every decision is
// answered only after the COMMIT, so no answer is ever sent for a decision that could still be lost.

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
}

/** Bounds one transaction's lock time; larger bursts are split over several turns of the loop. */
export const MAX_BATCH = 256;

export class GroupCommit {
  readonly #target: GroupCommitTarget;
  readonly #pending: CommitJob[] = [];
  #flushScheduled = false;

  constructor(target: GroupCommitTarget) {
    this.#target = target;
  }

  /** Queues `job` for the batch committed on the next turn of the event loop. */
  add(job: CommitJob): void {
    this.#pending.push(job);
    this.#scheduleFlush();
  }

  /** Commits and answers everything queued, now (on close: queued decisions are not dropped). */
  drain(): void {
    while (this.#pending.length > 0) this.#flush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#pending.splice(0, MAX_BATCH);
    if (this.#pending.length > 0) this.#scheduleFlush();
    const settle: Array<() => void> = [];
    let rows = 0;
    try {
      this.#target.writeTransaction(() => {
        for (const job of batch) {
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
      for (const job of batch) job.reject(error);
      return;
    }
    this.#target.committed(rows);
    for (const done of settle) done();
  }
}
