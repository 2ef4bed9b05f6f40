// The `greygate` command as an installed package runs it: bin/greygate.mjs loads dist/greygate.mjs,
// one file next to node_modules, which starts the SQLite checkpoint worker from its own file beside
// it. Built here into a scratch folder inside the checkout (so packages and whitelists/ resolve as
// they do from dist/), then started with plain node.

import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildBundle } from '../../build/build.ts';
import { bundleDefinitions, REPO_ROOT } from '../../build/bundle-options.ts';
import { freePort, startProcess, waitForPort } from '../../bench/processes.ts';
import { examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { makeTempDir } from '../support/temp-dir.ts';

const run = promisify(execFile);
let outDir: string;
let bundle: string;
let checkpointWorker: string;

beforeAll(async () => {
  outDir = mkdtempSync(join(REPO_ROOT, '.test-dist-'));
  const definition = bundleDefinitions().find((d) => d.name === 'cli');
  if (!definition) throw new Error('no cli bundle definition');
  const built = await buildBundle(definition, outDir);
  bundle = built.outfile;
  checkpointWorker = built.workerFiles.find((file) => file.endsWith('/sqlite-checkpoint-worker.mjs')) ?? '';
});
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

/** How many descriptors process `pid` holds on `file`: SQLite opens it once per connection. */
function descriptorsOn(pid: number, file: string): number {
  const fds = `/proc/${pid}/fd`;
  return readdirSync(fds).filter((fd) => {
    try {
      return readlinkSync(join(fds, fd)) === file;
    } catch {
      return false; // closed meanwhile
    }
  }).length;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the greygate command bundle', () => {
  it('prints its version and the bridge help with nothing but node', async () => {
    const version = await run(process.execPath, [bundle, 'version']);
    const bridgeHelp = await run(process.execPath, [bundle, 'bridge', '--help']);
    expect(version.stdout).toMatch(/^greygate \d+\.\d+\.\d+/);
    expect(bridgeHelp.stdout).toContain('usage: greygate-bridge --api URL');
  });

  it('runs the admin commands (allow, explain) with nothing but node', async () => {
    const dir = await makeTempDir();
    try {
      const db = join(dir.path, 'db');
      const added = await run(process.execPath, [bundle, 'allow', 'add', '--client=192.0.2.0/24', '--dbdir', db]);
      expect(added.stdout).toContain('added client:192.0.2.0/24');
      const explained = await run(process.execPath, [bundle, 'explain', '--client-address=192.0.2.7', '--sender=a@example.net', '--recipient=b@example.org', '--dbdir', db]);
      expect(explained.stdout).toContain('decision: pass (allow-entry)');
    } finally {
      await dir.cleanup();
    }
  });

  it('serves policy requests, with the shipped whitelists found next to it', async () => {
    // Prepare
    const dir = await makeTempDir();
    const port = await freePort();
    const proc = startProcess(process.execPath, [bundle, 'serve', '--inet', `127.0.0.1:${port}`, '--no-http', '--dbdir', dir.path, '--delay', '2']);
    try {
      await waitForPort(port, 15_000, proc.child);

      // Act
      const answers = await sendPolicyRequests(`127.0.0.1:${port}`, [
        examplePolicyRequest(),
        examplePolicyRequest({ recipient: 'postmaster@example.org' }),
      ]);

      // Assess
      expect(answers).toEqual(['DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds', 'DUNNO']);
      expect(proc.stderr()).not.toContain("can't open");
      expect(proc.stderr()).not.toContain('checkpoint thread');
    } finally {
      await proc.stop();
      await dir.cleanup();
    }
  });

  // /proc shows the worker's own connection to the database file, beside the store's.
  it.runIf(process.platform === 'linux')('starts its WAL checkpoint worker from the file built beside it', async () => {
    // Prepare
    const dir = await makeTempDir();
    const port = await freePort();
    const proc = startProcess(process.execPath, [bundle, 'serve', '--inet', `127.0.0.1:${port}`, '--no-http', '--dbdir', dir.path]);
    try {
      await waitForPort(port, 15_000, proc.child);
      const pid = proc.child.pid ?? 0;

      // Act
      await until(() => descriptorsOn(pid, join(dir.path, 'greygate.sqlite')) === 2, "the worker's connection");

      // Assess
      expect(checkpointWorker).toBe(join(outDir, 'sqlite-checkpoint-worker.mjs'));
      expect(proc.stderr()).not.toContain('checkpoint thread');
    } finally {
      await proc.stop();
      await dir.cleanup();
    }
  });

  it('still serves without its checkpoint worker file, saying why, with SQLite checkpointing in the commits', async () => {
    // Prepare: an installation that lost the worker file
    const dir = await makeTempDir();
    const port = await freePort();
    const aside = `${checkpointWorker}.aside`;
    renameSync(checkpointWorker, aside);
    const proc = startProcess(process.execPath, [bundle, 'serve', '--inet', `127.0.0.1:${port}`, '--no-http', '--dbdir', dir.path, '--delay', '2']);
    try {
      await waitForPort(port, 15_000, proc.child);

      // Act
      const answers = await sendPolicyRequests(`127.0.0.1:${port}`, [examplePolicyRequest()]);
      await until(() => proc.stderr().includes('checkpoint thread'), 'the warning');

      // Assess
      expect(answers).toEqual(['DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds']);
      expect(proc.stderr()).toMatch(
        /WARNING: the WAL checkpoint thread stopped \(Cannot find module '[^']*sqlite-checkpoint-worker\.mjs'\); SQLite checkpoints inside commits again/,
      );
    } finally {
      await proc.stop();
      renameSync(aside, checkpointWorker);
      await dir.cleanup();
    }
  });
});
