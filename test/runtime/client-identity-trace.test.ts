// A big sender's pool against `greygate serve`, in Postfix's compressed time (policy_test_time):
// Gmail as measured by Pagani et al. (DSN 2016) retries from another address, in another /24, at
// +6:02, +29:02, +56:36, +98:44 min… With --client-identity=org its first retry after the delay
// passes; with Postgrey's keying only an attempt that lands in a /24 it used before does. Bots on
// dynamic names of one ISP gain nothing from retrying from each other's addresses.

import { afterEach, describe, expect, it } from 'vitest';
import { examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { startServeHarness, type ServeHarness } from '../support/serve-harness.ts';

const T0 = 1_795_832_317;
let h: ServeHarness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

/** Offsets (seconds) and pool addresses: 7 addresses in 7 /24s, then back to the first two. */
const GMAIL_ATTEMPTS: ReadonlyArray<[number, string]> = [
  [0, '209.85.219.169'],
  [6 * 60 + 2, '209.85.220.41'],
  [29 * 60 + 2, '209.85.128.52'],
  [56 * 60 + 36, '209.85.167.44'],
  [98 * 60 + 44, '209.85.221.53'],
  [150 * 60, '209.85.208.170'],
  [210 * 60, '209.85.216.65'],
  [290 * 60, '209.85.219.171'],
  [390 * 60, '209.85.220.47'],
];

function gmailAttempt([offset, address]: readonly [number, string], i: number): Record<string, string> {
  const last = address.split('.').at(-1);
  return examplePolicyRequest({
    client_address: address,
    client_name: `mail-yw${i}-f${last}.google.com`,
    sender: 'alice@gmail.com',
    recipient: 'bob@example.org',
    policy_test_time: String(T0 + offset),
    instance: `gmail-${i}`,
  });
}

/** Index of the first attempt that was not greylisted. */
async function firstPass(args: string[]): Promise<number> {
  h = await startServeHarness(['--delay', '300', ...args]);
  const answers = await sendPolicyRequests(h.policyAddress, GMAIL_ATTEMPTS.map(gmailAttempt));
  return answers.findIndex((answer) => !answer.startsWith('DEFER_IF_PERMIT'));
}

describe('a Gmail-like pool retrying from 7 addresses in 7 /24s', () => {
  it('passes at its first retry after the delay (+6:02) with --client-identity=org', async () => {
    expect(await firstPass(['--client-identity', 'org'])).toBe(1);
    expect(h?.logger.messages('info')).toContain(
      'action=pass, reason=triplet found, delay=362, client_name=mail-yw1-f41.google.com, client_address=209.85.220.41, sender=alice@gmail.com, recipient=bob@example.org',
    );
  });

  it('passes only when a retry lands in a /24 it used before with Postgrey keying (the default)', async () => {
    expect(await firstPass([])).toBe(7);
  });
});

describe('bots on dynamic names of one ISP', () => {
  it('stay greylisted when they retry from each other’s addresses, with --client-identity=org', async () => {
    // Prepare
    h = await startServeHarness(['--delay', '300', '--client-identity', 'org']);
    const bots = ['203.0.113.5', '198.51.100.9', '192.0.2.77'].map((address, i) =>
      examplePolicyRequest({
        client_address: address,
        client_name: `dyn-${address.replaceAll('.', '-')}.cust.example-isp.net`,
        sender: 'promo@spam.example',
        recipient: 'bob@example.org',
        policy_test_time: String(T0 + i * 600),
        instance: `bot-${i}`,
      }),
    );

    // Act
    const answers = await sendPolicyRequests(h.policyAddress, bots);

    // Assess: every attempt is a new triplet
    expect(answers.every((answer) => answer.startsWith('DEFER_IF_PERMIT'))).toBe(true);
    expect(h.logger.messages('info').filter((line) => line.startsWith('action=greylist, reason=new,'))).toHaveLength(3);
  });
});
