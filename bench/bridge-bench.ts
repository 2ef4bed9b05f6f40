// `npm run bench`, the bridge section: what greygate-bridge adds in front of the HTTP API. One
// `greygate serve` process (SQLite, policy port and HTTP API with a token) and one bridge process
// (the bundle as `npm run build` makes it, run by plain node) pointed at serve's HTTP API. The same
// load (policy-load.ts: 1, 8 and 32 Postfix-like connections, half new triplets, half repeats)
// drives serve's policy port directly and the bridge's port, in the same run, so the bridge's
// added latency (bridge → HTTP → Hono → SQLite, minus policy port → SQLite) is a measured
// difference on the same machine at the same time.
//
// Targets (issue 4): p50 added under 1 ms at 8 connections; bridge peak RSS under 80 MB.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildBundle } from '../build/build.ts';
import { bundleDefinitions } from '../build/bundle-options.ts';
import { sha256Hex } from '../functions/http/bearer-auth.ts';
import { runPolicyLoad, type LoadResult } from './policy-load.ts';
import { freePort, peakRssMiB, startProcess, waitForPort, type Started } from './processes.ts';

const CONCURRENCY = [1, 8, 32];
const ADDED_P50_TARGET_MS = 1;
const RSS_TARGET_MIB = 80;
const root = new URL('..', import.meta.url).pathname;

function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : '-';
}

async function started(proc: Started, port: number, what: string): Promise<void> {
  await waitForPort(port, 20_000, proc.child).catch((err: Error) => {
    throw new Error(`${what}: ${err.message}\n${proc.stderr()}`);
  });
}

export async function bridgeBench(opts: { seconds: number }): Promise<void> {
  console.log(`\n== bridge: Postfix → greygate-bridge → HTTP API → SQLite vs serve's policy port (${opts.seconds}s per run) ==`);
  const dir = mkdtempSync(join(tmpdir(), 'greygate-bridge-bench-'));
  const procs: Started[] = [];
  try {
    const token = randomBytes(32).toString('base64url');
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });

    const [policyPort, httpPort, bridgePort] = [await freePort(), await freePort(), await freePort()];
    const serve = startProcess(process.execPath, [
      '--import', 'tsx', join(root, 'functions/runtime/cli.ts'), 'serve',
      '--inet', `127.0.0.1:${policyPort}`, '--http', `127.0.0.1:${httpPort}`, '--token-sha256', sha256Hex(token),
      '--dbdir', join(dir, 'db'), '--quiet',
    ], { cwd: root });
    procs.push(serve);

    const definition = bundleDefinitions().find((d) => d.name === 'bridge');
    if (!definition) throw new Error('no bridge bundle definition (bridge/main.ts missing?)');
    const bundle = await buildBundle(definition, dir);
    await started(serve, policyPort, 'greygate serve');
    await started(serve, httpPort, 'greygate serve --http');
    const bridge = startProcess(process.execPath, [
      bundle.outfile, '--inet', `127.0.0.1:${bridgePort}`, '--api', `http://127.0.0.1:${httpPort}`, '--token-file', tokenFile, '--quiet',
    ], { cwd: dir, env: { PATH: process.env.PATH ?? '' } });
    procs.push(bridge);
    await started(bridge, bridgePort, 'greygate-bridge');

    const results: Array<{ c: number; direct: LoadResult; bridged: LoadResult }> = [];
    let offset = 500_000_000;
    for (const c of CONCURRENCY) {
      offset += 10_000_000;
      const direct = await runPolicyLoad(policyPort, c, opts.seconds, offset);
      offset += 10_000_000;
      const bridged = await runPolicyLoad(bridgePort, c, opts.seconds, offset);
      results.push({ c, direct, bridged });
    }

    console.log('\npath            conns   req/s    p50 ms   p99 ms   errors   answers');
    for (const { c, direct, bridged } of results) {
      for (const [name, r] of [['serve direct', direct], ['via bridge', bridged]] as const) {
        const answers = [...r.actions].map(([k, v]) => `${k}:${v}`).join(' ');
        console.log(
          `${name.padEnd(14)} ${String(c).padStart(5)} ${fmt(r.rps).padStart(7)} ${fmt(r.p50ms, 2).padStart(9)} ${fmt(r.p99ms, 2).padStart(8)} ${String(r.errors).padStart(8)}   ${answers}`,
        );
      }
    }
    console.log(`\nadded by the bridge (via bridge − direct), target p50 < ${ADDED_P50_TARGET_MS} ms at 8 connections:`);
    for (const { c, direct, bridged } of results) {
      const added = bridged.p50ms - direct.p50ms;
      const mark = c === 8 ? (added < ADDED_P50_TARGET_MS ? '  (target met)' : '  (TARGET MISSED)') : '';
      console.log(
        `  ${String(c).padStart(2)} connections: p50 +${fmt(added, 2)} ms, p99 +${fmt(bridged.p99ms - direct.p99ms, 2)} ms, throughput ${fmt(bridged.rps / direct.rps, 2)}x${mark}`,
      );
    }
    const bridgeRss = bridge.child.pid ? peakRssMiB(bridge.child.pid) : NaN;
    const serveRss = serve.child.pid ? peakRssMiB(serve.child.pid) : NaN;
    console.log('\npeak RSS (VmHWM):');
    console.log(`  greygate-bridge ${fmt(bridgeRss, 1)} MiB (target < ${RSS_TARGET_MIB} MiB${bridgeRss < RSS_TARGET_MIB ? ', met' : ', MISSED'})`);
    console.log(`  greygate serve  ${fmt(serveRss, 1)} MiB`);
    const errors = results.reduce((n, r) => n + r.direct.errors + r.bridged.errors, 0);
    if (errors > 0) console.log(`\n${errors} connection error(s) during the runs; bridge stderr:\n${bridge.stderr()}`);
  } finally {
    // The bridge first: it must not log API failures while serve goes away.
    for (const proc of procs.reverse()) await proc.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  bridgeBench({ seconds: Number(process.env.BENCH_SECONDS ?? 5) }).catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
