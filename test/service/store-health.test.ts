// The store health tracker behind /healthz, on a clock the test moves: it turns unhealthy when
// most recent decisions could not be stored, ignores a stray failure, holds its state without
// evidence, recovers after a run of stored decisions, and says each change once in the log.

import { describe, expect, it } from 'vitest';
import { createStoreHealth, RECOVERY_SUCCESSES, WINDOW_MS } from '../../functions/service/store-health.ts';
import { StoreUnavailableError } from '../../functions/store/store-port.ts';
import { RecordingLogger } from '../support/serve-harness.ts';

const FULL = new StoreUnavailableError('the database /var/lib/greygate/greygate.sqlite could not be written (SQLITE_FULL)');

function tracker(): { health: ReturnType<typeof createStoreHealth>; logger: RecordingLogger; advance(ms: number): void } {
  const logger = new RecordingLogger();
  let now = 1_800_000_000_000;
  const health = createStoreHealth({ logger, clock: () => now });
  return { health, logger, advance: (ms) => (now += ms) };
}

function repeat(times: number, act: () => void): void {
  for (let i = 0; i < times; i += 1) act();
}

describe('store health', () => {
  it('is healthy before any decision and while decisions are stored', () => {
    // Prepare
    const t = tracker();

    // Act
    const before = t.health.healthy();
    repeat(100, () => t.health.succeeded());

    // Assess
    expect(before).toBe(true);
    expect(t.health.healthy()).toBe(true);
    expect(t.logger.lines).toEqual([]);
  });

  it('turns unhealthy once most recent decisions fail, logging it once however many fail', () => {
    // Prepare
    const t = tracker();
    repeat(10, () => t.health.succeeded());

    // Act: the disk fills up; every decision fails from then on
    const states: boolean[] = [];
    repeat(1000, () => {
      t.advance(10);
      t.health.failed(FULL);
      states.push(t.health.healthy());
    });

    // Assess: 20 recent decisions, 10 of them failed: half
    expect(states.indexOf(false)).toBe(9);
    expect(states.slice(9).every((s) => !s)).toBe(true);
    expect(t.logger.lines).toEqual([
      {
        level: 'error',
        msg:
          'store: decisions cannot be stored (10 of the last 20 failed, the last with: the database /var/lib/greygate/greygate.sqlite ' +
          'could not be written (SQLITE_FULL)); decisions fail open until they can (policy DUNNO, HTTP 503 or 500), and /healthz answers 503',
        fields: { event: 'store-health', healthy: false, failed: 10, decisions: 20, code: 'store-unavailable' },
      },
    ]);
  });

  it('stays healthy through failures now and then among stored decisions', () => {
    // Prepare
    const t = tracker();

    // Act: one decision in four fails, for a long time
    for (let i = 0; i < 2000; i += 1) {
      t.advance(50);
      if (i % 4 === 3) t.health.failed(FULL);
      else t.health.succeeded();
    }

    // Assess
    expect(t.health.healthy()).toBe(true);
    expect(t.logger.lines).toEqual([]);
  });

  it('does not count a stray failure, nor failures hours apart on a quiet host', () => {
    // Prepare
    const t = tracker();

    // Act: a first failing decision after start, then one an hour for three hours
    t.health.failed(FULL);
    const afterOne = t.health.healthy();
    repeat(3, () => {
      t.advance(WINDOW_MS * 4);
      t.health.failed(FULL);
    });

    // Assess
    expect(afterOne).toBe(true);
    expect(t.health.healthy()).toBe(true);
    expect(t.logger.lines).toEqual([]);
  });

  it('turns unhealthy on a quiet host whose few decisions all fail', () => {
    // Prepare
    const t = tracker();

    // Act: a decision every two minutes, each failing
    repeat(3, () => {
      t.advance(120_000);
      t.health.failed(FULL);
    });

    // Assess
    expect(t.health.healthy()).toBe(false);
    expect(t.logger.messages('error')).toHaveLength(1);
  });

  it('keeps its state while no decision comes, and recovers after a run of stored ones, logging it once', () => {
    // Prepare: down
    const t = tracker();
    repeat(50, () => t.health.failed(FULL));

    // Act
    t.advance(WINDOW_MS * 10);
    const afterSilence = t.health.healthy();
    const during: boolean[] = [];
    repeat(RECOVERY_SUCCESSES - 1, () => {
      t.health.succeeded();
      during.push(t.health.healthy());
    });
    t.health.failed(FULL);
    repeat(RECOVERY_SUCCESSES, () => t.health.succeeded());
    const recovered = t.health.healthy();
    repeat(100, () => t.health.succeeded());

    // Assess: a failure in the run starts it over; 50 + 1 failed since the change
    expect(afterSilence).toBe(false);
    expect(during).toEqual(Array(RECOVERY_SUCCESSES - 1).fill(false));
    expect(recovered).toBe(true);
    expect(t.logger.lines.slice(1)).toEqual([
      {
        level: 'info',
        msg: `store: decisions are stored again (${RECOVERY_SUCCESSES} in a row) after 51 failed; /healthz answers 200`,
        fields: { event: 'store-health', healthy: true, failed: 51 },
      },
    ]);
  });

  it('after recovering, needs the failures to add up again before it turns unhealthy', () => {
    // Prepare: down, then up
    const t = tracker();
    repeat(20, () => t.health.failed(FULL));
    repeat(RECOVERY_SUCCESSES, () => t.health.succeeded());

    // Act: the recent decisions started afresh from the 5 stored ones
    const states: boolean[] = [];
    repeat(5, () => {
      t.health.failed(FULL);
      states.push(t.health.healthy());
    });

    // Assess: 5 failed of 10 is half
    expect(states).toEqual([true, true, true, true, false]);
    expect(t.logger.messages()).toHaveLength(3);
  });
});
