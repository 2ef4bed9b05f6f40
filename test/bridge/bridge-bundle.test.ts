// The file an MX host installs: dist/greygate-bridge.mjs, built with the settings of
// build/bundle-options.ts into a temp dir (no node_modules above it) and run by a plain `node`
// with an empty environment, as systemd would. It must import nothing but Node built-ins.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle, type BuiltBundle } from '../../build/build.ts';
import { bundleDefinitions } from '../../build/bundle-options.ts';
import { startFakeApi, type FakeApi } from '../support/fake-api.ts';
import { examplePolicyRequest, PolicyClient } from '../support/policy-client.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

let dir: TempDir;
let bundle: BuiltBundle;
let api: FakeApi;
const children: ChildProcess[] = [];

beforeAll(async () => {
  dir = await makeTempDir('greygate-bridge-bundle-');
  const definition = bundleDefinitions().find((d) => d.name === 'bridge');
  if (!definition) throw new Error('no bridge bundle definition: bridge/main.ts missing?');
  bundle = await buildBundle(definition, dir.path);
  api = await startFakeApi();
});
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});
afterAll(async () => {
  await api.close();
  await dir.cleanup();
});

interface Run {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function runBundle(args: string[]): Run {
  const child = spawn(process.execPath, [bundle.outfile, ...args], { cwd: dir.path, env: { PATH: process.env.PATH ?? '' } });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function until<T>(get: () => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = get();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('dist/greygate-bridge.mjs', () => {
  it('is made of the bridge, the policy protocol and the option table only, and imports nothing but node: built-ins', async () => {
    // Prepare
    const text = await readFile(bundle.outfile, 'utf8');

    // Act
    const inputs = Object.keys(bundle.metafile.inputs);
    const imports = Object.values(bundle.metafile.outputs).flatMap((o) => o.imports.map((i) => i.path));
    // Import statements only: an option named `from` puts `"from", {` in the text too.
    const importedInText = [...text.matchAll(/^\s*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']|\bimport\s*\(\s*["']([^"']+)["']/gm)].map((m) => m[1] ?? m[2]);

    // Assess
    expect(inputs.length).toBeGreaterThan(5);
    // The option table reaches a few pure core modules for its defaults; no store, no HTTP, no SDK.
    const allowed = /^(bridge\/|policy\/|functions\/config\/|functions\/core\/policy-config\.ts$|functions\/selective\/selective\.ts$)/;
    expect(inputs.filter((i) => !allowed.test(i))).toEqual([]);
    expect(imports.filter((i) => !i.startsWith('node:'))).toEqual([]);
    expect(importedInText.length).toBeGreaterThan(0);
    expect(importedInText.filter((i) => !i?.startsWith('node:'))).toEqual([]);
    expect(text.startsWith('#!/usr/bin/env node\n')).toBe(true);
  });

  it('prints its usage with --help and exits 0; a bad flag exits 2', async () => {
    // Act
    const help = runBundle(['--help']);
    const bad = runBundle(['--api', 'https://a.example.net', '--bogus']);

    // Assess
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toMatch(/^usage: greygate-bridge --api URL/);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toBe('greygate-bridge: unknown option --bogus (see --help)\n');
  });

  it('bridges Postfix to the API with node alone, re-reads the token on SIGHUP, and drains on SIGTERM', async () => {
    // Prepare
    const tokenFile = join(dir.path, 'token');
    await writeFile(tokenFile, 'bundle-token-one\n');
    api.respond(() => ({ kind: 'json', delayMs: 200, body: { action: 'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds' } }));
    const run = runBundle(['--inet', '127.0.0.1:0', '--api', api.url, '--token-file', tokenFile]);
    const port = await until(() => /listening on 127\.0\.0\.1:(\d+)/.exec(run.stderr())?.[1], 'the bridge to listen');
    const client = await PolicyClient.connect(`127.0.0.1:${port}`);
    const seen = api.requests.length;

    // Act
    const first = await client.request(examplePolicyRequest());
    await writeFile(tokenFile, 'bundle-token-two\n');
    run.child.kill('SIGHUP');
    await until(() => (run.stderr().includes('re-read the API token') ? true : undefined), 'the token reload');
    const second = client.request(examplePolicyRequest());
    await until(() => (api.requests.length === seen + 2 ? true : undefined), 'the second request to reach the API');
    run.child.kill('SIGTERM');

    // Assess
    expect(first).toBe('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds');
    expect(await second).toBe('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 300 seconds');
    expect(await run.exited).toBe(0);
    expect(api.requests.slice(seen).map((r) => r.headers.authorization)).toEqual(['Bearer bundle-token-one', 'Bearer bundle-token-two']);
    expect(run.stderr()).toContain('SIGTERM received: answering the requests in flight, then exiting');
    expect(run.stderr()).not.toContain('bundle-token');
  });
});
