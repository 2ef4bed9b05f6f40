// `npm run bench`: greygate measured against baselines run alongside it in the same run, because
// the machines are shared and noisy; only ratios from one run are meaningful.
//
// Section 1 — policy protocol: `greygate serve` vs Debian's postgrey (when installed), same load
// (1, 8 and 32 connections, half new triplets, half repeats), requests/s, p50/p99, peak RSS.
// Section 2 — selective greylisting: plain vs --selective s25r throughput.
// Section 3 — the bridge: policy port direct vs through greygate-bridge → HTTP API, bridge RSS.
// Section 4 — DynamoDB: decisions through the app on dynalite, then with 20 ms per call injected.
// Section 5 — the Lambda bundle: size, cold import + first decision against dynalite.
// Section 6 — effectiveness: a modelled trace of legit senders and bots, per configuration: bots
// stopped, legit mail accepted at once, legit delay (effectiveness-bench.ts).
// Section 7 — statistics: serve's throughput with the hourly statistics on vs off (statistics-bench.ts).

import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bridgeBench } from './bridge-bench.ts';
import { dynamoDbBench } from './dynamodb-bench.ts';
import { effectivenessBench } from './effectiveness-bench.ts';
import { lambdaBundleBench } from './lambda-bundle-bench.ts';
import { alternatingLoads, runPolicyLoad, type LoadResult } from './policy-load.ts';
import { statisticsBench } from './statistics-bench.ts';
import { cpuSeconds, freePort, peakRssMiB, rssMiB, startGreygate, startProcess, waitForPort, type Target } from './processes.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONCURRENCY = [1, 8, 32];
const IDLE_SETTLE_MS = 2000;

/** Builds dist/ first, so the figures are those of what an installed greygate runs. */
async function buildBundles(): Promise<void> {
  const { buildAll } = await import('../build/build.ts');
  await buildAll();
}

function findPostgrey(): string | null {
  for (const p of ['/usr/sbin/postgrey', '/usr/bin/postgrey']) if (existsSync(p)) return p;
  return null;
}

async function startPostgrey(bin: string): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'postgrey-bench-'));
  // postgrey drops privileges to its own user; its dbdir must be writable by that user.
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgrey']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgrey']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const port = await freePort();
  const proc = startProcess(bin, [`--inet=127.0.0.1:${port}`, `--dbdir=${dir}`, '-q']);
  await waitForPort(port, 20_000, proc.child).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.stderr()}`);
  });
  return { name: 'postgrey', port, proc, dir };
}

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

async function policySection(): Promise<void> {
  console.log(`\n== policy protocol: greygate serve vs postgrey (${SECONDS}s per run, half new / half repeat) ==`);
  const targets: Target[] = [await startGreygate()];
  const postgreyBin = findPostgrey();
  if (postgreyBin) targets.push(await startPostgrey(postgreyBin));
  else console.log('postgrey is not installed (apt-get install postgrey): greygate alone, no ratio');
  // Idle: started and listening, no request yet, after a pause for start-up work (whitelists,
  // the checkpoint worker) to settle; what a quiet mail host pays all day.
  await new Promise((resolve) => setTimeout(resolve, IDLE_SETTLE_MS));
  const idleRss = new Map(targets.map((t) => [t.name, t.proc.child.pid ? rssMiB(t.proc.child.pid) : NaN]));

  const results = new Map<string, Map<number, LoadResult>>();
  let offset = 0;
  try {
    for (const c of CONCURRENCY) {
      for (const t of targets) {
        offset += 10_000_000;
        const r = await runPolicyLoad(t.port, c, SECONDS, offset);
        if (!results.has(t.name)) results.set(t.name, new Map());
        results.get(t.name)?.set(c, r);
      }
    }
    console.log('\nserver     conns   req/s    p50 ms   p99 ms   errors   answers');
    for (const c of CONCURRENCY) {
      for (const t of targets) {
        const r = results.get(t.name)?.get(c);
        if (!r) continue;
        const answers = [...r.actions].map(([k, v]) => `${k}:${v}`).join(' ');
        console.log(
          `${t.name.padEnd(10)} ${String(c).padStart(5)} ${fmt(r.rps).padStart(7)} ${fmt(r.p50ms, 2).padStart(9)} ${fmt(r.p99ms, 2).padStart(8)} ${String(r.errors).padStart(8)}   ${answers}`,
        );
      }
    }
    console.log('\nRSS, MiB   idle   peak   (idle: VmRSS before any request; peak: VmHWM after the load)');
    for (const t of targets) {
      if (t.proc.child.pid) {
        console.log(`${t.name.padEnd(10)} ${fmt(idleRss.get(t.name) ?? NaN, 1).padStart(5)}  ${fmt(peakRssMiB(t.proc.child.pid), 1).padStart(5)}`);
      }
    }
    if (targets.length === 2) {
      console.log('\nratio greygate / postgrey (throughput):');
      for (const c of CONCURRENCY) {
        const g = results.get('greygate')?.get(c);
        const p = results.get('postgrey')?.get(c);
        if (g && p) console.log(`  ${String(c).padStart(2)} connections: ${fmt(g.rps / p.rps, 1)}x   (p99 ${fmt(g.p99ms, 2)} ms vs ${fmt(p.p99ms, 2)} ms)`);
      }
    }
  } finally {
    for (const t of targets) {
      await t.proc.stop();
      rmSync(t.dir, { recursive: true, force: true });
    }
  }
}

/**
 * Section 2 — the cost of S25R: plain greylisting vs `--selective s25r`, alternating runs, with
 * client names that every rule must be tried on and that end up suspicious (the full store path),
 * so the figure is S25R's worst case, not a saving from skipped store writes.
 */
async function selectiveSection(): Promise<void> {
  const rounds = 5;
  const seconds = Math.max(2, Math.round((SECONDS * 3) / rounds));
  console.log(`\n== selective greylisting: plain vs --selective s25r (8 connections, worst-case names, ${seconds}s x ${rounds} alternating, each) ==`);
  const targets = [await startGreygate([], 'plain'), await startGreygate(['--selective', 's25r'], 's25r')];
  const clientName = (n: number): string => `host-${n % 1000}.dynamic.isp.example`;
  try {
    const { rps, cpuUs, median } = await alternatingLoads(
      targets.map((t) => ({ name: t.name, port: t.port, pid: t.proc.child.pid as number })),
      { rounds, seconds, offset: 900_000_000, load: { clientName }, cpuSeconds },
    );
    const plain = median(rps, 'plain');
    const s25r = median(rps, 's25r');
    console.log(`plain: ${fmt(plain)} req/s   s25r: ${fmt(s25r)} req/s   (median of ${rounds})`);
    console.log(`  runs: plain ${(rps.get('plain') ?? []).map((x) => fmt(x)).join(' ')} | s25r ${(rps.get('s25r') ?? []).map((x) => fmt(x)).join(' ')}`);
    console.log(`s25r cost: ${fmt((1 - s25r / plain) * 100, 1)} % of throughput (target < 10 %)`);
    const plainCpu = median(cpuUs, 'plain');
    const s25rCpu = median(cpuUs, 's25r');
    console.log(
      `server CPU per request: plain ${fmt(plainCpu, 1)} us, s25r ${fmt(s25rCpu, 1)} us (median of ${rounds}): ` +
        `s25r costs ${fmt((s25rCpu / plainCpu - 1) * 100, 1)} % more CPU per decision`,
    );
  } finally {
    for (const t of targets) {
      await t.proc.stop();
      rmSync(t.dir, { recursive: true, force: true });
    }
  }
}

/** BENCH_ONLY=policy,selective,bridge,dynamodb,lambda,effectiveness,statistics runs a subset; all by default. */
const SECTIONS: Array<[string, () => Promise<void>]> = [
  ['policy', policySection],
  ['selective', selectiveSection],
  ['bridge', () => bridgeBench({ seconds: SECONDS })],
  ['dynamodb', () => dynamoDbBench({ seconds: SECONDS })],
  ['lambda', lambdaBundleBench],
  ['effectiveness', () => effectivenessBench()],
  ['statistics', () => statisticsBench({ seconds: SECONDS })],
];

async function main(): Promise<void> {
  console.log(`greygate bench — node ${process.version}, ${new Date().toISOString()}`);
  const only = process.env.BENCH_ONLY?.split(',').map((x) => x.trim());
  await buildBundles();
  for (const [name, run] of SECTIONS) if (!only || only.includes(name)) await run();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
