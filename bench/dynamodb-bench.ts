// `npm run bench`, DynamoDB section: decisions through the real Hono app (`app.request`, no
// sockets) with the DynamoDB adapter on dynalite (loopback, in memory, in its own process as
// DynamoDB is another machine).
//
// (a) Throughput and latency with no injected delay, against the SQLite adapter behind the same
//     app in the same run (the baseline): dynalite's own cost shows as the ratio.
// (b) A fixed 20 ms in front of every DynamoDB request, standing in for the network between a
//     Lambda and DynamoDB: a decision's latency then counts its sequential round trips. Per path,
//     p50 against the 1.3 × 20 ms target (one round trip), DynamoDB writes and round trips per
//     decision from the adapter's counters, and, against the same path run without the delay in
//     the same run (the baseline), the time the delay added: round trips × 20 ms.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Hono } from 'hono';
import { silentLogger } from '../policy/logger.ts';
import { DEFAULT_POLICY_CONFIG, EMPTY_WHITELISTS, type PolicyConfig } from '../functions/core/index.ts';
import type { ParseDomain } from '../functions/core/client-identity.ts';
import { createDecisionService } from '../functions/service/decision-service.ts';
import { parseDomainWithPsl } from '../functions/service/public-suffix-list.ts';
import { createApp } from '../functions/http/app.ts';
import { createDynamoDbStore, type DynamoDbStore, type DynamoDbStoreStats } from '../functions/store/dynamodb-store.ts';
import { createTable } from '../functions/store/dynamodb-table.ts';
import { openSqliteStore } from '../functions/store/sqlite-store.ts';
import type { GreylistStore } from '../functions/store/store-port.ts';
import { startDynalite, type RunningDynalite } from '../test/support/dynalite.ts';
import { createAllowCache, type AllowEntries } from '../functions/allow/allow-cache.ts';
import { addAllowEntry } from '../functions/allow/admin-ops.ts';
import { addFixedDelay } from '../test/support/slow-dynamodb.ts';

const DELAY_MS = 20;
const TARGET_MS = 1.3 * DELAY_MS;
const T0 = 1_767_225_600; // 2026-01-01, decision clock of part (b)
const CONFIG: PolicyConfig = { ...DEFAULT_POLICY_CONFIG };
/** The recommended preset's keys and counts (docs/client-identity.md): organisation keys and whitelist. */
const ORG_CONFIG: PolicyConfig = { ...DEFAULT_POLICY_CONFIG, clientIdentity: 'org', autoWhitelistOrgs: 5 };

interface Body {
  client_address: string;
  client_name?: string;
  sender: string;
  recipient: string;
}

/** The app as the Lambda builds it, on `store`, with a decision clock the bench can move. */
function appOn(store: GreylistStore, clock: () => number, config: PolicyConfig = CONFIG, allowEntries?: AllowEntries): Hono {
  const parseDomain: ParseDomain | undefined = config === CONFIG ? undefined : parseDomainWithPsl;
  const service = createDecisionService({ store, config, whitelists: () => EMPTY_WHITELISTS, clock, parseDomain, ...(allowEntries ? { allowEntries } : {}) });
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
  common: boolean;
  /** Sorted latencies in ms. */
  latencies: number[];
  /** Per decision. */
  cost: DynamoDbStoreStats;
  reasons: Set<string>;
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

/**
 * Every path once through `measured` (a store whose client may carry the delay): new triplets,
 * early retries, first passes, known triplets, and an auto-whitelisted client. The states each
 * path needs are prepared through `setup`, a store without the delay, on the same table.
 *
 * With ORG_CONFIG every client is a host of one provider's pool (a stable verified name), each
 * retry comes from another address in another /24, and the whitelist is the organisation's: the
 * same paths under the organisation keys and counts.
 */
async function runPaths(setupStore: DynamoDbStore, measured: DynamoDbStore, perPath: number, run: number, config: PolicyConfig): Promise<PathResult[]> {
  const org = config.clientIdentity === 'org';
  let nowSeconds = T0;
  const clock = () => nowSeconds * 1000;
  const setup = appOn(setupStore, clock, config);
  const app = appOn(measured, clock, config);
  const results: PathResult[] = [];
  let serial = 0;
  // Pool host names carry no digits, so none can look like the client's address (a dynamic name).
  const poolHost = (n: number, pool = 'outbound'): string =>
    `out-${n.toString(26).replace(/[0-9]/g, (d) => 'qrstuvwxyz'[Number(d)] ?? 'q')}.${pool}-${'abcdefgh'[run] ?? 'z'}.example.com`;
  const body = (host: number, tag: string, pool?: string): Body => {
    serial += 1;
    const b: Body = { client_address: `192.0.${run}.${host}`, sender: `${tag}${serial}@example.net`, recipient: `rcpt${serial}@example.org` };
    return org ? { ...b, client_name: poolHost(serial, pool) } : b;
  };
  /** The same message retried; from a pool, by another host in another /24. */
  const retryOf = (b: Body): Body => (org ? { ...b, client_address: `198.51.${run}.${host(b) + 100}`, client_name: poolHost(serial + 1000 + host(b)) } : b);
  const host = (b: Body): number => Number(b.client_address.split('.')[3]);
  const prepare = async (bodies: Body[], at: number): Promise<void> => {
    nowSeconds = at;
    for (const b of bodies) await post(setup, b);
  };
  const measure = async (name: string, common: boolean, bodies: Body[], at: number, through: Hono = app): Promise<void> => {
    nowSeconds = at;
    const before = measured.stats();
    const latencies: number[] = [];
    const reasons = new Set<string>();
    for (const b of bodies) {
      const { ms, reason } = await post(through, b);
      latencies.push(ms);
      reasons.add(reason);
    }
    const total = diff(measured.stats(), before);
    const n = bodies.length;
    const cost = { writes: total.writes / n, reads: total.reads / n, roundTrips: total.roundTrips / n };
    results.push({ name, common, latencies: latencies.sort((a, b) => a - b), cost, reasons });
  };
  const batch = (host: number, tag: string, pool?: string) => Array.from({ length: perPath }, () => body(host, tag, pool));

  // Warm-up (not measured): connections.
  await measure('warm-up', false, [body(250, 'warmup')], T0);
  results.pop();

  await measure('new triplet', true, batch(10, 'new'), T0);
  const retried = batch(11, 'retry');
  await prepare(retried, T0);
  await measure('early retry', true, retried.map(retryOf), T0 + 60);
  const known = batch(12, 'known');
  await prepare(known, T0);
  await measure('first pass (rare)', false, known.map(retryOf), T0 + 400);
  await measure('known triplet', true, known.map(retryOf), T0 + 500);

  // An auto-whitelisted client (or organisation): first passes counted an hour apart
  // (postgrey.md §3); the first pass above counted once already for the organisation.
  const threshold = org ? config.autoWhitelistOrgs : config.autoWhitelistClients;
  for (let i = 0; i < threshold; i++) {
    const seed = body(20, 'seed');
    await prepare([seed], T0 + i * 3_700);
    await prepare([retryOf(seed)], T0 + i * 3_700 + 400);
  }
  const awlAt = T0 + threshold * 3_700;
  const awl = org ? 'AWL organisation' : 'AWL client';
  await measure(`${awl}, first in this process (rare)`, false, [body(20, 'awl')], awlAt);
  await measure(awl, true, batch(20, 'awl'), awlAt);
  await measure(`${awl} hourly refresh (rare)`, false, [body(20, 'awl')], awlAt + 3_600);

  // Run-time allow entries (docs/admin.md): held in memory and refreshed on an interval, so a
  // decision with entries loaded costs what it costs without them, and a listed client nothing.
  const admin = setupStore.admin();
  const allowAt = awlAt + 7_200;
  await addAllowEntry(admin, { kind: 'client', value: `192.0.${run}.30`, addedBy: 'bench' }, allowAt);
  const cache = createAllowCache({ admin: measured.admin(), clock });
  nowSeconds = allowAt;
  await cache.refresh();
  const withEntries = appOn(measured, clock, config, cache);
  await measure('new triplet, allow entries held', true, batch(31, 'held', 'partner'), allowAt, withEntries);
  await measure('allow-listed client', true, batch(30, 'allowed'), allowAt, withEntries);
  return results;
}

async function delayedPart(dynalite: RunningDynalite, seconds: number, config: PolicyConfig, title: string, table: string): Promise<void> {
  await createTable(dynalite.client(), table);
  const setup = newStore(dynalite.client(), table);
  const delayedClient = dynalite.client();
  addFixedDelay(delayedClient, DELAY_MS);
  const perPath = Math.max(30, Math.round((seconds * 1000) / 8 / 30));

  // The same paths without and with the delay: the difference of the p50s is the time spent
  // waiting on the network, whatever dynalite's own speed, i.e. round trips × 20 ms.
  const plain = await runPaths(setup, newStore(dynalite.client(), table), perPath, 1, config);
  const delayed = await runPaths(setup, newStore(delayedClient, table), perPath, 2, config);

  console.log(
    `\n${title}: ${DELAY_MS} ms injected before every DynamoDB request; target: p50 < ${fmt(TARGET_MS)} ms, one round trip. ` +
      '"added by the delay" = p50 with it - p50 without it (same path, same machine).',
  );
  console.log(
    'path                                        n   p50 ms   p99 ms   target   no delay: p50   added by the delay   ' +
      'writes/dec   round trips/dec   reads/dec   reasons',
  );
  for (const [i, r] of delayed.entries()) {
    const p50 = percentile(r.latencies, 0.5);
    const base = percentile(plain[i]?.latencies ?? [], 0.5);
    const added = p50 - base;
    const verdict = r.common ? (p50 < TARGET_MS ? 'ok' : 'MISSED') : '(rare)';
    console.log(
      `${r.name.padEnd(42)} ${String(r.latencies.length).padStart(3)} ${fmt(p50, 2).padStart(8)} ${fmt(percentile(r.latencies, 0.99), 2).padStart(8)}   ` +
        `${verdict.padEnd(6)} ${fmt(base, 2).padStart(15)} ${`${fmt(added, 1)} ms = ${fmt(added / DELAY_MS, 2)} RT`.padStart(20)}   ` +
        `${fmt(r.cost.writes, 2).padStart(10)} ${fmt(r.cost.roundTrips, 2).padStart(17)} ${fmt(r.cost.reads, 2).padStart(11)}   ${[...r.reasons].join(',')}`,
    );
  }
  const common = delayed.filter((r) => r.common);
  console.log(
    `common paths: worst p50 ${fmt(Math.max(...common.map((r) => percentile(r.latencies, 0.5))), 2)} ms; at most ` +
      `${fmt(Math.max(...common.map((r) => r.cost.roundTrips)), 2)} round trip(s) and ` +
      `${fmt(Math.max(...common.map((r) => r.cost.writes)), 2)} write(s) per decision. The p50 includes dynalite's own time ` +
      '(milliseconds per request on a busy 2-core machine; DynamoDB answers in single-digit milliseconds).',
  );
}

export async function dynamoDbBench(opts: { seconds: number }): Promise<void> {
  console.log('\n== DynamoDB adapter through the HTTP app (dynalite on loopback, in memory) ==');
  const dynalite = await startDynalite({ inChildProcess: true });
  try {
    await throughputPart(dynalite, opts.seconds);
    await delayedPart(dynalite, opts.seconds, CONFIG, '(b) Postgrey\'s keys', 'bench-delayed');
    await delayedPart(
      dynalite,
      opts.seconds,
      ORG_CONFIG,
      '(c) organisation keys and whitelist (--client-identity=org --auto-whitelist-orgs=5), each retry from another /24 of the pool',
      'bench-delayed-org',
    );
  } finally {
    await dynalite.stop();
  }
}
