// The package as an admin gets it: `npm pack` (whose prepack builds dist/), then the tarball
// installed with `npm install -g --prefix` into an empty folder outside the checkout, so nothing of
// the checkout's node_modules (tsx, TypeScript, esbuild) can be reached. The installed commands
// then run with plain node: `greygate --help`, `greygate serve` answering a policy request over
// TCP, and `greygate-bridge` relaying a request to that serve's HTTP API.
// Slow: npm compiles better-sqlite3 against the system's Node headers (about two minutes).

import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/bundle-options.ts';
import { freePort, startProcess, waitForPort, type Started } from '../../bench/processes.ts';
import { examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';

const run = promisify(execFile);

function npmVersion(): string | undefined {
  try {
    return execFileSync('npm', ['--version']).toString().trim();
  } catch {
    return undefined;
  }
}

const npm = npmVersion();
const INSTALL_TIMEOUT_MS = 10 * 60_000;

/** Top-level entries of the checkout that are not sources: outputs, state, other tools' folders. */
const NOT_COPIED = /^(node_modules|dist|data|cdk\.out|\.git|\.bench-tmp|\.test-dist-.*)$/;

/**
 * A copy of the checkout's sources with its node_modules linked in, to pack from: prepack rebuilds
 * dist/, which other tests run (bin/greygate.mjs) while this one packs.
 */
function stageCheckout(into: string): void {
  cpSync(REPO_ROOT, into, {
    recursive: true,
    filter: (src) => !NOT_COPIED.test(relative(REPO_ROOT, src).split('/')[0] ?? ''),
  });
  symlinkSync(join(REPO_ROOT, 'node_modules'), join(into, 'node_modules'));
}

interface PackedFile {
  path: string;
}

// Runs only without npm is skipped: the package cannot be built or installed then.
describe.skipIf(npm === undefined)('the packed tarball installed into an empty prefix (needs npm)', () => {
  let work: string;
  let prefix: string;
  let binDir: string;
  let files: string[];
  const started: Started[] = [];

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'greygate-pack-'));
    prefix = join(work, 'prefix');
    binDir = join(prefix, 'bin');
    const stage = join(work, 'checkout');
    stageCheckout(stage);
    const packed = await run('npm', ['pack', '--json', '--pack-destination', work], {
      cwd: stage,
      maxBuffer: 64 * 1024 * 1024,
    });
    const report = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: PackedFile[] }[];
    const first = report[0];
    if (!first) throw new Error(`npm pack printed no report: ${packed.stdout}`);
    files = first.files.map((f) => f.path);
    const tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) ?? first.filename);
    // Run from the empty work folder, so no node_modules above the checkout is on the resolution path;
    // nodedir: better-sqlite3 compiles against the installed Node's headers, not a download.
    await run('npm', ['install', '-g', '--prefix', prefix, '--nodedir=/usr', '--no-audit', '--no-fund', tarball], {
      cwd: work,
      maxBuffer: 64 * 1024 * 1024,
      env: { ...process.env, npm_config_nodedir: '/usr' },
    });
  }, INSTALL_TIMEOUT_MS);

  afterAll(async () => {
    for (const proc of started) await proc.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('holds the built bundles and no TypeScript, test or bench file', () => {
    expect(files).toEqual(expect.arrayContaining(['dist/greygate.mjs', 'dist/greygate-bridge.mjs', 'dist/lambda/index.mjs', 'bin/greygate.mjs']));
    expect(files).toEqual(expect.arrayContaining(['dist/cdk/index.mjs', 'dist/cdk/index.d.ts']));
    // Declarations (.d.ts, for greygate/cdk's TypeScript users) are not sources.
    const sources = files.filter((f) => (f.endsWith('.ts') && !f.endsWith('.d.ts')) || /^(test|bench|infra|build|functions|policy|bridge)\//.test(f));
    expect(sources).toEqual([]);
  });

  it('installs no tsx or TypeScript beside it', () => {
    const modules = join(prefix, 'lib/node_modules/greygate/node_modules');
    const installed = readdirSync(modules);
    expect(installed).toContain('better-sqlite3');
    expect(installed.filter((name) => ['tsx', 'typescript', 'esbuild', 'vitest'].includes(name))).toEqual([]);
  });

  it('gives a CDK app the construct as greygate/cdk: two instances in one stack synthesize, and its types check', async () => {
    // The app's own dependencies, as `npm install aws-cdk-lib constructs` would put them beside greygate.
    const modules = join(prefix, 'lib/node_modules');
    for (const name of ['aws-cdk-lib', 'constructs', '@types']) symlinkSync(join(REPO_ROOT, 'node_modules', name), join(modules, name));
    const app = join(prefix, 'lib');
    writeFileSync(join(app, 'package.json'), '{ "type": "module" }\n');
    const source = [
      "import { App, Stack } from 'aws-cdk-lib';",
      "import { Greygate, parseGreygateContext } from 'greygate/cdk';",
      'const app = new App();',
      "const stack = new Stack(app, 'Mail');",
      "const token = { 'greygate:tokenSha256': 'a1'.repeat(32) };",
      "new Greygate(stack, 'Inbound', { settings: parseGreygateContext({ ...token, 'greygate:delay': '120' }) });",
      "new Greygate(stack, 'Outbound', { settings: parseGreygateContext({ ...token, 'greygate:preset': 'recommended' }) });",
      'app.synth();',
      '',
    ].join('\n');
    writeFileSync(join(app, 'app.ts'), source);
    writeFileSync(join(app, 'app.mjs'), source);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'] }, files: ['app.ts'] }),
    );

    await run(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', app]);
    const out = join(work, 'cdk.out');
    await run(process.execPath, [join(app, 'app.mjs')], { cwd: app, env: { ...process.env, CDK_OUTDIR: out } });
    const template = JSON.parse(readFileSync(join(out, 'Mail.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Environment?: { Variables: Record<string, unknown> } } }> };
    const functions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Function');
    expect(functions.map((f) => f.Properties.Environment?.Variables.GREYGATE_DELAY ?? f.Properties.Environment?.Variables.GREYGATE_PRESET)).toEqual(['120', 'recommended']);
    // The code asset is the Lambda bundle the package ships, not a build at synth.
    const assets = readdirSync(out).filter((f) => f.startsWith('asset.'));
    expect(assets).toHaveLength(1);
    expect(readFileSync(join(out, assets[0] ?? '', 'index.mjs'))).toEqual(readFileSync(join(modules, 'greygate/dist/lambda/index.mjs')));
  }, 120_000);

  it('prints its help', async () => {
    const help = await run(join(binDir, 'greygate'), ['--help']);
    expect(help.stdout).toContain('serve');
  });

  it('serves a policy request without the AWS SDK, and the installed bridge relays one to its HTTP API', async () => {
    // Moved away while serve runs: a single-host serve (and its HTTP API) must never load the SDK,
    // which only --store dynamodb and create-table import.
    const sdk = join(prefix, 'lib/node_modules/greygate/node_modules/@aws-sdk');
    expect(existsSync(sdk)).toBe(true);
    renameSync(sdk, `${sdk}.moved`);
    const policyPort = await freePort();
    const httpPort = await freePort();
    const bridgePort = await freePort();
    const token = 'pack-install-token-1c9e';
    const tokenHash = createHash('sha256').update(token).digest('hex');
    const serve = startProcess(join(binDir, 'greygate'), [
      'serve',
      '--inet', `127.0.0.1:${policyPort}`,
      '--http', `127.0.0.1:${httpPort}`,
      '--token-sha256', tokenHash,
      '--dbdir', join(work, 'db'),
      '--delay', '2',
    ], { cwd: work });
    started.push(serve);
    await waitForPort(policyPort, 20_000, serve.child).catch((err: Error) => {
      throw new Error(`${err.message}\n${serve.stderr()}`);
    });
    const direct = await sendPolicyRequests(`127.0.0.1:${policyPort}`, [examplePolicyRequest()]);
    expect(direct[0]).toMatch(/^DEFER_IF_PERMIT /);

    const bridge = startProcess(join(binDir, 'greygate-bridge'), [
      '--inet', `127.0.0.1:${bridgePort}`,
      '--api', `http://127.0.0.1:${httpPort}`,
      // A busy CI machine must not turn a slow first answer into the bridge's fail-open DUNNO.
      '--timeout-ms', '20000',
      '-v',
    ], { cwd: work, env: { ...process.env, GREYGATE_TOKEN: token } });
    started.push(bridge);
    await waitForPort(bridgePort, 20_000, bridge.child).catch((err: Error) => {
      throw new Error(`${err.message}\n${bridge.stderr()}`);
    });
    // A new triplet through the bridge: greylisted only if the request reached serve (the bridge
    // fails open with DUNNO).
    const relayed = await sendPolicyRequests(`127.0.0.1:${bridgePort}`, [examplePolicyRequest({ recipient: 'carol@example.org' })], { timeoutMs: 25_000 });
    expect(relayed[0], `bridge log:\n${bridge.stderr()}\nserve log:\n${serve.stderr()}`).toMatch(/^DEFER_IF_PERMIT /);
    // The check above can fail: what needs the SDK does fail without it.
    const create = await run(join(binDir, 'greygate'), ['create-table', '--table', 'x', '--dynamodb-endpoint', 'http://127.0.0.1:9']).then(
      () => 'succeeded',
      (err: { stderr: string }) => err.stderr,
    );
    expect(create).toContain('@aws-sdk');
    renameSync(`${sdk}.moved`, sdk);
    const bridgeHelp = await run(join(binDir, 'greygate-bridge'), ['--help']);
    expect(bridgeHelp.stdout).toContain('usage: greygate-bridge --api URL');
  }, 60_000);
});
