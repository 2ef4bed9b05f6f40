// The statistics in both stores: counters added by several writers sum, a period reads back by
// hour, old buckets are forgotten, and the SQLite purge counts the triplets it deletes that never
// passed. Real SQLite files and dynalite on loopback.

import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamoDbStore } from '../../functions/store/dynamodb-store.ts';
import { createTable } from '../../functions/store/dynamodb-table.ts';
import { openSqliteStore } from '../../functions/store/sqlite-store.ts';
import type { GreylistStore } from '../../functions/store/store-port.ts';
import { statsPk } from '../../functions/stats/dynamodb-stats.ts';
import { COHORT_NEVER_PASSED, HOUR_SECONDS, hourOf, mergeHours, StatsAccumulator } from '../../functions/stats/stats-model.ts';
import type { HasStatistics, StatisticsStore } from '../../functions/stats/stats-port.ts';
import { startStatistics } from '../../functions/stats/stats-recorder.ts';
import { startDynalite, type RunningDynalite } from '../support/dynalite.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const NOW = 1_700_000_000;
const H = hourOf(NOW);
const DAY = 86_400;

let dynalite: RunningDynalite;
let dir: TempDir;
let tables = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
  dir = await makeTempDir('greygate-stats-');
});
afterAll(async () => {
  await dynalite.stop();
  await dir.cleanup();
});

type Opened = GreylistStore & HasStatistics;

const backends: Array<[string, () => Promise<Opened>]> = [
  ['sqlite', async () => openSqliteStore({ dbdir: `${dir.path}/db${(tables += 1)}`, checkpointWorker: false, statisticsDelaySeconds: 300 })],
  [
    'dynamodb',
    async () => {
      const client = dynalite.client();
      const tableName = `stats-${(tables += 1)}`;
      await createTable(client, tableName);
      return createDynamoDbStore({ client, tableName, retryWindowSeconds: 2 * DAY, maxAgeSeconds: 35 * DAY, delaySeconds: 300 });
    },
  ],
];

describe.each(backends)('statistics in the %s store', (kind, open) => {
  it('adds what two writers flush into the same hour buckets, and reads a period back by hour', async () => {
    const store = await open();
    const stats = store.statistics();
    await stats.addStatistics([{ hour: H, counters: { 'd.greylist.new': 3, 'w.300': 1 } }], { now: NOW, retentionSeconds: 400 * DAY });
    // A second writer: another serve on the same table or file.
    const other = store.statistics();
    await other.addStatistics(
      [
        { hour: H, counters: { 'd.greylist.new': 2, 'd.pass.triplet-found': 4 } },
        { hour: H + HOUR_SECONDS, counters: { 'd.pass.client-whitelist': 7 } },
      ],
      { now: NOW, retentionSeconds: 400 * DAY },
    );
    const read = await stats.readStatistics(H - DAY, H + DAY);
    expect(read).toEqual([
      { hour: H, counters: { 'd.greylist.new': 5, 'w.300': 1, 'd.pass.triplet-found': 4 } },
      { hour: H + HOUR_SECONDS, counters: { 'd.pass.client-whitelist': 7 } },
    ]);
    expect(await stats.readStatistics(H + HOUR_SECONDS, H + HOUR_SECONDS)).toHaveLength(1);
    expect(await stats.readStatistics(H - DAY, H - HOUR_SECONDS)).toEqual([]);
    await store.close();
  });

  it('forgets buckets older than the retention', async () => {
    const store = await open();
    const stats = store.statistics();
    const old = H - 10 * DAY;
    await stats.addStatistics([{ hour: old, counters: { 'd.greylist.new': 1 } }], { now: old + 60, retentionSeconds: 5 * DAY });
    await stats.addStatistics([{ hour: H, counters: { 'd.greylist.new': 1 } }], { now: NOW, retentionSeconds: 5 * DAY });
    if (kind === 'sqlite') {
      expect((await stats.readStatistics(old - DAY, H)).map((b) => b.hour)).toEqual([H]);
    } else {
      // DynamoDB's TTL forgets it: the bucket carries its end of retention (dynalite deletes nothing).
      const doc = DynamoDBDocumentClient.from(dynalite.client());
      const item = await doc.send(new GetCommand({ TableName: `stats-${tables}`, Key: { pk: statsPk(old) } }));
      expect(item.Item?.expires_at).toBe(old + HOUR_SECONDS + 5 * DAY);
    }
    await store.close();
  });

  it('sums two recorders that flush concurrently, many times over', async () => {
    const store = await open();
    let now = NOW * 1000;
    const logger = { warn: () => {}, info: () => {} };
    const recorders = [0, 1].map(() => startStatistics(store.statistics(), { retentionDays: 400, flushSeconds: 3600, clock: () => now, logger, timer: false }));
    for (let round = 0; round < 5; round += 1) {
      for (const r of recorders) {
        r.record({ verdict: 'greylist', reason: 'new' });
        r.record({ verdict: 'pass', reason: 'triplet-found', delayedSeconds: 400 });
      }
      await Promise.all(recorders.map((r) => r.flush()));
      now += 1000;
    }
    await Promise.all(recorders.map((r) => r.stop()));
    const [bucket] = await store.statistics().readStatistics(H, H);
    expect(bucket?.counters).toEqual({ 'd.greylist.new': 10, 'd.pass.triplet-found': 10, 'w.600': 10, 'cohort.passed': 10 });
    await store.close();
  });

  it('lists the pending triplets: live and not passed', async () => {
    const store = await open();
    const write = (key: string, first: number, last: number, expires: number) =>
      store.runDecision({ triplet: key, client: null }, last, () => ({ writes: { triplet: { firstSeen: first, lastSeen: last, expiresAt: expires } } }));
    await write('192.0.2/a@x.example/b@y.example', NOW - 100, NOW - 100, NOW + DAY);
    await write('192.0.2/c@x.example/b@y.example', NOW - 1000, NOW - 10, NOW + DAY);
    await write('198.51.100/a@x.example/b@y.example', NOW - 3 * DAY, NOW - 3 * DAY, NOW - DAY);
    const pending = await store.statistics().pendingTriplets(NOW, 300);
    expect(pending).toEqual([{ key: '192.0.2/a@x.example/b@y.example', firstSeen: NOW - 100, lastSeen: NOW - 100 }]);
    await store.close();
  });
});

describe('the SQLite purge', () => {
  it('counts the triplets it deletes that never passed, by the hour they were first seen, in its own transaction', async () => {
    const store = openSqliteStore({ dbdir: `${dir.path}/purge`, checkpointWorker: false, statisticsDelaySeconds: 300 });
    const first = NOW - 3 * DAY;
    const write = (key: string, f: number, l: number, e: number) =>
      store.runDecision({ triplet: key, client: null }, l, () => ({ writes: { triplet: { firstSeen: f, lastSeen: l, expiresAt: e } } }));
    // Two that never passed (one retried early), one that passed, one never-passed still live.
    await write('192.0.2/a@x.example/r@y.example', first, first, first + 2 * DAY);
    await write('192.0.2/b@x.example/r@y.example', first, first + 100, first + 100 + 2 * DAY);
    await write('192.0.2/c@x.example/r@y.example', first, first + 600, first + 600 + DAY);
    await write('192.0.2/d@x.example/r@y.example', NOW - 10, NOW - 10, NOW + 2 * DAY);
    expect(await store.purgeExpired(NOW, 100)).toBe(3);
    const stats = await store.statistics().readStatistics(first - DAY, NOW);
    expect(stats).toEqual([{ hour: hourOf(first), counters: { [COHORT_NEVER_PASSED]: 2 } }]);
    // A second purge deletes nothing more and counts nothing twice.
    expect(await store.purgeExpired(NOW + 1, 100)).toBe(0);
    expect(await store.statistics().readStatistics(first - DAY, NOW)).toEqual(stats);
    await store.close();
  });
});

describe('the accumulator', () => {
  it('buckets passes by the hour they passed and by the hour of first sighting', () => {
    const acc = new StatsAccumulator();
    acc.recordDecision({ verdict: 'pass', reason: 'triplet-found', delayedSeconds: 2 * HOUR_SECONDS }, H + 10);
    acc.recordDecision({ verdict: 'pass', reason: 'triplet-found', delayedSeconds: 100_000_000 }, H + 10);
    expect(mergeHours([acc.take()])).toEqual([
      { hour: hourOf(H + 10 - 100_000_000), counters: { 'cohort.passed': 1 } },
      { hour: H - 2 * HOUR_SECONDS, counters: { 'cohort.passed': 1 } },
      { hour: H, counters: { 'd.pass.triplet-found': 2, 'w.7200': 1, 'w.inf': 1 } },
    ]);
    expect(acc.empty).toBe(true);
  });

  it('keeps a refused flush for the next one', async () => {
    let fail = true;
    const added: unknown[] = [];
    const warnings: string[] = [];
    const store: StatisticsStore = {
      countsNeverPassed: false,
      addStatistics: async (hours) => {
        if (fail) throw new Error('table unreachable');
        added.push(...hours);
      },
      readStatistics: async () => [],
      pendingTriplets: async () => [],
    };
    const r = startStatistics(store, { retentionDays: 1, flushSeconds: 60, clock: () => NOW * 1000, logger: { warn: (m) => warnings.push(m), info: () => {} }, timer: false });
    r.record({ verdict: 'greylist', reason: 'new' });
    await r.flush();
    r.record({ verdict: 'greylist', reason: 'new' });
    await r.flush();
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/could not store the statistics.*table unreachable/);
    fail = false;
    await r.stop();
    expect(added).toEqual([{ hour: H, counters: { 'd.greylist.new': 2 } }]);
  });
});
