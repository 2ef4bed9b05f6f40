// The `greygate` command as an installed package runs it: bin/greygate.mjs loads dist/greygate.mjs,
// one file next to node_modules. Built here into a scratch folder inside the checkout (so packages
// and whitelists/ resolve as they do from dist/), then started with plain node.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
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

beforeAll(async () => {
  outDir = mkdtempSync(join(REPO_ROOT, '.test-dist-'));
  const definition = bundleDefinitions().find((d) => d.name === 'cli');
  if (!definition) throw new Error('no cli bundle definition');
  bundle = (await buildBundle(definition, outDir)).outfile;
});
afterAll(() => {
  rmSync(outDir, { recursive: true, force: true });
});

describe('the greygate command bundle', () => {
  it('prints its version and the bridge help with nothing but node', async () => {
    const version = await run(process.execPath, [bundle, 'version']);
    const bridgeHelp = await run(process.execPath, [bundle, 'bridge', '--help']);
    expect(version.stdout).toMatch(/^greygate \d+\.\d+\.\d+/);
    expect(bridgeHelp.stdout).toContain('usage: greygate-bridge --api URL');
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
    } finally {
      await proc.stop();
      await dir.cleanup();
    }
  });
});
