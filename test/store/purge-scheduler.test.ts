// The purger against a real SQLite store: what an admin sees (expired records go, live ones stay,
// one log line per run, failures logged and retried) and that answers are not held up meanwhile.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startPurger } from '../../functions/store/purge-scheduler.ts';
import type { PurgeLogger, Purger } from '../../functions/store/purge-scheduler.ts';
import { openSqliteStore } from '../../functions/store/sqlite-store.ts';
import type { SqliteStore } from '../../functions/store/sqlite-store.ts';
import { StoreUnavailableError } from '../../functions/store/store-port.ts';
import type { GreylistStore } from '../../functions/store/store-port.ts';
import { makeTempDir } from '../support/temp-dir.ts';
import type { TempDir } from '../support/temp-dir.ts';

const NOW = 1_700_000_000;
const HOUR_MS = 3_600_000;

interface LogLine {
  level: 'info' | 'warn';
  msg: string;
  fields?: Record<string, unknown>;
}

const recordingLogger = (): PurgeLogger & { lines: LogLine[] } => {
  const lines: LogLine[] = [];
  return {
    lines,
    info: (msg, fields) => lines.push({ level: 'info', msg, fields }),
    warn: (msg, fields) => lines.push({ level: 'warn', msg, fields }),
  };
};

/** The real store, with each call noted, and purgeExpired failing `failures` times first. */
const instrumented = (store: GreylistStore, calls: string[], failures = 0): GreylistStore => {
  let failuresLeft = failures;
  return {
    runDecision: (keys, now, decide) => {
      calls.push('decision');
      return store.runDecision(keys, now, decide);
    },
    peek: (keys, now) => store.peek(keys, now),
    purgeExpired: async (now, limit) => {
      calls.push('purge');
      if (failuresLeft > 0) {
        failuresLeft -= 1;
        throw new StoreUnavailableError('database is locked (injected)');
      }
      return store.purgeExpired(now, limit);
    },
    countRecords: (now) => store.countRecords(now),
    ping: () => store.ping(),
    close: () => store.close(),
  };
};

describe('purge scheduler', () => {
  let tmp: TempDir;
  let store: SqliteStore;
  let purger: Purger | undefined;

  beforeEach(async () => {
    tmp = await makeTempDir('greygate-purge-');
    store = openSqliteStore({ dbdir: tmp.path });
    purger = undefined;
  });

  afterEach(async () => {
    await purger?.stop();
    await store.close();
    await tmp.cleanup();
  });

  /** `expired` triplets and clients that expire at NOW, and `live` ones that expire later. */
  const seed = async (expired: number, live: number): Promise<void> => {
    for (let i = 0; i < expired + live; i += 1) {
      const expiresAt = i < expired ? NOW : NOW + 3600;
      await store.runDecision({ triplet: `t/${i}`, client: `c/${i}` }, NOW - 60, () => ({
        writes: {
          triplet: { firstSeen: NOW - 60, lastSeen: NOW - 60, expiresAt },
          client: { count: 1, lastSeen: NOW - 60, expiresAt },
        },
      }));
    }
  };

  it('deletes every expired record in small batches, keeps live ones, and logs one line', async () => {
    // Prepare
    await seed(5, 2);
    const calls: string[] = [];
    const logger = recordingLogger();
    purger = startPurger(instrumented(store, calls), { clock: () => NOW, batchSize: 3, intervalMs: HOUR_MS, logger });

    // Act
    const deleted = await purger.runOnce();

    // Assess
    expect(deleted).toBe(10);
    expect(calls.filter((call) => call === 'purge').length).toBe(4); // 3 + 3 + 3 + 1
    // At a time when the purged records would still be live, only the live ones are left.
    expect(await store.countRecords(NOW - 1)).toEqual({ triplets: 2, clients: 2 });
    expect(logger.lines).toEqual([
      { level: 'info', msg: 'purged expired records', fields: { deleted: 10, liveTriplets: 2, liveClients: 2 } },
    ]);
  });

  it('logs nothing when nothing has expired', async () => {
    // Prepare
    await seed(0, 2);
    const logger = recordingLogger();
    purger = startPurger(store, { clock: () => NOW, intervalMs: HOUR_MS, logger });

    // Act
    const deleted = await purger.runOnce();

    // Assess
    expect(deleted).toBe(0);
    expect(logger.lines).toEqual([]);
  });

  it('lets decisions run between its batches', async () => {
    // Prepare
    await seed(10, 0);
    const calls: string[] = [];
    const observed = instrumented(store, calls);
    purger = startPurger(observed, { clock: () => NOW, batchSize: 2, intervalMs: HOUR_MS });
    let purging = true;

    // Act
    const purge = purger.runOnce().finally(() => {
      purging = false;
    });
    const traffic = (async () => {
      while (purging) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        await observed.runDecision({ triplet: 't/traffic', client: null }, NOW, () => ({ writes: {} }));
      }
    })();
    await Promise.all([purge, traffic]);

    // Assess: a decision came before the purge's last batch, not only after the whole purge.
    expect(calls.indexOf('decision')).toBeGreaterThan(-1);
    expect(calls.indexOf('decision')).toBeLessThan(calls.lastIndexOf('purge'));
  });

  it('logs a store failure instead of throwing, and the next run purges', async () => {
    // Prepare
    await seed(3, 0);
    const logger = recordingLogger();
    purger = startPurger(instrumented(store, [], 1), { clock: () => NOW, intervalMs: HOUR_MS, logger });

    // Act
    const failedRun = await purger.runOnce();
    const nextRun = await purger.runOnce();

    // Assess
    expect(failedRun).toBe(0);
    expect(nextRun).toBe(6);
    expect(logger.lines[0]).toMatchObject({
      level: 'warn',
      fields: { deleted: 0, code: 'store-unavailable', error: 'database is locked (injected)' },
    });
    expect(logger.lines[1]).toMatchObject({ level: 'info', fields: { deleted: 6 } });
  });

  it('runs by itself every interval and stops running once stopped', async () => {
    // Prepare
    await seed(2, 0);
    const calls: string[] = [];
    const logger = recordingLogger();

    // Act
    purger = startPurger(instrumented(store, calls), { clock: () => NOW, intervalMs: 10, logger });
    await vi.waitFor(() => expect(calls.filter((call) => call === 'purge').length).toBeGreaterThanOrEqual(2), {
      timeout: 5000,
      interval: 10,
    });
    await purger.stop();
    const callsAtStop = calls.length;
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Assess
    expect(logger.lines[0]).toMatchObject({ level: 'info', fields: { deleted: 4 } });
    expect(calls.length).toBe(callsAtStop);
    expect(await purger.runOnce()).toBe(0);
  });

  it('refuses a batch size that is not a positive integer', () => {
    // Prepare
    const options = { clock: () => NOW, batchSize: 0 };

    // Act
    const start = () => startPurger(store, options);

    // Assess
    expect(start).toThrow(RangeError);
  });
});
