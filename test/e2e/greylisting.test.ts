// A real Postfix greylisting real SMTP sessions, the way it runs in production: once with
// `greygate serve` as its policy service, once with the bridge in front of `greygate serve --http`.
// Both must give a sender the same answers: 450 4.2.0 with greygate's text first, 250 after the
// delay, one X-Greylist header per delivered message, and postmaster@ never delayed.

import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/temp-dir.ts';
import { CleanupStack } from './support/cleanup-stack.ts';
import { e2eSuiteName, e2eTools, warnIfSkipped } from './support/e2e-requirements.ts';
import { newApiToken, startBridge, startGreygateServe, type ApiToken } from './support/greygate-processes.ts';
import { startReceivingMx, type ReceivingMx } from './support/receiving-mx.ts';
import { headerValues } from './support/smtp-sink.ts';
import { sendWithSwaks } from './support/swaks.ts';

warnIfSkipped();

const DELAY_SECONDS = 2;
const E2E_TIMEOUT_MS = 60_000;
const SENDER = 'alice@example.net';
const RECIPIENTS = ['bob@example.org', 'carol@example.org', 'dave@example.org'];

const stack = new CleanupStack();
afterEach(() => stack.stopAll());

let token: ApiToken;

type Mode = 'serve' | 'bridge';

/** The MX with its policy service: serve's own policy port, or the bridge asking serve's HTTP API. */
async function startMailSystem(mode: Mode): Promise<ReceivingMx> {
  const dir = await makeTempDir('greygate-e2e-');
  stack.defer(dir.cleanup);
  const greylisting = ['--delay', String(DELAY_SECONDS)];
  if (mode === 'serve') {
    const serve = stack.add(await startGreygateServe(dir.path, greylisting));
    return startReceivingMx(stack, serve.policyPort);
  }
  const serve = stack.add(await startGreygateServe(dir.path, greylisting, { tokenSha256: token.sha256 }));
  const bridge = stack.add(await startBridge(dir.path, serve.apiUrl ?? '', token));
  return startReceivingMx(stack, bridge.policyPort);
}

function sleepUntil(time: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, time - Date.now())));
}

describe.skipIf(e2eTools === null)(e2eSuiteName('Postfix greylists through greygate'), () => {
  beforeAll(async () => {
    token = await newApiToken();
  }, E2E_TIMEOUT_MS);

  describe.each<Mode>(['serve', 'bridge'])('with greygate %s as the policy service', (mode) => {
    it(
      'defers a new sender with 450 4.2.0 and greygate’s text, then delivers its retry after the delay with one X-Greylist header for three recipients',
      async () => {
        // Prepare
        const { mx, sink } = await startMailSystem(mode);
        const messageId = `three-recipients-${mode}-${Date.now()}@client.example.net`;

        // Act: the first attempt, then the retry once the delay has passed
        const first = await sendWithSwaks({ port: mx.smtpPort, from: SENDER, to: RECIPIENTS, quitAfter: 'RCPT' });
        const firstEnded = Date.now();
        await sleepUntil(firstEnded + DELAY_SECONDS * 1000 + 100);
        const retry = await sendWithSwaks({ port: mx.smtpPort, from: SENDER, to: RECIPIENTS, messageId });

        // Assess: every recipient deferred at first, in Postfix's words around greygate's text
        for (const rcpt of RECIPIENTS) {
          const reply = first.rcpt(rcpt);
          expect(reply.code, first.transcript).toBe(450);
          expect(reply.text).toMatch(new RegExp(`^4\\.2\\.0 <${rcpt}>: Recipient address rejected: Greylisted, please retry in \\d+ seconds$`));
        }
        // Assess: the retry accepted for all three and queued
        for (const rcpt of RECIPIENTS) expect(retry.rcpt(rcpt).code, retry.transcript).toBe(250);
        expect(retry.endOfData()?.code, retry.transcript).toBe(250);
        const queueId = retry.queueId();
        expect(queueId, retry.transcript).not.toBeNull();
        // Assess: delivered once, to all three, with exactly one X-Greylist header
        await mx.waitForLog(new RegExp(`${queueId}: removed`));
        const delivered = await sink.messageWithId(messageId);
        expect(headerValues(delivered, 'X-Rcpt-Args')).toHaveLength(3);
        const greylistHeaders = headerValues(delivered, 'X-Greylist');
        expect(greylistHeaders, delivered.text).toHaveLength(1);
        expect(greylistHeaders[0]).toMatch(/^delayed \d+ seconds by greygate-\S+ at mx\.greygate\.test; /);
      },
      E2E_TIMEOUT_MS,
    );

    it(
      'accepts mail to postmaster@ at once, without an X-Greylist header',
      async () => {
        // Prepare
        const { mx, sink } = await startMailSystem(mode);
        const messageId = `postmaster-${mode}-${Date.now()}@client.example.net`;

        // Act
        const session = await sendWithSwaks({ port: mx.smtpPort, from: SENDER, to: ['postmaster@example.org'], messageId });

        // Assess
        expect(session.rcpt('postmaster@example.org').code, session.transcript).toBe(250);
        expect(session.endOfData()?.code, session.transcript).toBe(250);
        await mx.waitForLog(new RegExp(`${session.queueId()}: removed`));
        const delivered = await sink.messageWithId(messageId);
        expect(headerValues(delivered, 'X-Greylist')).toEqual([]);
      },
      E2E_TIMEOUT_MS,
    );
  });
});
