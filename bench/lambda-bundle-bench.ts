// `npm run bench`, section (c): the Lambda bundle as a cold container sees it. Builds
// dist/lambda/index.mjs's twin into a temp dir, prints its size and what fills it, then starts a
// fresh `node` per run that imports the bundle and answers two Function URL events against
// dynalite: cold import, first decision (config, clients, first DynamoDB round trip) and a warm
// second decision, median of several runs. Baselines measured in the same run, the same way: a
// fresh node importing an empty module; one paying only the platform's lazy loads that any
// fetch-API framework pays (undici for the first Headers, ICU for the first DateTimeFormat); one
// importing @aws-sdk/client-dynamodb unbundled from node_modules (what a non-bundled deployment
// pays before doing anything).
//
// Every probe runs twice, on this machine's node and on Node 22, the major of the nodejs22.x
// runtime the function is deployed on (lambda-runtime-node.ts finds or fetches it): the same bundle
// starts at different speeds on the two, and only the second is what a cold container runs.
//
// Targets (issue 3): bundle < 400 KB, import + first decision < 150 ms on the bench machine.
// dynalite answers far slower than DynamoDB (the warm decision shows by how much), while a real
// first call adds a TLS handshake that dynalite's plain HTTP does not: read the figures as ratios.

import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleDefinitions, REPO_ROOT } from '../build/bundle-options.ts';
import { buildBundle, bytesByPackage } from '../build/build.ts';
import { sha256Hex } from '../functions/http/bearer-auth.ts';
import { createTable } from '../functions/store/dynamodb-table.ts';
import { startDynalite } from '../test/support/dynalite.ts';
import { lambdaRuntimeNode, LAMBDA_NODE_MAJOR } from './lambda-runtime-node.ts';
import { functionUrlEvent } from '../test/support/function-url-event.ts';

const RUNS = Number(process.env.BENCH_LAMBDA_RUNS ?? 11);
const SIZE_TARGET_BYTES = 400_000;
const COLD_TARGET_MS = 150;
const TOKEN = 'bench-token';
const TABLE = 'greygate-bench';

// Runs in the fresh node: import, then (for the bundle) two decisions on new triplets, the first
// cold, the second warm (its time is mostly dynalite's); prints timings as JSON.
const PROBE = `
const t0 = performance.now();
const mod = await import(process.argv[1]);
const t1 = performance.now();
let status = null, body = null, t2 = t1, t3 = t1;
if (typeof mod.handler === 'function') {
  const [cold, warm] = JSON.parse(process.env.PROBE_EVENTS);
  const result = await mod.handler(cold);
  t2 = performance.now();
  status = result.statusCode;
  body = JSON.parse(result.body);
  await mod.handler(warm);
  t3 = performance.now();
}
process.stdout.write('\\n' + JSON.stringify({ boot: t0, importMs: t1 - t0, firstMs: t2 - t1, warmMs: t3 - t2, status, body }));
`;

// What any fetch-API framework and the first Intl date format pay in a fresh Node, bundle or not:
// Node loads undici for the first Headers and ICU data for the first DateTimeFormat.
const PLATFORM_LAZY_LOADS = 'new Headers(); Intl.DateTimeFormat().resolvedOptions();\nexport {};\n';

interface Probe {
  boot: number;
  importMs: number;
  firstMs: number;
  warmMs: number;
  status: number | null;
  body: unknown;
  stderr: string;
}

function probe(node: string, moduleUrl: string, env: Record<string, string>, cwd: string): Promise<Probe> {
  return new Promise((resolve, reject) => {
    execFile(
      node,
      ['--input-type=module', '-e', PROBE, moduleUrl],
      { cwd, env: { PATH: process.env.PATH ?? '', ...env }, timeout: 30_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`probe of ${moduleUrl} failed: ${err.message}\n${stderr}`));
        // The bundle's EMF metric lines come first; the probe's figures are the last line.
        else resolve({ ...(JSON.parse(stdout.trimEnd().split('\n').pop() ?? '{}') as Omit<Probe, 'stderr'>), stderr });
      },
    );
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function checkEvent(n: number): unknown {
  return functionUrlEvent({
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: JSON.stringify({ client_address: `198.18.${n >> 8}.${n & 255}`, sender: `s${n}@example.net`, recipient: 'r@example.org' }),
  });
}

const ms = (n: number): string => `${n.toFixed(1)} ms`;

export async function lambdaBundleBench(): Promise<void> {
  console.log(`\n== Lambda bundle: size, cold import + first decision (fresh node per run, ${RUNS} runs, dynalite) ==`);
  const dir = await mkdtemp(join(tmpdir(), 'greygate-lambda-bench-'));
  const dynalite = await startDynalite();
  try {
    const definition = bundleDefinitions().find((d) => d.name === 'lambda');
    if (!definition) throw new Error('no lambda bundle definition');
    const bundle = await buildBundle(definition, dir);
    // What a cold start reads: the entry file and the chunks it imports statically; the other
    // chunks load on first use (the Public Suffix List only with organisation identity).
    const outputs = bundle.metafile.outputs;
    // Dynamically imported chunks are entry points of their own in the metafile: match the file.
    const entryKey = Object.keys(outputs).find((o) => resolve(REPO_ROOT, o) === bundle.outfile);
    const atStart = new Set<string>(entryKey === undefined ? [] : [entryKey]);
    for (const file of atStart) {
      for (const i of outputs[file]?.imports ?? []) if (i.kind === 'import-statement' && outputs[i.path]) atStart.add(i.path);
    }
    const sum = (files: Iterable<string>): number => [...files].reduce((n, f) => n + (outputs[f]?.bytes ?? 0), 0);
    const startBytes = sum(atStart);
    const verdict = startBytes < SIZE_TARGET_BYTES ? 'under' : 'OVER';
    console.log(
      `bundle: ${(startBytes / 1024).toFixed(1)} KiB read at a cold start (${startBytes} bytes; ${verdict} the ${SIZE_TARGET_BYTES / 1000} KB target), ` +
        `${(sum(Object.keys(outputs)) / 1024).toFixed(1)} KiB with the chunks loaded on first use`,
    );
    for (const [pkg, bytes] of bytesByPackage(bundle.metafile).slice(0, 10)) {
      console.log(`  ${(bytes / 1024).toFixed(1).padStart(7)} KiB  ${pkg}`);
    }

    await createTable(dynalite.client(), TABLE);
    const empty = join(dir, 'empty.mjs');
    await writeFile(empty, 'export {};\n');
    const platform = join(dir, 'platform.mjs');
    await writeFile(platform, PLATFORM_LAZY_LOADS);
    const sdkEntry = pathToFileURL(createRequire(import.meta.url).resolve('@aws-sdk/client-dynamodb')).href;
    const lambdaEnv = {
      AWS_REGION: 'eu-west-1',
      AWS_ACCESS_KEY_ID: 'AKIDBENCH',
      AWS_SECRET_ACCESS_KEY: 'bench-secret',
      AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
      AWS_LAMBDA_FUNCTION_NAME: 'greygate-bench',
      // As the Lambda runtime sets it (greygate then asks ICU nothing at start-up).
      TZ: ':UTC',
      // The SDK warns once, on its first client, that it will soon need Node 22; the function runs
      // on nodejs22.x, where that warning (a process.emitWarning and a write to stderr) never
      // happens, so the bench on Node 20 leaves it out too.
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      GREYGATE_TABLE: TABLE,
      GREYGATE_TOKEN_SHA256: sha256Hex(TOKEN),
      GREYGATE_PRIVACY_KEY: 'b'.repeat(64),
      GREYGATE_QUIET: 'true',
    };

    interface Series {
      label: string;
      node: string;
      empty: Probe[];
      platform: Probe[];
      sdk: Probe[];
      bundle: Probe[];
    }
    const newSeries = (label: string, node: string): Series => ({ label, node, empty: [], platform: [], sdk: [], bundle: [] });
    const series = [newSeries(`node ${process.version} (this machine's)`, process.execPath)];
    const runtime = lambdaRuntimeNode();
    if ('path' in runtime) {
      if (runtime.path !== process.execPath) series.push(newSeries(`node ${runtime.version} (the Lambda runtime's major)`, runtime.path));
    } else {
      console.log(`Node ${LAMBDA_NODE_MAJOR}, the Lambda runtime's major, is not available: ${runtime.missing}`);
    }
    // Interleaved so that a burst of load on the shared machine hits every series alike.
    for (let i = 0; i < RUNS; i++) {
      for (const [k, s] of series.entries()) {
        s.empty.push(await probe(s.node, pathToFileURL(empty).href, {}, dir));
        s.platform.push(await probe(s.node, pathToFileURL(platform).href, {}, dir));
        s.sdk.push(await probe(s.node, sdkEntry, {}, dir));
        const n = 2 * (i * series.length + k);
        const run = await probe(s.node, pathToFileURL(bundle.outfile).href, { ...lambdaEnv, PROBE_EVENTS: JSON.stringify([checkEvent(n), checkEvent(n + 1)]) }, dir);
        if (run.status !== 200) throw new Error(`the bundle answered ${run.status} on ${s.label}: ${JSON.stringify(run.body)}\n${run.stderr}`);
        s.bundle.push(run);
      }
    }

    for (const s of series) {
      const emptyImport = median(s.empty.map((r) => r.importMs));
      const platformImport = median(s.platform.map((r) => r.importMs));
      const sdkImport = median(s.sdk.map((r) => r.importMs));
      const bundleImport = median(s.bundle.map((r) => r.importMs));
      const first = median(s.bundle.map((r) => r.firstMs));
      const warm = median(s.bundle.map((r) => r.warmMs));
      const cold = median(s.bundle.map((r) => r.importMs + r.firstMs));
      console.log(`\n${s.label}, medians                 import    first decision   import + first`);
      console.log(`baseline: empty module                    ${ms(emptyImport).padStart(9)}`);
      console.log(`baseline: first Headers + DateTimeFormat  ${ms(platformImport).padStart(9)}`);
      console.log(`baseline: @aws-sdk/client-dynamodb (CJS)  ${ms(sdkImport).padStart(9)}`);
      console.log(`greygate Lambda bundle                    ${ms(bundleImport).padStart(9)} ${ms(first).padStart(16)} ${ms(cold).padStart(16)}`);
      console.log(`the same process's second decision (warm; mostly dynalite): ${ms(warm)}`);
      console.log(`node start-up before the import (median): ${ms(median(s.bundle.map((r) => r.boot)))}`);
      console.log(
        `ratios: bundle import / SDK-only import ${(bundleImport / sdkImport).toFixed(2)}x; ` +
          `import + first decision / SDK-only import ${(cold / sdkImport).toFixed(2)}x; ` +
          `first / warm decision ${(first / warm).toFixed(1)}x`,
      );
      console.log(`import + first decision ${ms(cold)} is ${cold < COLD_TARGET_MS ? 'under' : 'OVER'} the ${COLD_TARGET_MS} ms target on ${s.label}`);
    }
    const firstRun = series[0]?.bundle[0];
    console.log(`first answer: ${JSON.stringify(firstRun?.body)}`);
  } finally {
    await dynalite.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
