// The cost of the statistics (functions/stats/): `greygate serve` with statistics on vs off
// (`--stats-retention-days 0`), same load, alternating runs in one bench run. "On" flushes every
// second (--stats-flush-seconds 1, sixty times the default) so that the flushes' writes fall
// inside the measured time: the worst case, not the default. A decision's own path is the same
// either way (counting is a few Map updates); the target is within 5 % of the throughput.
// Server CPU per request is printed beside it: steadier than throughput on a shared machine.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runPolicyLoad } from './policy-load.ts';
import { cpuSeconds, freePort, startProcess, waitForPort, type Started } from './processes.ts';

const root = new URL('..', import.meta.url).pathname;

interface Target {
  name: string;
  port: number;
  proc: Started;
  dir: string;
}

async function start(name: string, args: string[]): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'greygate-bench-stats-'));
  const port = await freePort();
  const proc = startProcess(join(root, 'bin/greygate.mjs'), ['serve', '--inet', `127.0.0.1:${port}`, '--no-http', '--dbdir', dir, '--quiet', ...args], { cwd: root });
  await waitForPort(port, 20_000, proc.child).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.stderr()}`);
  });
  return { name, port, proc, dir };
}

const fmt = (n: number, digits = 0): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;

export async function statisticsBench({ seconds: total }: { seconds: number }): Promise<void> {
  const rounds = 5;
  const seconds = Math.max(2, Math.round((total * 3) / rounds));
  console.log(`\n== statistics: on (flushed every second) vs off (8 connections, ${seconds}s x ${rounds} alternating, each) ==`);
  const targets = [await start('off', ['--stats-retention-days', '0']), await start('on', ['--stats-flush-seconds', '1'])];
  const rps = new Map<string, number[]>();
  const cpuUs = new Map<string, number[]>();
  let offset = 1_900_000_000;
  try {
    for (let round = 0; round < rounds; round++) {
      for (const t of round % 2 === 0 ? targets : [...targets].reverse()) {
        offset += 10_000_000;
        const pid = t.proc.child.pid as number;
        const before = cpuSeconds(pid);
        const r = await runPolicyLoad(t.port, 8, seconds, offset);
        rps.set(t.name, [...(rps.get(t.name) ?? []), r.rps]);
        cpuUs.set(t.name, [...(cpuUs.get(t.name) ?? []), ((cpuSeconds(pid) - before) * 1e6) / r.requests]);
      }
    }
    const off = median(rps.get('off') ?? []);
    const on = median(rps.get('on') ?? []);
    console.log(`off: ${fmt(off)} req/s   on: ${fmt(on)} req/s   (median of ${rounds})`);
    console.log(`  runs: off ${(rps.get('off') ?? []).map((x) => fmt(x)).join(' ')} | on ${(rps.get('on') ?? []).map((x) => fmt(x)).join(' ')}`);
    console.log(`ratio on / off (throughput): ${fmt(on / off, 3)}  (target >= 0.95)`);
    const offCpu = median(cpuUs.get('off') ?? []);
    const onCpu = median(cpuUs.get('on') ?? []);
    console.log(`server CPU per request: off ${fmt(offCpu, 1)} us, on ${fmt(onCpu, 1)} us (median of ${rounds}): ratio ${fmt(onCpu / offCpu, 3)}`);
  } finally {
    for (const t of targets) {
      await t.proc.stop();
      rmSync(t.dir, { recursive: true, force: true });
    }
  }
}
