// What the bridge lets an API answer Postfix. The docs promise the bridge never stops mail, so an
// API that is compromised, spoofed or simply not greygate must not be able to bounce, copy,
// redirect, hold or drop mail through it: only greygate's own answers (DUNNO, the greylist
// deferral, the X-Greylist header) reach Postfix; anything else gets the --on-error answer and an
// error line, rate-limited like every other API failure.

import { afterEach, describe, expect, it } from 'vitest';
import { closeTestBridges, startFakeApi, startTestBridge, type FakeApi } from '../support/fake-api.ts';
import { examplePolicyRequest, PolicyClient } from '../support/policy-client.ts';

const DEFER = 'DEFER_IF_PERMIT 4.3.0 greylisting service unavailable, please retry later';

const FORBIDDEN: Array<{ name: string; action: string }> = [
  { name: 'OK (skips the restrictions after the policy check)', action: 'OK' },
  { name: 'REJECT (bounces the mail)', action: 'REJECT 5.7.1 Access denied' },
  { name: 'BCC (copies the mail out)', action: 'BCC spy@attacker.example' },
  { name: 'REDIRECT (steals the mail)', action: 'REDIRECT thief@attacker.example' },
  { name: 'HOLD', action: 'HOLD held by the API' },
  { name: 'DISCARD', action: 'DISCARD' },
  { name: 'FILTER', action: 'FILTER smtp:[attacker.example]:25' },
  { name: 'a 5xx code', action: '554 5.7.1 Go away' },
  { name: 'a 2xx code', action: '250 2.0.0 Accepted' },
  { name: 'DUNNO, a newline, then REJECT', action: 'DUNNO\nREJECT 5.7.1 Access denied' },
  { name: 'a header with a carriage return', action: 'PREPEND X-Greylist: delayed\r\nX-Spam-Flag: NO' },
  { name: 'a header with a C1 control', action: 'PREPEND X-Greylist: delayed\u0085' },
  { name: 'a header other than X-Greylist', action: 'PREPEND X-Spam-Flag: NO' },
  { name: 'DEFER_IF_REJECT', action: 'DEFER_IF_REJECT 4.7.1 try later' },
  { name: 'a word that only starts like DEFER', action: 'DEFERRED 4.7.1 try later' },
  { name: 'DUNNO with text after it', action: 'DUNNO REJECT' },
];

/** What greygate produces: the default answers, the --greylist-action forms, the header. */
const ALLOWED = [
  'DUNNO',
  'DEFER_IF_PERMIT 4.2.0 Greylisted, see https://postgrey.schweikert.ch/help/example.org.html, please retry in 300 seconds',
  'DEFER 4.2.0 Greylisted, please retry in 300 seconds',
  '451 4.7.1 Greylisted, please retry in 300 seconds',
  '450 Greylisted',
  'defer_if_permit Greylisted',
  'PREPEND X-Greylist: delayed 301 seconds by greygate-1.0.0 at mx1.example.org; Mon, 01 Jan 2024 00:05:01 +0000',
];

const apis: FakeApi[] = [];
afterEach(async () => {
  await closeTestBridges();
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

async function apiAnswering(action: string): Promise<FakeApi> {
  const api = await startFakeApi();
  apis.push(api);
  api.respond(() => ({ kind: 'json', body: { action, verdict: 'pass', reason: 'triplet-found' } }));
  return api;
}

async function ask(address: string, count = 1): Promise<string[]> {
  const client = await PolicyClient.connect(address);
  try {
    const answers: string[] = [];
    for (let i = 0; i < count; i += 1) answers.push(await client.request(examplePolicyRequest({ recipient: `r${i}@example.org`, instance: `i${i}` })));
    return answers;
  } finally {
    await client.close();
  }
}

describe('greygate-bridge passes on only the actions greygate produces', () => {
  for (const { name, action } of FORBIDDEN) {
    it(`answers the --on-error action, not ${name}`, async () => {
      // Prepare
      const api = await apiAnswering(action);
      const { address, bridge, logs } = await startTestBridge(api.url, ['--on-error', 'defer']);

      // Act
      const [answer] = await ask(address);

      // Assess
      expect(answer).toBe(DEFER);
      const errors = logs.lines().filter((l) => l.startsWith('ERROR: API check failed (forbidden-action: '));
      expect(errors).toHaveLength(1);
      const printable = action.split(/[\u0000-\u001f\u007f-\u009f]/)[0] ?? '';
      expect(errors[0]).toContain(`the action "${printable}`);
      expect(errors[0]).toContain('not passed on');
      expect(errors[0]).toContain(`answering ${DEFER}: client=mail.example.net[192.0.2.10]`);
      // The log line is one line: the action's control characters are escaped, not written.
      expect(logs.text.split('\n').filter((l) => l.includes('attacker') || l.includes('X-Spam-Flag')).every((l) => l.startsWith('ERROR: API check failed'))).toBe(true);
      expect(bridge.stats().answers.failures['forbidden-action']).toBe(1);
      expect(bridge.stats().answers.onErrorAnswers).toBe(1);
    });
  }

  it('answers DUNNO for a forbidden action with the default --on-error dunno', async () => {
    // Prepare
    const api = await apiAnswering('REJECT 5.7.1 Access denied');
    const { address } = await startTestBridge(api.url);

    // Act
    const answers = await ask(address, 2);

    // Assess
    expect(answers).toEqual(['DUNNO', 'DUNNO']);
  });

  it('logs at most 20 forbidden answers per 10 s, then how many it left out', async () => {
    // Prepare
    const api = await apiAnswering('BCC spy@attacker.example');
    const { address, bridge, logs } = await startTestBridge(api.url);

    // Act
    const answers = await ask(address, 25);

    // Assess
    expect(answers.every((a) => a === 'DUNNO')).toBe(true);
    expect(logs.lines().filter((l) => l.startsWith('ERROR: API check failed (forbidden-action: '))).toHaveLength(20);
    expect(bridge.stats().answers.failures['forbidden-action']).toBe(25);
  });

  for (const action of ALLOWED) {
    it(`passes on ${JSON.stringify(action.slice(0, 40))} unchanged`, async () => {
      // Prepare
      const api = await apiAnswering(action);
      const { address, bridge, logs } = await startTestBridge(api.url, ['--on-error', 'defer']);

      // Act
      const [answer] = await ask(address);

      // Assess
      expect(answer).toBe(action);
      expect(logs.lines().filter((l) => l.startsWith('ERROR'))).toEqual([]);
      expect(bridge.stats().answers.onErrorAnswers).toBe(0);
    });
  }
});
