// Error lines for failures an outsider or a broken dependency can repeat at will (a full disk, a
// dead API): the first lines of a window are written, as examples of the causes, then the rest are
// only counted, and the count is written when the next window opens or when the failures end. So a
// failure on every request is a few lines a minute, not one per mail. Used by serve's decisions,
// the HTTP API's 500/503 answers and the bridge's API failures.

import type { LogFields, Logger } from './logger.ts';

export interface BoundedErrorLogOptions {
  /** Names the lines left out in the count line, e.g. "failed decision(s)". */
  what: string;
  linesPerWindow: number;
  windowMs: number;
  /** Milliseconds; tests pass their own. */
  clock?: () => number;
}

export interface BoundedErrorLog {
  (msg: string, fields?: LogFields): void;
  /** The failures have ended: writes the count of lines left out, if any, and starts afresh. */
  settle(): void;
}

export function createBoundedErrorLog(logger: Logger, opts: BoundedErrorLogOptions): BoundedErrorLog {
  const clock = opts.clock ?? Date.now;
  let windowStart = -Infinity;
  let lines = 0;
  let suppressed = 0;
  const writeCount = (): void => {
    if (suppressed > 0) {
      logger.error(`${suppressed} more ${opts.what} were not logged (at most ${opts.linesPerWindow} lines per ${opts.windowMs / 1000} s)`, {
        suppressed,
      });
    }
    suppressed = 0;
  };
  const log = (msg: string, fields?: LogFields): void => {
    const now = clock();
    if (now - windowStart >= opts.windowMs) {
      writeCount();
      windowStart = now;
      lines = 0;
    }
    if (lines >= opts.linesPerWindow) {
      suppressed += 1;
      return;
    }
    lines += 1;
    logger.error(msg, fields);
  };
  return Object.assign(log, { settle: writeCount });
}
