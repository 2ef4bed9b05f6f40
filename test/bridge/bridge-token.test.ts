// The API token is a secret on every MX: it goes into the Authorization header and nowhere else.
// These tests drive the bridge through the situations that log the most (401, failures, reloads,
// a broken token file, verbose mode, both log formats) and grep every captured byte for it.

import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseBridgeConfig } from '../../bridge/bridge-config.ts';
import { BearerToken } from '../../bridge/bridge-token.ts';
import { closeTestBridges, startFakeApi, startTestBridge, type FakeApi } from '../support/fake-api.ts';
import { examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const TOKEN = 'tOkEn-DISTINCTIVE-4f9c2b7e1a';
const NEXT_TOKEN = 'tOkEn-ROTATED-8d3e6a0c5b';

let dir: TempDir;
let api: FakeApi;
beforeEach(async () => {
  dir = await makeTempDir('greygate-bridge-token-');
  api = await startFakeApi();
});
afterEach(async () => {
  await closeTestBridges();
  await api.close();
  await dir.cleanup();
});

describe('greygate-bridge and its API token', () => {
  it('sends the token as a bearer token, trailing newline trimmed, and the rotated one after a reload', async () => {
    // Prepare
    const tokenFile = join(dir.path, 'token');
    await writeFile(tokenFile, `${TOKEN}\r\n`);
    const { address, bridge } = await startTestBridge(api.url, ['--token-file', tokenFile]);

    // Act
    await sendPolicyRequests(address, [examplePolicyRequest()]);
    await writeFile(tokenFile, `${NEXT_TOKEN}\n`);
    await bridge.reloadToken();
    await sendPolicyRequests(address, [examplePolicyRequest()]);

    // Assess
    expect(api.requests.map((r) => r.headers.authorization)).toEqual([`Bearer ${TOKEN}`, `Bearer ${NEXT_TOKEN}`]);
  });

  it('keeps the old token when the re-read file is unusable, and says so', async () => {
    // Prepare
    const tokenFile = join(dir.path, 'token');
    await writeFile(tokenFile, TOKEN);
    const { address, bridge, logs } = await startTestBridge(api.url, ['--token-file', tokenFile]);

    // Act: an editor left the file half-written
    await writeFile(tokenFile, `${NEXT_TOKEN} and more\n`);
    await bridge.reloadToken();
    await sendPolicyRequests(address, [examplePolicyRequest()]);

    // Assess
    expect(api.requests[0]?.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(logs.text).toMatch(/ERROR: BridgeTokenError \[ERR_BRIDGE_TOKEN\]: --token-file .*: expected one token .*; still using the previous token/);
  });

  for (const format of ['text', 'json'] as const) {
    it(`never writes the token to the log (${format} lines, verbose)`, async () => {
      // Prepare
      const tokenFile = join(dir.path, 'token');
      await writeFile(tokenFile, `${TOKEN}\n`);
      const { address, bridge, logs } = await startTestBridge(api.url, ['--token-file', tokenFile, '--log-format', format, '--timeout-ms', '200']);

      // Act: a 401, a 500, a hang, a garbage answer, a good reload, a bad reload, a vanished file
      const replies = [
        { kind: 'json', status: 401, body: { error: { code: 'unauthorized', message: 'missing or wrong bearer token' } } },
        { kind: 'json', status: 500, body: { error: { code: 'internal', message: 'internal error' } } },
        { kind: 'hang' },
        { kind: 'raw', text: 'not json' },
      ] as const;
      for (const reply of replies) {
        api.respond(() => reply);
        await sendPolicyRequests(address, [examplePolicyRequest()]);
      }
      await writeFile(tokenFile, `${NEXT_TOKEN}\n`);
      await bridge.reloadToken();
      await writeFile(tokenFile, `${TOKEN} ${NEXT_TOKEN}\n`);
      await bridge.reloadToken();
      await rm(tokenFile);
      await bridge.reloadToken();
      await bridge.close();

      // Assess
      expect(logs.lines().length).toBeGreaterThanOrEqual(7);
      expect(logs.text).toMatch(/API refused the token \(HTTP 401 unauthorized\)/);
      expect(logs.text).not.toContain(TOKEN);
      expect(logs.text).not.toContain(NEXT_TOKEN);
      expect(logs.text).not.toContain('DISTINCTIVE');
      expect(logs.text).not.toContain('ROTATED');
    });
  }

  it('shows no token when the config or the token object is printed', async () => {
    // Prepare
    const tokenFile = join(dir.path, 'token');
    await writeFile(tokenFile, TOKEN);
    const parsed = parseBridgeConfig(['--api', api.url, '--token-file', tokenFile], {});
    if (parsed.help) throw new Error('unexpected --help');

    // Act
    const token = await BearerToken.load(parsed.config.token, {});
    const fromEnv = await BearerToken.load({ kind: 'env' }, { GREYGATE_TOKEN: TOKEN });
    const printed = [JSON.stringify(parsed.config), inspect(parsed.config), JSON.stringify(token), inspect(token), inspect(fromEnv), String(token)];

    // Assess
    expect(token.header()).toBe(`Bearer ${TOKEN}`);
    for (const text of printed) expect(text).not.toContain(TOKEN);
  });
});
