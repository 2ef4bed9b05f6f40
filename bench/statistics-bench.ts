// The cost of the statistics (functions/stats/): `greygate serve` with statistics on vs off
// (`--stats-retention-days 0`), same load, alternating runs in one bench run. "On" flushes every
// second (--stats-flush-seconds 1, sixty times the default) so that the flushes' writes fall
// inside the measured time: the worst case, not the default. A decision's own path is the same
// either way (counting is a few Map updates); the target is within 5 % of the throughput.
// Server CPU per request is printed beside it: steadier than throughput on a shared machine.
// Then the DynamoDB path (dynalite in its own process): decisions through the decision service
// with statistics on, the adapter's own counters per decision (unchanged: statistics add no
// request to a decision), and the statistics' UpdateItems, counted apart, per decision.

import { rmSync } from 'node:fs';
import { alternatingLoads } from './policy-load.ts';
import { DEFAULT_POLICY_CONFIG, EMPTY_WHITELISTS, parsePolicyRequest } from '../functions/core/index.ts';
import { createDecisionService } from '../functions/service/decision-service.ts';
import { observeDecisions } from '../functions/stats/observed-service.ts';
import type { StatisticsStore } from '../functions/stats/stats-port.ts';
import { startStatistics } from '../functions/stats/stats-recorder.ts';
import { createDynamoDbStore, dynamoDbPolicyHints } from '../functions/store/dynamodb-store.ts';
import { createTable } from '../functions/store/dynamodb-table.ts';
import { startDynalite } from '../test/support/dynalite.ts';
import { cpuSeconds, freePort, startGreygate } from './processes.ts';

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function statisticsBench({ seconds: total }: { seconds: number }): Promise<void> {
  const rounds = 5;
  const seconds = Math.max(2, Math.round((total * 3) / rounds));
  console.log(`\n== statistics: on (flushed every second) vs off (8 connections, ${seconds}s x ${rounds} alternating, each) ==`);
  const targets = [
    await startGreygate(['--stats-retention-days', '0'], 'off'),
    await startGreygate(['--stats-flush-seconds', '1'], 'on'),
    // Also the Prometheus metrics (prom-client), which are there whenever the HTTP listener is.
    await startGreygate(['--stats-flush-seconds', '1', '--http', `127.0.0.1:${await freePort()}`], 'on+http'),
  ];
  try {
    const { rps, cpuUs, median: medianOf } = await alternatingLoads(
      targets.map((t) => ({ name: t.name, port: t.port, pid: t.proc.child.pid as number })),
      { rounds, seconds, offset: 1_900_000_000, cpuSeconds },
    );
    const off = medianOf(rps, 'off');
    const on = medianOf(rps, 'on');
    const withHttp = medianOf(rps, 'on+http');
    console.log(`off: ${fmt(off)} req/s   on: ${fmt(on)} req/s   on+http (metrics): ${fmt(withHttp)} req/s   (median of ${rounds})`);
    for (const t of targets) console.log(`  runs ${t.name.padEnd(8)} ${(rps.get(t.name) ?? []).map((x) => fmt(x)).join(' ')}`);
    console.log(`ratio on / off (throughput): ${fmt(on / off, 3)}  (target >= 0.95);  on+http / off: ${fmt(withHttp / off, 3)}`);
    const offCpu = medianOf(cpuUs, 'off');
    const onCpu = medianOf(cpuUs, 'on');
    const httpCpu = medianOf(cpuUs, 'on+http');
    console.log(
      `server CPU per request: off ${fmt(offCpu, 1)} us, on ${fmt(onCpu, 1)} us, on+http ${fmt(httpCpu, 1)} us (median of ${rounds}): ` +
        `ratios ${fmt(onCpu / offCpu, 3)}, ${fmt(httpCpu / offCpu, 3)}`,
    );
  } finally {
    for (const t of targets) {
      await t.proc.stop();
      rmSync(t.dir, { recursive: true, force: true });
    }
  }
  await statisticsDynamoDbBench({ seconds: Math.max(2, Math.round(total / 2)) });
}

/** Decisions on dynalite with statistics on (flushed every second) vs off, and what each costs in requests. */
export async function statisticsDynamoDbBench({ seconds }: { seconds: number }): Promise<void> {
  console.log(`\n-- statistics on the DynamoDB path (dynalite, 8 in flight, ${seconds}s per run, alternating 6 runs each after a warm-up)`);
  const dynalite = await startDynalite({ inChildProcess: true });
  try {
    const client = dynalite.client();
    await createTable(client, 'bench-stats');
    const store = createDynamoDbStore({ client, tableName: 'bench-stats', ...dynamoDbPolicyHints(DEFAULT_POLICY_CONFIG) });
    const inner = store.statistics();
    let statsWrites = 0;
    // Counts the statistics' UpdateItems: one per hour bucket a flush carries.
    const counted: StatisticsStore = {
      countsNeverPassed: inner.countsNeverPassed,
      addStatistics: (hours, o) => {
        statsWrites += hours.length;
        return inner.addStatistics(hours, o);
      },
      readStatistics: (a, b) => inner.readStatistics(a, b),
      pendingTriplets: (a, b) => inner.pendingTriplets(a, b),
    };
    const logger = { info: () => {}, warn: (m: string) => console.log(`statistics: ${m}`) };
    const recorder = startStatistics(counted, { retentionDays: 400, flushSeconds: 1, clock: Date.now, logger });
    const plain = createDecisionService({ store, config: DEFAULT_POLICY_CONFIG, whitelists: () => EMPTY_WHITELISTS, clock: Date.now });
    const services = {
      off: plain,
      on: observeDecisions(plain, [{ decided: (d) => recorder.record(d) }]),
    };
    const rates: Record<'on' | 'off', number[]> = { on: [], off: [] };
    let decisionsOn = 0;
    let requestsOn = { writes: 0, reads: 0, roundTrips: 0 };
    let next = 0;
    // Round 0 warms up dynalite (its JIT, the connections) and is not counted.
    for (let round = 0; round <= 6; round += 1) {
      for (const name of round % 2 === 0 ? (['off', 'on'] as const) : (['on', 'off'] as const)) {
        const service = services[name];
        const before = store.stats();
        const deadline = performance.now() + seconds * 1000;
        let done = 0;
        const worker = async (): Promise<void> => {
          while (performance.now() < deadline) {
            const n = next++;
            const t = n - (n % 2);
            const parsed = parsePolicyRequest(new Map([['client_address', `10.9.${(t >> 8) & 255}.${t & 255}`], ['client_name', 'unknown'], ['sender', `s${t}@example.net`], ['recipient', `r${t}@example.org`]]));
            if (!parsed.ok) throw new Error(parsed.message);
            await service.check(parsed.request);
            done += 1;
          }
        };
        const started = performance.now();
        await Promise.all(Array.from({ length: 8 }, worker));
        if (round === 0) continue;
        rates[name].push(done / ((performance.now() - started) / 1000));
        if (name === 'on') {
          const after = store.stats();
          decisionsOn += done;
          requestsOn = {
            writes: requestsOn.writes + after.writes - before.writes,
            reads: requestsOn.reads + after.reads - before.reads,
            roundTrips: requestsOn.roundTrips + after.roundTrips - before.roundTrips,
          };
        }
      }
    }
    await recorder.stop();
    const off = median(rates.off);
    const on = median(rates.on);
    console.log(`off: ${fmt(off)} decisions/s   on: ${fmt(on)} decisions/s   ratio on / off: ${fmt(on / off, 3)}  (median of 6; dynalite, not DynamoDB: noisy, the SQLite ratio above is the figure)`);
    console.log(`  runs: off ${rates.off.map((x) => fmt(x)).join(' ')} | on ${rates.on.map((x) => fmt(x)).join(' ')}`);
    console.log(
      `with statistics on, per decision: ${fmt(requestsOn.writes / decisionsOn, 3)} writes, ${fmt(requestsOn.reads / decisionsOn, 3)} reads, ` +
        `${fmt(requestsOn.roundTrips / decisionsOn, 3)} round trips (the adapter's counters; half the decisions are new triplets, half early retries)`,
    );
    console.log(`statistics UpdateItems: ${statsWrites} in all for ${decisionsOn} decisions counted = ${fmt(statsWrites / decisionsOn, 5)} per decision (one per hour bucket per flush)`);
    await store.close();
  } finally {
    await dynalite.stop();
  }
}
