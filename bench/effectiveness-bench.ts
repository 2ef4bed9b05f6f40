// Section `effectiveness`: what greylisting does to mail, not how fast it decides. Three days of a
// site's traffic (sender-populations.ts: small MTAs with their default retry schedules, big
// providers retrying from pools, bots that never retry, retry too soon, retry from the same
// address or from other hosts of a botnet, snowshoe senders) are played against a real
// `greygate serve` over the policy protocol in compressed time (Postfix's `policy_test_time`), once
// per configuration, each on a fresh database. A deferred message is retried on its sender's
// schedule until it passes or its sender gives up.
//
// Printed per configuration: bots stopped (bot messages never accepted), legit mail accepted at the
// first attempt, the delay of legit mail (p50/p95, over all legit messages; a message never
// accepted counts as infinitely late) and legit mail never accepted.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyClient, examplePolicyRequest } from '../test/support/policy-client.ts';
import { freePort, startProcess, waitForPort } from './processes.ts';
import { senderTrace, type Message } from './sender-populations.ts';

const root = new URL('..', import.meta.url).pathname;
const T0 = 1_800_000_000;

export interface Configuration {
  name: string;
  args: string[];
}

interface Outcome {
  message: Message;
  /** Seconds from the first attempt to the accepted one; null = never accepted. */
  delay: number | null;
  attempt: number | null;
}

interface Figures {
  botsStopped: number;
  legitFirstAttempt: number;
  legitP50: number;
  legitP95: number;
  legitNeverAccepted: number;
  requests: number;
  outcomes: Outcome[];
}

async function play(trace: readonly Message[], args: string[]): Promise<Figures> {
  const dir = mkdtempSync(join(tmpdir(), 'greygate-effectiveness-'));
  // Empty whitelists: the figures are greylisting's own, not those of a list that happens to name
  // one of the modelled providers.
  writeFileSync(join(dir, 'clients'), '');
  writeFileSync(join(dir, 'recipients'), '');
  const port = await freePort();
  const proc = startProcess(join(root, 'bin/greygate.mjs'), [
    'serve', '--inet', `127.0.0.1:${port}`, '--no-http', '--dbdir', join(dir, 'db'), '--quiet',
    '--whitelist-clients', join(dir, 'clients'), '--whitelist-recipients', join(dir, 'recipients'), ...args,
  ], { cwd: root });
  try {
    await waitForPort(port, 20_000, proc.child).catch((err: Error) => {
      throw new Error(`${err.message}\n${proc.stderr()}`);
    });
    const client = await PolicyClient.connect(`127.0.0.1:${port}`, { timeoutMs: 30_000 });
    const events = trace.flatMap((message, m) => message.attempts.map((attempt, a) => ({ at: message.start + attempt.offset, m, a })));
    events.sort((x, y) => x.at - y.at || x.m - y.m || x.a - y.a);
    const accepted = new Map<number, number>();
    let requests = 0;
    for (const { at, m, a } of events) {
      if (accepted.has(m)) continue;
      const message = trace[m] as Message;
      const attempt = message.attempts[a];
      if (attempt === undefined) continue;
      requests += 1;
      const answer = await client.request(
        examplePolicyRequest({
          client_address: attempt.clientAddress,
          client_name: attempt.clientName,
          reverse_client_name: attempt.clientName,
          helo_name: attempt.helo,
          sender: message.sender,
          recipient: message.recipient,
          instance: `m${m}.a${a}`,
          policy_test_time: String(T0 + at),
        }),
      );
      if (!answer.startsWith('DEFER') && !answer.startsWith('451') && !answer.startsWith('450')) accepted.set(m, a);
    }
    await client.close();
    const outcomes = trace.map((message, m) => {
      const a = accepted.get(m);
      return { message, attempt: a ?? null, delay: a === undefined ? null : (message.attempts[a]?.offset ?? 0) };
    });
    return { ...summarise(outcomes), requests, outcomes };
  } finally {
    await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

function summarise(outcomes: readonly Outcome[]): Omit<Figures, 'requests' | 'outcomes'> {
  const bots = outcomes.filter((o) => !o.message.legit);
  const legit = outcomes.filter((o) => o.message.legit);
  const delays = legit.map((o) => o.delay ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  const share = (n: number, of: number): number => (of === 0 ? Number.NaN : (100 * n) / of);
  return {
    botsStopped: share(bots.filter((o) => o.delay === null).length, bots.length),
    legitFirstAttempt: share(legit.filter((o) => o.attempt === 0).length, legit.length),
    legitP50: percentile(delays, 50),
    legitP95: percentile(delays, 95),
    legitNeverAccepted: share(legit.filter((o) => o.delay === null).length, legit.length),
  };
}

const pct = (x: number): string => `${x.toFixed(1)} %`;
function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return 'never';
  if (seconds < 60) return `${seconds} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

function populationTable(outcomes: readonly Outcome[]): string[] {
  const byPopulation = new Map<string, Outcome[]>();
  for (const o of outcomes) byPopulation.set(o.message.population, [...(byPopulation.get(o.message.population) ?? []), o]);
  return [...byPopulation].map(([population, list]) => {
    const accepted = list.filter((o) => o.delay !== null);
    const delays = list.map((o) => o.delay ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
    return (
      `  ${population.padEnd(36)} ${String(list.length).padStart(5)}  accepted ${pct((100 * accepted.length) / list.length).padStart(7)}` +
      `  at first attempt ${pct((100 * list.filter((o) => o.attempt === 0).length) / list.length).padStart(7)}` +
      `  delay p50 ${duration(percentile(delays, 50)).padStart(8)}  p95 ${duration(percentile(delays, 95)).padStart(8)}`
    );
  });
}

export const EFFECTIVENESS_CONFIGURATIONS: readonly Configuration[] = [
  { name: 'plain (Postgrey-compatible)', args: [] },
  { name: '--selective=s25r', args: ['--selective', 's25r'] },
  { name: '--client-identity=org', args: ['--client-identity', 'org'] },
  { name: 'org + auto-whitelist-orgs=5', args: ['--client-identity', 'org', '--auto-whitelist-orgs', '5'] },
  { name: '--preset=recommended', args: ['--preset', 'recommended'] },
];

export async function effectivenessBench(opts: { configurations?: readonly Configuration[]; legit?: number; bots?: number; seed?: number } = {}): Promise<void> {
  const legit = opts.legit ?? Number(process.env.BENCH_LEGIT ?? 2000);
  const bots = opts.bots ?? Number(process.env.BENCH_BOTS ?? 2000);
  const seed = opts.seed ?? Number(process.env.BENCH_SEED ?? 20261205);
  const trace = senderTrace({ seed, legit, bots });
  const configurations = opts.configurations ?? EFFECTIVENESS_CONFIGURATIONS;
  console.log(`\n== effectiveness: ${legit} legit and ${bots} bot messages over 3 days (seed ${seed}), delay 300 s, policy_test_time ==`);
  console.log(`${'configuration'.padEnd(30)} ${'bots stopped'.padStart(12)} ${'legit 1st try'.padStart(13)} ${'legit p50'.padStart(10)} ${'legit p95'.padStart(10)} ${'legit lost'.padStart(10)} ${'requests'.padStart(9)}`);
  const results: Array<[Configuration, Figures]> = [];
  for (const configuration of configurations) {
    const figures = await play(trace, configuration.args);
    results.push([configuration, figures]);
    console.log(
      `${configuration.name.padEnd(30)} ${pct(figures.botsStopped).padStart(12)} ${pct(figures.legitFirstAttempt).padStart(13)} ` +
        `${duration(figures.legitP50).padStart(10)} ${duration(figures.legitP95).padStart(10)} ${pct(figures.legitNeverAccepted).padStart(10)} ${String(figures.requests).padStart(9)}`,
    );
  }
  for (const [configuration, figures] of results) {
    console.log(`\n${configuration.name}: by population`);
    for (const line of populationTable(figures.outcomes)) console.log(line);
  }
}
