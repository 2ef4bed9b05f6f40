// POST /v1/check as an API caller meets it: the decision's JSON answer, and what the decision
// service is asked, given the Postfix attributes sent as JSON keys.

import { describe, expect, it } from 'vitest';
import type { Decision } from '../../functions/core/types.ts';
import { GREYLIST_DECISION } from '../support/fake-decision-service.ts';
import { appUnderTest } from '../support/http-app.ts';

const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z
const MINIMAL = { client_address: '192.0.2.1', sender: 'a@b.example', recipient: 'c@d.example' };

describe('POST /v1/check: the answer', () => {
  it('answers a greylisted request with the action, verdict, reason and retry_after_seconds, as JSON', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    const res = await t.check(MINIMAL);

    // Assess
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.json).toEqual({
      action: 'DEFER_IF_PERMIT Greylisted, please retry in 300 seconds',
      verdict: 'greylist',
      reason: 'new',
      retry_after_seconds: 300,
    });
  });

  it('answers a first pass with its X-Greylist header, and a plain pass with action, verdict and reason only', async () => {
    // Prepare
    const t = appUnderTest();
    const header = 'X-Greylist: delayed 301 seconds by greygate-0.1.0 at mx.test; Thu, 01 Jan 2026 00:05:01 +0000';
    const firstPass: Decision = { verdict: 'pass', reason: 'triplet-found', action: `PREPEND ${header}`, header, delayedSeconds: 301, writes: {}, events: [] };
    const pass: Decision = { verdict: 'pass', reason: 'triplet-found', action: 'DUNNO', writes: {}, events: [] };

    // Act
    t.service.answer(firstPass);
    const first = await t.check(MINIMAL);
    t.service.answer(pass);
    const later = await t.check(MINIMAL);

    // Assess
    expect(first.json).toEqual({ action: `PREPEND ${header}`, verdict: 'pass', reason: 'triplet-found', header });
    expect(later.json).toEqual({ action: 'DUNNO', verdict: 'pass', reason: 'triplet-found' });
  });

  it('adds the signals selective greylisting saw', async () => {
    // Prepare
    const t = appUnderTest();
    t.service.answer({ ...GREYLIST_DECISION, signals: [{ name: 's25r', rule: 3 }, { name: 'dnsbl', zone: 'bl.example' }] });

    // Act
    const res = await t.check(MINIMAL);

    // Assess
    expect(res.json).toMatchObject({ verdict: 'greylist', signals: [{ name: 's25r', rule: 3 }, { name: 'dnsbl', zone: 'bl.example' }] });
  });

  it('logs each decision as Postgrey does, and a client\'s auto-whitelisting on a line of its own', async () => {
    // Prepare
    const t = appUnderTest();
    t.service.answer({ verdict: 'pass', reason: 'triplet-found', action: 'DUNNO', writes: {}, events: [{ kind: 'client-whitelisted', count: 5 }] });

    // Act
    await t.check({ ...MINIMAL, client_name: 'mx.b.example' });

    // Assess
    expect(t.logger.messages('info')).toEqual([
      'whitelisted: mx.b.example[192.0.2.1]',
      'action=pass, reason=triplet found, client_name=mx.b.example, client_address=192.0.2.1, sender=a@b.example, recipient=c@d.example',
    ]);
  });
});

describe('POST /v1/check: the request the decision service gets', () => {
  it('fills in what Postfix would send: client_name unknown, no ETRN domain', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    await t.check({ client_address: '192.0.2.1', sender: '', recipient: 'c@d.example' });

    // Assess
    expect(t.service.requests).toEqual([
      { clientAddress: '192.0.2.1', clientName: 'unknown', sender: '', recipient: 'c@d.example', etrnDomainPresent: false },
    ]);
  });

  it('passes every attribute the decision uses, and ignores the others', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    await t.check({
      request: 'smtpd_access_policy',
      protocol_state: 'RCPT',
      client_address: '2001:db8::5',
      client_name: 'mx.b.example',
      reverse_client_name: 'mx.b.example',
      helo_name: 'mx.b.example',
      sender: 'a@b.example',
      recipient: 'c@d.example',
      instance: '1a2b.3c4d5e.0',
      queue_id: '4Fx1Yz2abc',
      etrn_domain: '',
      policy_test_time: T0,
      size: '12345',
      ccert_subject: '',
    });

    // Assess
    expect(t.service.requests).toEqual([
      {
        clientAddress: '2001:db8::5',
        clientName: 'mx.b.example',
        reverseClientName: 'mx.b.example',
        heloName: 'mx.b.example',
        sender: 'a@b.example',
        recipient: 'c@d.example',
        instance: '1a2b.3c4d5e.0',
        queueId: '4Fx1Yz2abc',
        protocolState: 'RCPT',
        etrnDomainPresent: true,
        policyTestTime: T0,
      },
    ]);
  });

  it('reads policy_test_time sent as a string, and skips attributes sent as null', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    await t.check({ ...MINIMAL, policy_test_time: String(T0), client_name: null, helo_name: null });

    // Assess
    expect(t.service.requests).toEqual([
      { clientAddress: '192.0.2.1', clientName: 'unknown', sender: 'a@b.example', recipient: 'c@d.example', etrnDomainPresent: false, policyTestTime: T0 },
    ]);
  });

  it('accepts 100 attributes, as many as the bridge forwards from Postfix', async () => {
    // Prepare
    const t = appUnderTest();
    const body: Record<string, string> = { ...MINIMAL };
    for (let i = 0; Object.keys(body).length < 100; i += 1) body[`extra_${i}`] = 'x'.repeat(512);

    // Act
    const res = await t.check(body);

    // Assess
    expect(res.status).toBe(200);
    expect(t.service.requests).toHaveLength(1);
  });

  it('accepts the JSON content type with a charset and in any case', async () => {
    // Prepare
    const t = appUnderTest();

    // Act
    const res = await t.check(MINIMAL, { 'content-type': 'Application/JSON; charset=utf-8' });

    // Assess
    expect(res.status).toBe(200);
    expect(t.service.requests).toHaveLength(1);
  });
});
