// `--report-only`, as an admin uses it beside Postgrey: greygate decides and stores as usual, logs
// what it would have answered, and answers DUNNO; started again without the flag on the same
// database, it passes the triplets it learned meanwhile. A real SQLite file behind a real serve.

import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { parseServeConfig } from '../../functions/config/serve-config.ts';
import { examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { startServeHarness, type ServeHarness } from '../support/serve-harness.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const T0 = 1_795_832_317;
const harnesses: ServeHarness[] = [];
let shared: TempDir | undefined;

afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.stop();
  await shared?.cleanup();
  shared = undefined;
});

async function start(args: string[]): Promise<ServeHarness> {
  const h = await startServeHarness(args);
  harnesses.push(h);
  return h;
}

const at = (t: number, extra: Record<string, string> = {}) => examplePolicyRequest({ policy_test_time: String(t), instance: `i${t}`, ...extra });

describe('greygate serve --report-only', () => {
  it('answers DUNNO to every request while it logs the greylisting it would have done', async () => {
    // Prepare
    const h = await start(['--delay', '2', '--report-only']);

    // Act
    const answers = await sendPolicyRequests(h.policyAddress, [at(T0), at(T0 + 1), at(T0 + 3), at(T0 + 4)]);

    // Assess: no deferral and no X-Greylist header reaches Postfix
    expect(answers).toEqual(['DUNNO', 'DUNNO', 'DUNNO', 'DUNNO']);
    const info = h.logger.messages('info');
    const tail = 'client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org, report_only=yes';
    expect(info).toContain(`action=greylist, reason=new, ${tail}`);
    expect(info).toContain(`action=greylist, reason=early-retry (1s missing), ${tail}`);
    expect(info).toContain(`action=pass, reason=triplet found, delay=3, ${tail}`);
    expect(info.some((line) => line.includes('REPORT-ONLY'))).toBe(true);
  });

  it('says over HTTP what it would have answered, while the answer itself lets the mail through', async () => {
    // Prepare
    const h = await start(['--delay', '300', '--report-only']);

    // Act
    const res = await fetch(`${h.httpUrl}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_address: '198.51.100.7', client_name: 'mx.example.com', sender: 'a@example.com', recipient: 'b@example.org' }),
    });

    // Assess
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      action: 'DUNNO',
      verdict: 'pass',
      reason: 'new',
      report_only: { verdict: 'greylist', action: 'DEFER_IF_PERMIT Greylisted, please retry in 300 seconds', retry_after_seconds: 300 },
    });
    const fields = h.logger.lines.find((l) => l.msg.startsWith('action=greylist, reason=new'))?.fields;
    expect(fields).toMatchObject({ verdict: 'greylist', action: 'DUNNO', would_action: 'DEFER_IF_PERMIT Greylisted, please retry in 300 seconds' });
  });

  it('counts in /metrics what it would have answered, not the DUNNO it answered', async () => {
    // Prepare
    const h = await start(['--delay', '2', '--report-only']);

    // Act: a new triplet, an early retry, a retry after the delay
    await sendPolicyRequests(h.policyAddress, [at(T0), at(T0 + 1), at(T0 + 3)]);
    const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();

    // Assess
    expect(metrics).toContain('greygate_decisions_total{verdict="greylist",reason="new"} 1');
    expect(metrics).toContain('greygate_decisions_total{verdict="greylist",reason="early-retry"} 1');
    expect(metrics).toContain('greygate_decisions_total{verdict="pass",reason="triplet-found"} 1');
  });

  it('leaves a database that passes the learned triplets once started without --report-only', async () => {
    // Prepare: a week beside Postgrey, compressed: first attempt and a retry after the delay
    shared = await makeTempDir('greygate-report-only-');
    const dbdir = join(shared.path, 'db');
    const learning = await start(['--delay', '2', '--report-only', '--dbdir', dbdir]);
    const known = at(T0);
    expect(await sendPolicyRequests(learning.policyAddress, [known, at(T0 + 3)])).toEqual(['DUNNO', 'DUNNO']);
    await learning.stop();
    harnesses.splice(harnesses.indexOf(learning), 1);

    // Act: the switch, on the same database
    const live = await start(['--delay', '2', '--dbdir', dbdir]);
    const unknown = at(T0 + 10, { sender: 'someone@elsewhere.example' });
    const answers = await sendPolicyRequests(live.policyAddress, [at(T0 + 10), unknown]);

    // Assess: the known correspondent passes at once, a new one is greylisted for real
    expect(answers[0]).toBe('DUNNO');
    expect(answers[1]).toBe('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds');
    expect(live.logger.messages('info')).toContain(
      'action=pass, reason=triplet found, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org',
    );
  });

  it('is taken from GREYGATE_REPORT_ONLY as from the flag', () => {
    expect(parseServeConfig([], { GREYGATE_REPORT_ONLY: '1' }).config.reportOnly).toBe(true);
    expect(parseServeConfig([], {}).config.reportOnly).toBe(false);
  });
});
