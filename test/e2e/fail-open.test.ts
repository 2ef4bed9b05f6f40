// What a Postfix admin gets from the bridge when greygate's API goes away: mail keeps flowing
// (DUNNO) and the bridge's log says why, or, with --on-error defer, senders are told to come back.
// Postfix itself keeps its default policy-failure action here (451 4.3.5), so an accepted
// message proves the bridge answered, not that Postfix gave up on it.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/temp-dir.ts';
import { CleanupStack } from './support/cleanup-stack.ts';
import { e2eSuiteName, e2eTools, warnIfSkipped } from './support/e2e-requirements.ts';
import { newApiToken, startBridge, startGreygateServe, type ApiToken, type Bridge, type GreygateServe } from './support/greygate-processes.ts';
import { startReceivingMx, type ReceivingMx } from './support/receiving-mx.ts';
import { headerValues } from './support/smtp-sink.ts';
import { sendWithSwaks } from './support/swaks.ts';

warnIfSkipped();

const E2E_TIMEOUT_MS = 60_000;

const stack = new CleanupStack();
afterEach(() => stack.stopAll());

let token: ApiToken;

interface BridgedMx extends ReceivingMx {
  serve: GreygateServe;
  bridge: Bridge;
}

/** serve --http, the bridge in front of it, and the MX asking the bridge; greylisting shown to work. */
async function startBridgedMx(bridgeArgs: string[]): Promise<BridgedMx> {
  const dir = await makeTempDir('greygate-e2e-');
  stack.defer(dir.cleanup);
  const serve = stack.add(await startGreygateServe(dir.path, ['--delay', '2'], { tokenSha256: token.sha256 }));
  const bridge = stack.add(await startBridge(dir.path, serve.apiUrl ?? '', token, bridgeArgs));
  const { mx, sink } = await startReceivingMx(stack, bridge.policyPort);
  // The API answers before it goes away: the bridge holds a kept-alive connection to it.
  const before = await sendWithSwaks({ port: mx.smtpPort, from: 'early@example.net', to: ['bob@example.org'], quitAfter: 'RCPT' });
  expect(before.rcpt('bob@example.org').code, before.transcript).toBe(450);
  return { serve, bridge, mx, sink };
}

describe.skipIf(e2eTools === null)(e2eSuiteName('Postfix with the bridge while greygate’s API is down'), () => {
  beforeAll(async () => {
    token = await newApiToken();
  }, E2E_TIMEOUT_MS);

  it(
    'accepts mail at once (fail open) and the bridge logs why',
    async () => {
      // Prepare
      const { serve, bridge, mx, sink } = await startBridgedMx([]);
      await serve.stop();
      const messageId = `fail-open-${Date.now()}@client.example.net`;

      // Act
      const session = await sendWithSwaks({ port: mx.smtpPort, from: 'alice@example.net', to: ['carol@example.org'], messageId });

      // Assess
      expect(session.rcpt('carol@example.org').code, session.transcript).toBe(250);
      expect(session.endOfData()?.code, session.transcript).toBe(250);
      const why = await bridge.process.waitForLine(/API check failed/);
      expect(why).toMatch(/API check failed \(connection: .+\), answering DUNNO: .*carol@example\.org/);
      await mx.waitForLog(new RegExp(`${session.queueId()}: removed`));
      expect(headerValues(await sink.messageWithId(messageId), 'X-Greylist')).toEqual([]);
    },
    E2E_TIMEOUT_MS,
  );

  it(
    'defers mail with --on-error defer, with the bridge’s 4.3.0 text',
    async () => {
      // Prepare
      const { serve, bridge, mx } = await startBridgedMx(['--on-error', 'defer']);
      await serve.stop();

      // Act
      const session = await sendWithSwaks({ port: mx.smtpPort, from: 'alice@example.net', to: ['carol@example.org'], quitAfter: 'RCPT' });

      // Assess
      const reply = session.rcpt('carol@example.org');
      expect(reply.code, session.transcript).toBe(450);
      expect(reply.text).toBe('4.3.0 <carol@example.org>: Recipient address rejected: greylisting service unavailable, please retry later');
      expect(await bridge.process.waitForLine(/API check failed/)).toMatch(/answering DEFER_IF_PERMIT 4\.3\.0 /);
    },
    E2E_TIMEOUT_MS,
  );
});
