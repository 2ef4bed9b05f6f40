// The bridge's answer rules on their own, with the API's outcomes given directly: header
// de-duplication per message, the on-error answer, and how a long outage is logged.

import { describe, expect, it } from 'vitest';
import type { CheckOutcome } from '../../bridge/api-client.ts';
import { createBridgeHandler, requestBody } from '../../bridge/bridge-handler.ts';
import { InstanceMemory } from '../../policy/instance-memory.ts';
import { examplePolicyRequest, type PolicyAttributes } from '../support/policy-client.ts';
import { recordingLogger } from '../policy/policy-server-harness.ts';

const HEADER_ACTION = 'PREPEND X-Greylist: delayed 301 seconds by greygate';
const FIRST_PASS: CheckOutcome = { kind: 'answer', action: HEADER_ACTION, header: true };
const DOWN: CheckOutcome = { kind: 'failed', failure: 'connection', detail: 'connection refused (ECONNREFUSED)' };

function setup(outcome: () => CheckOutcome | Promise<CheckOutcome>, clock = { t: 0 }) {
  const logger = recordingLogger();
  const bridge = createBridgeHandler({
    check: async () => outcome(),
    logger,
    instances: new InstanceMemory(100),
    onErrorAction: 'DUNNO',
    now: () => clock.t,
  });
  const info = { connectionId: 1, client: '127.0.0.1:40000', signal: new AbortController().signal };
  const ask = (attrs: PolicyAttributes): Promise<string> => bridge.handler(new Map(Object.entries(attrs)), info);
  return { bridge, logger, ask, clock };
}

describe('greygate-bridge answer rules', () => {
  it('keeps one X-Greylist header per message; an empty instance is an id, a missing one is always new', async () => {
    // Prepare
    const { ask, bridge } = setup(() => FIRST_PASS);
    const { instance: _instance, ...noInstance } = examplePolicyRequest();

    // Act
    const sameMessage = [await ask(examplePolicyRequest({ instance: 'm1' })), await ask(examplePolicyRequest({ instance: 'm1' }))];
    const emptyInstance = [await ask(examplePolicyRequest({ instance: '' })), await ask(examplePolicyRequest({ instance: '' }))];
    const missingInstance = [await ask(noInstance), await ask(noInstance)];

    // Assess
    expect(sameMessage).toEqual([HEADER_ACTION, 'DUNNO']);
    expect(emptyInstance[1]).toBe('DUNNO');
    expect(missingInstance.every((a) => a.startsWith('PREPEND X-Greylist'))).toBe(true);
    expect(bridge.stats().headersDeduplicated).toBe(2);
  });

  it('answers the on-error action when the check itself throws', async () => {
    // Prepare
    const { ask, bridge, logger } = setup(() => {
      throw new Error('a bug');
    });

    // Act
    const answer = await ask(examplePolicyRequest());

    // Assess
    expect(answer).toBe('DUNNO');
    expect(bridge.stats().failures.internal).toBe(1);
    expect(logger.messages('error')[0]).toMatch(/^API check failed \(internal: a bug\), answering DUNNO/);
  });

  it('logs a long outage as 20 lines per 10 s, counts the rest, and says when the API is back', async () => {
    // Prepare
    let outcome: CheckOutcome = DOWN;
    const { ask, logger, clock } = setup(() => outcome);

    // Act
    for (let i = 0; i < 25; i++) await ask(examplePolicyRequest());
    clock.t = 10_000;
    for (let i = 0; i < 22; i++) await ask(examplePolicyRequest());
    outcome = { kind: 'answer', action: 'DUNNO', header: false };
    await ask(examplePolicyRequest());

    // Assess
    const errors = logger.messages('error');
    expect(errors.filter((m) => m.startsWith('API check failed'))).toHaveLength(40);
    expect(errors).toContain('5 more API failure(s) were not logged (at most 20 lines per 10 s)');
    expect(errors[errors.length - 1]).toBe('2 more API failure(s) were not logged (at most 20 lines per 10 s)');
    expect(logger.messages('info')).toEqual(['API answering again after 47 failed check(s)']);
  });
});

describe('greygate-bridge request body', () => {
  it('sends every attribute the API accepts as JSON, escaped, and leaves out the rest', () => {
    // Prepare: values that need escaping, an empty one, and names the API would refuse
    const attrs = new Map([
      ['request', 'smtpd_access_policy'],
      ['client_address', '192.0.2.1'],
      ['sender', 'a"b\\c@example.net'],
      ['recipient', 'b@example.org'],
      ['queue_id', ''],
      ['ccert_subject', 'CN=Ünïcode \u0001 tab\there'],
      ['Mixed_Case', 'x'],
      ['x-dash', 'y'],
    ]);

    // Act
    const body = requestBody(attrs);

    // Assess
    expect(JSON.parse(body)).toEqual({
      client_address: '192.0.2.1',
      sender: 'a"b\\c@example.net',
      recipient: 'b@example.org',
      queue_id: '',
      ccert_subject: 'CN=Ünïcode \u0001 tab\there',
    });
    expect(requestBody(new Map([['request', 'smtpd_access_policy']]))).toBe('{}');
  });
});
