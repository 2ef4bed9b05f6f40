// Error lines for failed decisions, at a bounded rate. A store that fails every decision (full
// disk, corrupt file) must not turn every mail into a log line: the state change itself is logged
// once by store-health.ts, and these lines are examples of the causes, at most LINES_PER_WINDOW per
// WINDOW_MS, then one line counting what was left out.

import type { LogFields, Logger } from '../../policy/logger.ts';

export const LINES_PER_WINDOW = 10;
export const WINDOW_MS = 60_000;

export type FailureLog = (msg: string, fields?: LogFields) => void;

/** `what` names the lines left out in the count line, e.g. "failed decision(s)". */
export function createFailureLog(logger: Logger, what: string, clock: () => number = Date.now): FailureLog {
  let windowStart = -Infinity;
  let lines = 0;
  let suppressed = 0;
  return (msg, fields) => {
    const now = clock();
    if (now - windowStart >= WINDOW_MS) {
      if (suppressed > 0) {
        logger.error(`${suppressed} more ${what} were not logged (at most ${LINES_PER_WINDOW} lines per ${WINDOW_MS / 1000} s)`, {
          suppressed,
        });
      }
      windowStart = now;
      lines = 0;
      suppressed = 0;
    }
    if (lines >= LINES_PER_WINDOW) {
      suppressed += 1;
      return;
    }
    lines += 1;
    logger.error(msg, fields);
  };
}
