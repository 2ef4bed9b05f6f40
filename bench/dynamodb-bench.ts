// `npm run bench`, DynamoDB section: decisions through the real Hono app (`app.request`, no
// sockets) with the DynamoDB adapter on dynalite (loopback, in memory, in its own process as
// DynamoDB is another machine).
//
// (a) Throughput and latency with no injected delay, against the SQLite adapter behind the same
//     app in the same run (the baseline): dynalite's own cost shows as the ratio.
// (b) A fixed 20 ms in front of every DynamoDB request, standing in for the network between a
//     Lambda and DynamoDB: a decision's latency then counts its sequential round trips. Per path,
//     p50 against the 1.3 × 20 ms target (one round trip), and DynamoDB writes and round trips per
//     decision from the adapter's counters. The baseline is one bare GetItem through the same
//     delayed client: the cost of exactly one round trip on this machine.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import type { Hono } from 'hono';
import { silentLogger } from '../bridge/logger.ts';
import { DEFAULT_POLICY_CONFIG, EMPTY_WHITELISTS, type PolicyConfig } from '../functions/core/index.ts';
import { createDecisionService } from '../functions/decision-service.ts';
import { createApp } from '../functions/http/app.ts';
import { createDynamoDbStore, type DynamoDbStore, type DynamoDbStoreStats } from '../functions/store/dynamodb-store.ts';
import { createTable } from '../functions/store/dynamodb-table.ts';
import { openSqliteStore } from '../functions/store/sqlite-store.ts';
import type { GreylistStore } from '../functions/store/store-port.ts';
import { startDynalite, type RunningDynalite } from '../test/support/dynalite.ts';
import { addFixedDelay } from '../test/support/slow-dynamodb.ts';

const DELAY_MS = 20;
const TARGET_MS = 1.3 * DELAY_MS;
const T0 = 1_767_225_600; // 2026-01-01, decision clock of part (b)
const CONFIG: PolicyConfig = { ...DEFAULT_POLICY_CONFIG };

interface Body {
  client_address: string;
  sender: string;
  recipient: string;
}

/** The app as the Lambda builds it, on `store`, with a decision clock the bench can move. */
function appOn(store: GreylistStore, clock: () => number): Hono {
  const service = createDecisionService({ store, config: CONFIG, whitelists: () => EMPTY_WHITELISTS, clock });
  return createApp({ service, logger: silentLogger, ping: () => store.ping() });
}

async function post(app: Hono, body: Body): Promise<{ reason: string; ms: number }> {
  const started = performance.now();
  const res = await app.request('/v1/check', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const ms = performance.now() - started;
  const answer = (await res.json()) as { reason?: string; error?: { message: string } };
  if (res.status !== 200 || answer.reason === undefined) {
    throw new Error(`the app answered ${res.status}: ${JSON.stringify(answer)}`);
  }
  return { reason: answer.reason, ms };
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? NaN : (sorted[Math.min(sorted.length - 1, Math.floor(p * (sorted.length - 1)))] ?? NaN);
}

const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');

// --- (a) -----------------------------------------------------------------------------------------

interface LoadResult {
  decisions: number;
  /** Decisions per second. */
  rps: number;
  p50: number;
  p99: number;
}

/** Half new triplets, half repeats of a recent one, `concurrency` requests in flight, for `seconds`. */
async function runLoad(app: Hono, concurrency: number, seconds: number, run: number): Promise<LoadResult> {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const n = next++;
      // Every other request retries the triplet the request before it sent.
      const triplet = n - (n % 2);
      const { ms } = await post(app, {
        client_address: `10.${run}.${(triplet >> 8) & 255}.${triplet & 255}`,
        sender: `sender${triplet}@example.net`,
        recipient: `rcpt${triplet}@example.org`,
      });
      latencies.push(ms);
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return { decisions: latencies.length, rps: latencies.length / elapsed, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

async function throughputPart(dynalite: RunningDynalite, seconds: number): Promise<void> {
  console.log(
    `\n(a) no injected delay, ${seconds}s per run, half new triplets / half repeats. The dynamodb rows measure ` +
      'dynalite (one JavaScript process answering one request at a time), not DynamoDB.',
  );
  const dir = await mkdtemp(join(tmpdir(), 'greygate-dynamodb-bench-'));
  const sqlite = openSqliteStore({ dbdir: dir });
  await createTable(dynalite.client(), 'bench-throughput');
  const dynamo = newStore(dynalite.client(), 'bench-throughput');
  const realClock = () => Date.now();
  const targets: Array<[string, Hono, DynamoDbStore | null]> = [
    ['sqlite', appOn(sqlite, realClock), null],
    ['dynamodb', appOn(dynamo, realClock), dynamo],
  ];
  const results = new Map<string, LoadResult>();
  let run = 0;
  try {
    console.log('store       conc   decisions/s   p50 ms   p99 ms   DynamoDB writes, reads, round trips per decision');
    for (const concurrency of [1, 16]) {
      for (const [name, app, counted] of targets) {
        run += 1;
        const before = counted?.stats();
        const r = await runLoad(app, concurrency, seconds, run);
        results.set(`${name}/${concurrency}`, r);
        let cost = '';
        if (counted && before) {
          const d = diff(counted.stats(), before);
          const n = r.decisions;
          cost = `${fmt(d.writes / n, 2)}, ${fmt(d.reads / n, 2)}, ${fmt(d.roundTrips / n, 2)}`;
        }
        console.log(
          `${name.padEnd(10)} ${String(concurrency).padStart(5)} ${fmt(r.rps, 0).padStart(13)} ${fmt(r.p50, 2).padStart(8)} ${fmt(r.p99, 2).padStart(8)}   ${cost}`,
        );
      }
    }
    for (const concurrency of [1, 16]) {
      const d = results.get(`dynamodb/${concurrency}`);
      const s = results.get(`sqlite/${concurrency}`);
      if (d && s) console.log(`ratio dynamodb / sqlite at ${concurrency} in flight: ${fmt(d.rps / s.rps, 2)}x throughput`);
    }
  } finally {
    await sqlite.close();
    await rm(dir, { recursive: true, force: true });
  }
}

// --- (b) -----------------------------------------------------------------------------------------

interface PathResult {
  name: string;
  latencies: number[];
  cost: DynamoDbStoreStats;
  reasons: Set<string>;
  common: boolean;
}

function newStore(client: DynamoDBClient, tableName: string): DynamoDbStore {
  return createDynamoDbStore({
    client,
    tableName,
    retryWindowSeconds: CONFIG.retryWindowSeconds,
    maxAgeSeconds: CONFIG.maxAgeDays * 86_400,
    delaySeconds: CONFIG.delaySeconds,
  });
}

function diff(after: DynamoDbStoreStats, before: DynamoDbStoreStats): DynamoDbStoreStats {
  return { writes: after.writes - before.writes, reads: after.reads - before.reads, roundTrips: after.roundTrips - before.roundTrips };
}

async function delayedPart(dynalite: RunningDynalite, seconds: number): Promise<void> {
  const table = 'bench-delayed';
  await createTable(dynalite.client(), table);
  let nowSeconds = T0;
  const clock = () => nowSeconds * 1000;
  // States are prepared through a store without the delay; only the measured requests pay it.
  const setupApp = appOn(newStore(dynalite.client(), table), clock);
  const delayedClient = dynalite.client();
  addFixedDelay(delayedClient, DELAY_MS);
  const measuredStore = newStore(delayedClient, table);
  const measuredApp = appOn(measuredStore, clock);

  const perPath = Math.max(30, Math.round((seconds * 1000) / 4 / 30));
  const results: PathResult[] = [];
  let serial = 0;
  const body = (client: string, tag: string): Body => {
    serial += 1;
    return { client_address: client, sender: `${tag}${serial}@example.net`, recipient: `rcpt${serial}@example.org` };
  };
  const measure = async (name: string, common: boolean, bodies: Body[], at: number): Promise<void> => {
    nowSeconds = at;
    const before = measuredStore.stats();
    const latencies: number[] = [];
    const reasons = new Set<string>();
    for (const b of bodies) {
      const { ms, reason } = await post(measuredApp, b);
      latencies.push(ms);
      reasons.add(reason);
    }
    const total = diff(measuredStore.stats(), before);
    const n = bodies.length;
    results.push({
      name,
      common,
      latencies: latencies.sort((a, b) => a - b),
      cost: { writes: total.writes / n, reads: total.reads / n, roundTrips: total.roundTrips / n },
      reasons,
    });
  };
  const prepare = async (bodies: Body[], at: number): Promise<void> => {
    nowSeconds = at;
    for (const b of bodies) await post(setupApp, b);
  };

  // The baseline: one round trip shaped like a decision's (an UpdateItem and a GetItem sent
  // together) through the delayed client, without the app or the adapter: the floor on this machine.
  const single: number[] = [];
  for (let i = 0; i < 30; i++) {
    const started = performance.now();
    await Promise.all([
      delayedClient.send(
        new UpdateItemCommand({
          TableName: table,
          Key: { pk: { S: `bench-baseline-${i}` } },
          UpdateExpression: 'SET last_seen = :now',
          ExpressionAttributeValues: { ':now': { N: String(T0) } },
          ReturnValues: 'ALL_OLD',
        }),
      ),
      delayedClient.send(new GetItemCommand({ TableName: table, Key: { pk: { S: 'bench-baseline' } }, ConsistentRead: true })),
    ]);
    single.push(performance.now() - started);
  }
  single.sort((a, b) => a - b);
  const roundTrip = percentile(single, 0.5);

  // Warm-up (not measured): connections, and the store adopting decide's lifetime for new triplets.
  await post(measuredApp, body('192.0.2.250', 'warmup'));

  const fresh = Array.from({ length: perPath }, () => body('192.0.2.10', 'new'));
  await measure('new triplet', true, fresh, T0);

  const retried = Array.from({ length: perPath }, () => body('192.0.2.11', 'retry'));
  await prepare(retried, T0);
  await measure('early retry', true, retried, T0 + 60);

  const known = Array.from({ length: perPath }, () => body('192.0.2.12', 'known'));
  await prepare(known, T0);
  await measure('first pass (rare)', false, known, T0 + 400);
  await measure('known triplet', true, known, T0 + 500);

  // An auto-whitelisted client: five counted first passes, an hour apart (postgrey.md §3).
  const awlClient = '198.51.100.20';
  for (let i = 0; i < CONFIG.autoWhitelistClients; i++) {
    const b = body(awlClient, 'seed');
    await prepare([b], T0 + i * 3_700);
    await prepare([b], T0 + i * 3_700 + 400);
  }
  const awlAt = T0 + CONFIG.autoWhitelistClients * 3_700;
  await measure('AWL client, first in this process (rare)', false, [body(awlClient, 'awl')], awlAt);
  await measure('AWL client', true, Array.from({ length: perPath }, () => body(awlClient, 'awl')), awlAt);
  await measure('AWL hourly refresh (rare)', false, [body(awlClient, 'awl')], awlAt + 3_600);

  console.log(
    `\n(b) ${DELAY_MS} ms injected before every DynamoDB request; target p50 < ${fmt(TARGET_MS)} ms (1.3 round trips). ` +
      `Baseline, one bare round trip (UpdateItem + GetItem together, no app): p50 ${fmt(roundTrip, 2)} ms`,
  );
  console.log(
    'path                                        n   p50 ms   p99 ms   p50/baseline   target   writes/dec   round trips/dec   reads/dec   reasons',
  );
  for (const r of results) {
    const p50 = percentile(r.latencies, 0.5);
    const verdict = r.common ? (p50 < TARGET_MS ? 'ok' : 'MISSED') : '(rare)';
    console.log(
      `${r.name.padEnd(42)} ${String(r.latencies.length).padStart(3)} ${fmt(p50, 2).padStart(8)} ${fmt(percentile(r.latencies, 0.99), 2).padStart(8)} ` +
        `${fmt(p50 / roundTrip, 2).padStart(14)}   ${verdict.padEnd(6)} ` +
        `${fmt(r.cost.writes, 2).padStart(10)} ${fmt(r.cost.roundTrips, 2).padStart(17)} ${fmt(r.cost.reads, 2).padStart(11)}   ${[...r.reasons].join(',')}`,
    );
  }
  const common = results.filter((r) => r.common);
  const worst = Math.max(...common.map((r) => percentile(r.latencies, 0.5)));
  console.log(
    `common paths: worst p50 ${fmt(worst, 2)} ms = ${fmt(worst / roundTrip, 2)}x the bare round trip; ` +
      `at most ${fmt(Math.max(...common.map((r) => r.cost.roundTrips)), 2)} round trip(s) and ` +
      `${fmt(Math.max(...common.map((r) => r.cost.writes)), 2)} write(s) per decision. dynalite's own time per request ` +
      '(milliseconds on a busy 2-core machine) is in every figure, the baseline included.',
  );
}

export async function dynamoDbBench(opts: { seconds: number }): Promise<void> {
  console.log('\n== DynamoDB adapter through the HTTP app (dynalite on loopback, in memory) ==');
  const dynalite = await startDynalite({ inChildProcess: true });
  try {
    await throughputPart(dynalite, opts.seconds);
    await delayedPart(dynalite, opts.seconds);
  } finally {
    await dynalite.stop();
  }
}
