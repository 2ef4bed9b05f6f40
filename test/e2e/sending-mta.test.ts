// Greylisting as the internet sees it: a real sending MTA (a second private Postfix, with backoff
// times of seconds instead of minutes) relays a message to the MX that asks greygate. The sender
// must be greylisted on its first try, deliver on its own retry, and end with an empty queue.

import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/temp-dir.ts';
import { CleanupStack } from './support/cleanup-stack.ts';
import { e2eSuiteName, e2eTools, warnIfSkipped } from './support/e2e-requirements.ts';
import { startGreygateServe } from './support/greygate-processes.ts';
import { startPostfix } from './support/postfix-instance.ts';
import { startReceivingMx } from './support/receiving-mx.ts';
import { headerValues } from './support/smtp-sink.ts';
import { sendWithSwaks } from './support/swaks.ts';

warnIfSkipped();

const E2E_TIMEOUT_MS = 60_000;

const stack = new CleanupStack();
afterEach(() => stack.stopAll());

describe.skipIf(e2eTools === null)(e2eSuiteName('A sending Postfix retrying through greylisting'), () => {
  it(
    'is greylisted on its first try, delivers on its own retry, and its queue ends empty',
    async () => {
      // Prepare: greygate, the MX asking it, and a sender relaying everything to the MX
      const dir = await makeTempDir('greygate-e2e-');
      stack.defer(dir.cleanup);
      const serve = stack.add(await startGreygateServe(dir.path, ['--delay', '2']));
      const { mx, sink } = await startReceivingMx(stack, serve.policyPort);
      const sender = stack.add(
        await startPostfix({
          name: 'sender',
          relayPort: mx.smtpPort,
          mynetworks: '127.0.0.0/8',
          smtpdRecipientRestrictions: 'permit_mynetworks, reject',
          mainCf: { minimal_backoff_time: '2s', maximal_backoff_time: '4s', queue_run_delay: '1s' },
        }),
      );
      const messageId = `sending-mta-${Date.now()}@sender.greygate.test`;

      // Act: a user submits one message to the sending MTA
      const submission = await sendWithSwaks({ port: sender.smtpPort, from: 'alice@example.net', to: ['erin@example.org'], messageId });
      const queueId = submission.queueId();

      // Assess: the sender's first try greylisted, its retry delivered, nothing left queued
      expect(submission.endOfData()?.code, submission.transcript).toBe(250);
      expect(queueId, submission.transcript).not.toBeNull();
      const deferred = await sender.waitForLog(new RegExp(`${queueId}: to=<erin@example\\.org>.*status=deferred`));
      expect(deferred).toMatch(/said: 450 4\.2\.0 <erin@example\.org>: Recipient address rejected: Greylisted, please retry in \d+ seconds/);
      const sent = await sender.waitForLog(new RegExp(`${queueId}: to=<erin@example\\.org>.*status=sent`), { timeoutMs: 30_000 });
      expect(sent).toContain(`relay=127.0.0.1[127.0.0.1]:${mx.smtpPort}`);
      await mx.waitForLog(new RegExp(`to=<erin@example\\.org>, relay=127\\.0\\.0\\.1\\[127\\.0\\.0\\.1\\]:${sink.port},.*status=sent`));
      const delivered = await sink.messageWithId(messageId);
      expect(headerValues(delivered, 'X-Greylist')).toHaveLength(1);
      await sender.waitForLog(new RegExp(`${queueId}: removed`));
      expect((await sender.queueListing()).trim()).toBe('Mail queue is empty');
    },
    E2E_TIMEOUT_MS,
  );
});
