// What a broken or hostile policy client can do to the bridge: garbage lines, oversized lines,
// half requests, connections dropped mid-request. None of it may crash the bridge, reach the API,
// or keep an API request running for nobody.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closeTestBridges, startFakeApi, startTestBridge, type FakeApi } from '../support/fake-api.ts';
import { encodePolicyRequest, examplePolicyRequest, PolicyClient, sendPolicyRequests } from '../support/policy-client.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { RawConnection, waitFor } from '../policy/policy-server-harness.ts';

let api: FakeApi;
let dir: TempDir;
beforeEach(async () => {
  api = await startFakeApi();
  dir = await makeTempDir('greygate-bridge-input-');
});
afterEach(async () => {
  await closeTestBridges();
  await api.close();
  await dir.cleanup();
});

describe('greygate-bridge with bad policy clients', () => {
  it('skips garbage lines and still answers the request around them', async () => {
    // Prepare
    const { address, logs } = await startTestBridge(api.url);
    const client = await PolicyClient.connect(address);

    // Act
    const answer = client.expectAnswer();
    client.sendRaw(`no equals sign here\n${encodePolicyRequest(examplePolicyRequest())}`);

    // Assess
    expect(await answer).toBe('DUNNO');
    expect(api.requests).toHaveLength(1);
    expect(logs.text).toContain('WARNING: ignoring garbage: <no equals sign here>');
    await client.close();
  });

  it('closes a connection that sends an oversized line, without asking the API, and keeps serving others', async () => {
    // Prepare
    const { address, bridge } = await startTestBridge(api.url);
    const raw = await RawConnection.connect(address);

    // Act
    raw.write(`request=smtpd_access_policy\nsender=${'x'.repeat(10_000)}\n`);
    const closed = await raw.closesWithin(2000);
    const afterwards = await sendPolicyRequests(address, [examplePolicyRequest()]);

    // Assess
    expect(closed).toBe(true);
    expect(afterwards).toEqual(['DUNNO']);
    expect(api.requests).toHaveLength(1);
    expect(bridge.stats().policy.limitViolations).toBe(1);
  });

  it('ignores a half request from a client that went away', async () => {
    // Prepare
    const { address, bridge } = await startTestBridge(api.url);
    const raw = await RawConnection.connect(address);

    // Act
    raw.write('request=smtpd_access_policy\nclient_address=192.0.2.1\n');
    raw.destroy();
    await waitFor(() => bridge.stats().policy.connectionsOpen === 0, 'the connection to close');
    const afterwards = await sendPolicyRequests(address, [examplePolicyRequest()]);

    // Assess
    expect(afterwards).toEqual(['DUNNO']);
    expect(api.requests).toHaveLength(1);
  });

  it('abandons the API request of a client whose connection broke while it waited', async () => {
    // Prepare: an API that never answers, and a long budget
    api.respond(() => ({ kind: 'hang' }));
    const { address, bridge } = await startTestBridge(api.url, ['--timeout-ms', '10000']);
    const raw = await RawConnection.connect(address);
    raw.write(encodePolicyRequest(examplePolicyRequest()));
    await waitFor(() => api.requests.length === 1, 'the API to receive the request');

    // Act: a reset, as from a crashed client (a plain FIN is a half-close the bridge answers)
    raw.socket.resetAndDestroy();

    // Assess: well before the 10 s budget, nothing is in flight any more
    await waitFor(() => bridge.stats().policy.requestsInFlight === 0, 'the in-flight request to be abandoned', 2000);
    expect(bridge.stats().answers).toMatchObject({ abandoned: 1, onErrorAnswers: 0, failures: { connection: 0, timeout: 0 } });
  });

  it('answers an unknown request type DUNNO without asking the API', async () => {
    // Prepare
    const { address } = await startTestBridge(api.url);

    // Act
    const answers = await sendPolicyRequests(address, [examplePolicyRequest({ request: 'junk' })]);

    // Assess
    expect(answers).toEqual(['DUNNO']);
    expect(api.requests).toHaveLength(0);
  });

  it('listens on a unix socket with the requested mode', async () => {
    // Prepare
    const path = join(dir.path, 'bridge.sock');
    const { bridge } = await startTestBridge(api.url, ['--unix', path, '--socketmode', '0660']);

    // Act
    const answers = await sendPolicyRequests({ kind: 'unix', path }, [examplePolicyRequest()]);

    // Assess
    expect(answers).toEqual(['DUNNO']);
    expect((await stat(path)).mode & 0o777).toBe(0o660);
    expect(bridge.addresses()).toContain(`unix:${path}`);
  });
});
