// Whether the decisions that needed the store could be stored lately: what `/healthz` reports
// besides the store's ping. A read-only ping still answers with the disk full or the tables
// corrupt, while every decision fails and greylisting is silently off; the decisions' own outcomes
// are the evidence that counts.
//
// The state changes only on evidence, and is logged once per change:
// - unhealthy once at least half of the recent decisions failed, and at least MIN_FAILURES of
//   them (so that one failure among a few decisions does not trip it);
// - healthy again once RECOVERY_SUCCESSES decisions in a row were stored (a store failing only now
//   and then must not flap between the two). The recent outcomes then start afresh from that run.
// "Recent" is the last WINDOW_DECISIONS decisions, none older than WINDOW_MS: a host with little
// mail must not add up failures that lie hours apart.
//
// One tracker per process (per container on Lambda): it describes the store as this process sees it.

import type { Logger } from '../../policy/logger.ts';

export const WINDOW_DECISIONS = 20;
export const WINDOW_MS = 15 * 60_000;
export const MIN_FAILURES = 3;
export const RECOVERY_SUCCESSES = 5;

export interface StoreHealth {
  /** A decision was stored. */
  succeeded(): void;
  /** A decision could not be stored; `error` is what the store threw. */
  failed(error: unknown): void;
  /** False while recent decisions could not be stored. */
  healthy(): boolean;
}

export interface StoreHealthOptions {
  logger: Logger;
  /** Milliseconds; default Date.now. */
  clock?: () => number;
}

export function createStoreHealth(options: StoreHealthOptions): StoreHealth {
  const { logger } = options;
  const clock = options.clock ?? Date.now;
  // Outcomes of the last WINDOW_DECISIONS decisions in a ring, written in place: this runs on every
  // decision, so it allocates nothing. A slot's time is -Infinity while it holds no outcome.
  const at = new Float64Array(WINDOW_DECISIONS).fill(-Infinity);
  const ok = new Uint8Array(WINDOW_DECISIONS);
  let next = 0;
  let healthy = true;
  let storedInRow = 0;
  // Failures since the state turned unhealthy, for the recovery line.
  let failedSinceDown = 0;

  const record = (stored: boolean): void => {
    at[next] = clock();
    ok[next] = stored ? 1 : 0;
    next = (next + 1) % WINDOW_DECISIONS;
    storedInRow = stored ? storedInRow + 1 : 0;
  };
  /** The recent outcomes (none older than WINDOW_MS) and the failures among them. */
  const tally = (): { decisions: number; failures: number } => {
    const now = clock();
    let decisions = 0;
    let failures = 0;
    for (let i = 0; i < WINDOW_DECISIONS; i++) {
      if (now - (at[i] as number) >= WINDOW_MS) continue;
      decisions += 1;
      if (ok[i] === 0) failures += 1;
    }
    return { decisions, failures };
  };
  /** Forgets all but the last `keep` outcomes: after a recovery, the recent outcomes start from that run. */
  const keepLast = (keep: number): void => {
    for (let back = keep + 1; back <= WINDOW_DECISIONS; back++) at[(next - back + WINDOW_DECISIONS) % WINDOW_DECISIONS] = -Infinity;
  };

  return {
    succeeded() {
      record(true);
      if (healthy || storedInRow < RECOVERY_SUCCESSES) return;
      healthy = true;
      keepLast(RECOVERY_SUCCESSES);
      logger.info(
        `store: decisions are stored again (${RECOVERY_SUCCESSES} in a row) after ${failedSinceDown} failed; /healthz answers 200`,
        { event: 'store-health', healthy: true, failed: failedSinceDown },
      );
      failedSinceDown = 0;
    },
    failed(error) {
      record(false);
      if (!healthy) {
        failedSinceDown += 1;
        return;
      }
      const { decisions, failures } = tally();
      if (failures < MIN_FAILURES || failures * 2 < decisions) return;
      healthy = false;
      failedSinceDown = failures;
      const code = (error as { code?: unknown } | null)?.code;
      const cause = error instanceof Error ? error.message : String(error);
      logger.error(
        `store: decisions cannot be stored (${failures} of the last ${decisions} failed, the last with: ${cause}); ` +
          'decisions fail open until they can (policy DUNNO, HTTP 503 or 500), and /healthz answers 503',
        { event: 'store-health', healthy: false, failed: failures, decisions, code: typeof code === 'string' ? code : 'internal' },
      );
    },
    healthy: () => healthy,
  };
}
