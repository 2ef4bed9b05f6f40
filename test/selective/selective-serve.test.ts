// Selective greylisting in `greygate serve`, as a Postfix admin sees it: which clients are delayed,
// which pass at once, and the reasons in the HTTP answer and the log line. Score mode runs against
// a DNS server on loopback that serves the test block and allow lists.

import { afterEach, describe, expect, it } from 'vitest';
import { examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { startDnsServer, type TestDnsServer } from '../support/dns-server.ts';
import { startServeHarness, type ServeHarness } from '../support/serve-harness.ts';

const T0 = 1_795_832_317;
let h: ServeHarness | undefined;
let dns: TestDnsServer | undefined;

afterEach(async () => {
  await h?.stop();
  await dns?.close();
  h = undefined;
  dns = undefined;
});

async function postCheck(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const res = await fetch(`${(h as ServeHarness).httpUrl}/v1/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown>;
}

const fields = (client_address: string, client_name: string, t: number, extra: Record<string, string> = {}) =>
  examplePolicyRequest({ client_address, client_name, reverse_client_name: client_name, policy_test_time: String(t), instance: `${client_address}/${t}`, ...extra });

describe('greygate serve --selective s25r', () => {
  it('passes a well-named server at once, and greylists unknown and dynamic-looking clients as usual', async () => {
    // Prepare
    h = await startServeHarness(['--selective', 's25r', '--delay', '2']);

    // Act
    const answers = await sendPolicyRequests(h.policyAddress, [
      fields('192.0.2.10', 'mail.example.net', T0),
      fields('198.51.100.20', 'unknown', T0),
      fields('203.0.113.30', 'p1234-ipad56.example.ne.jp', T0),
      fields('198.51.100.20', 'unknown', T0 + 3),
      fields('203.0.113.30', 'p1234-ipad56.example.ne.jp', T0 + 3),
    ]);

    // Assess
    expect(answers[0]).toBe('DUNNO');
    expect(answers[1]).toBe('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds');
    expect(answers[2]).toBe('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds');
    expect(answers[3]).toMatch(/^PREPEND X-Greylist: delayed 3 seconds/);
    expect(answers[4]).toMatch(/^PREPEND X-Greylist: delayed 3 seconds/);
    const info = h.logger.messages('info');
    expect(info).toContain(
      'action=pass, reason=not suspicious, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org, signals=none',
    );
    expect(info).toContain(
      'action=greylist, reason=new, client_name=unknown, client_address=198.51.100.20, sender=alice@example.net, recipient=bob@example.org, signals=s25r:0',
    );
    expect(info).toContain(
      'action=greylist, reason=new, client_name=p1234-ipad56.example.ne.jp, client_address=203.0.113.30, sender=alice@example.net, recipient=bob@example.org, signals=s25r:1',
    );
    // The well-named server never reached the store: the records are the two greylisted clients'.
    expect(await h.serve.store.countRecords(T0)).toEqual({ triplets: 2, clients: 2 });
  });

  it('answers the HTTP API with the signals, and logs them as JSON fields', async () => {
    // Prepare
    h = await startServeHarness(['--selective', 's25r', '--delay', '2']);
    const body = { sender: 'a@b.example', recipient: 'c@d.example', policy_test_time: T0 };

    // Act
    const clean = await postCheck({ ...body, client_address: '192.0.2.10', client_name: 'mail.example.net' });
    const google = await postCheck({ ...body, client_address: '209.85.218.54', client_name: 'mail-ej1-f54.google.com' });
    const unnamed = await postCheck({ ...body, client_address: '198.51.100.20' });

    // Assess
    expect(clean).toEqual({ action: 'DUNNO', verdict: 'pass', reason: 'not-suspicious', signals: [] });
    expect(google).toEqual({
      action: 'DUNNO',
      verdict: 'pass',
      reason: 'not-suspicious',
      signals: [{ name: 's25r-exception', rule: 1, exception: 'google' }],
    });
    expect(unnamed).toEqual({
      action: 'DEFER_IF_PERMIT Greylisted, please retry in 2 seconds',
      verdict: 'greylist',
      reason: 'new',
      retry_after_seconds: 2,
      signals: [{ name: 's25r', rule: 0 }],
    });
    const logged = h.logger.lines.find((l) => l.fields?.client_address === '198.51.100.20');
    expect(logged?.fields).toMatchObject({ reason: 'new', signals: [{ name: 's25r', rule: 0 }] });
  });

  it('judges repeat clients the same way every time, and IPv6 apart from IPv4 with --s25r-ipv6 skip', async () => {
    // Prepare
    h = await startServeHarness(['--delay', '2', '--selective', 's25r', '--s25r-ipv6', 'skip']);

    // Act: the same names again and again (the outcome is remembered per name), from both families
    const answers = await sendPolicyRequests(h.policyAddress, [
      fields('2001:db8::25', 'unknown', T0, { recipient: 'a@example.org' }),
      fields('192.0.2.25', 'unknown', T0, { recipient: 'b@example.org' }),
      fields('2001:db8::25', 'unknown', T0, { recipient: 'c@example.org' }),
      fields('192.0.2.25', 'unknown', T0, { recipient: 'd@example.org' }),
      fields('192.0.2.26', 'mail.example.net', T0, { recipient: 'e@example.org' }),
      fields('192.0.2.26', 'mail.example.net', T0, { recipient: 'f@example.org' }),
    ]);

    // Assess
    expect(answers[0]).toBe('DUNNO');
    expect(answers[1]).toMatch(/^DEFER_IF_PERMIT/);
    expect(answers[2]).toBe('DUNNO');
    expect(answers[3]).toMatch(/^DEFER_IF_PERMIT/);
    expect(answers.slice(4)).toEqual(['DUNNO', 'DUNNO']);
  });

  it('keeps Postgrey\'s behaviour with --selective off: everyone greylisted, no signals anywhere', async () => {
    // Prepare
    h = await startServeHarness(['--selective', 'off']);

    // Act
    const answers = await sendPolicyRequests(h.policyAddress, [fields('192.0.2.10', 'mail.example.net', T0)]);
    const json = await postCheck({ client_address: '198.51.100.20', sender: '', recipient: 'c@d.example', policy_test_time: T0 });

    // Assess
    expect(answers[0]).toMatch(/^DEFER_IF_PERMIT/);
    expect(json).not.toHaveProperty('signals');
    expect(h.logger.messages('info').filter((m) => m.startsWith('action=')).every((m) => !m.includes('signals='))).toBe(true);
  });
});

describe('greygate serve --selective score with DNS lists', () => {
  async function startScore(extra: string[] = []): Promise<{ h: ServeHarness; dns: TestDnsServer }> {
    dns = await startDnsServer();
    h = await startServeHarness([
      '--selective', 'score',
      '--delay', '2',
      '--dnsbl', 'bl.test',
      '--dnswl', 'wl.test',
      '--dns-servers', dns.address,
      '--dns-timeout-ms', '300',
      ...extra,
    ]);
    return { h, dns };
  }

  it('greylists a well-named client on a block list, and lets an unnamed one on the allow list pass', async () => {
    // Prepare
    const { h, dns } = await startScore();
    dns.answer('7.100.51.198.bl.test', { a: ['127.0.0.2'], ttl: 300 });
    dns.answer('9.113.0.203.wl.test', { a: ['127.0.10.3'], ttl: 300 });

    // Act
    const answers = await sendPolicyRequests(h.policyAddress, [
      fields('198.51.100.7', 'mail.example.net', T0),
      fields('203.0.113.9', 'unknown', T0),
      fields('192.0.2.10', 'mail.example.net', T0),
    ]);
    const json = await postCheck({ client_address: '198.51.100.7', client_name: 'mail.example.net', sender: 'alice@example.net', recipient: 'bob@example.org', policy_test_time: T0 + 1 });

    // Assess
    expect(answers[0]).toMatch(/^DEFER_IF_PERMIT/);
    expect(answers[1]).toBe('DUNNO');
    expect(answers[2]).toBe('DUNNO');
    expect(json).toMatchObject({ verdict: 'greylist', reason: 'early-retry', signals: [{ name: 'dnsbl', zone: 'bl.test' }] });
    const info = h.logger.messages('info');
    expect(info).toContain(
      'action=greylist, reason=new, client_name=mail.example.net, client_address=198.51.100.7, sender=alice@example.net, recipient=bob@example.org, signals=dnsbl:bl.test',
    );
    expect(info).toContain(
      'action=pass, reason=dnswl, client_name=unknown, client_address=203.0.113.9, sender=alice@example.net, recipient=bob@example.org, signals=s25r:0|no-verified-name|dnswl:wl.test',
    );
    // The block list was asked once: the HTTP request was answered from the cache.
    expect(dns.queryCount('7.100.51.198.bl.test')).toBe(1);
  });

  it('answers within the DNS timeout when the lists never reply, and does not defer for that', async () => {
    // Prepare
    const { h, dns } = await startScore();
    for (const zone of ['bl.test', 'wl.test']) {
      dns.answer(`10.2.0.192.${zone}`, { drop: true });
      dns.answer(`20.100.51.198.${zone}`, { drop: true });
    }

    // Act
    const started = performance.now();
    const clean = await postCheck({ client_address: '192.0.2.10', client_name: 'mail.example.net', sender: '', recipient: 'c@d.example', policy_test_time: T0 });
    const elapsedMs = performance.now() - started;
    const unnamed = await postCheck({ client_address: '198.51.100.20', client_name: 'unknown', sender: '', recipient: 'c@d.example', policy_test_time: T0 });

    // Assess: the DNS failure is reported, and only S25R decides
    expect(clean).toEqual({
      action: 'DUNNO',
      verdict: 'pass',
      reason: 'not-suspicious',
      signals: [
        { name: 'dns-error', zone: 'bl.test', error: 'timeout' },
        { name: 'dns-error', zone: 'wl.test', error: 'timeout' },
      ],
    });
    expect(elapsedMs).toBeLessThan(300 + 500);
    expect(unnamed).toMatchObject({ verdict: 'greylist', reason: 'new' });
    expect(h.logger.messages('info').some((m) => m.endsWith('signals=dns-error:bl.test:timeout|dns-error:wl.test:timeout'))).toBe(true);
  });
});

describe('greygate serve --selective score with client signals', () => {
  it('greylists a well-named server whose HELO is an address literal or another organisation\'s name, and says which', async () => {
    // Prepare
    h = await startServeHarness([
      '--selective', 'score', '--delay', '2',
      '--signal-weight', 'helo-ip-literal=1', '--signal-weight', 'helo-other-org=1',
    ]);

    // Act
    const answers = await sendPolicyRequests(h.policyAddress, [
      fields('192.0.2.10', 'mail.example.net', T0, { helo_name: 'mail.example.net' }),
      fields('192.0.2.11', 'mx.example.net', T0, { helo_name: '[192.0.2.11]' }),
      fields('192.0.2.12', 'host.example-hoster.net', T0, { helo_name: 'mail-yw1-f169.google.com' }),
      fields('192.0.2.13', 'smtp.example.net', T0, { helo_name: 'WORKSTATION' }),
    ]);

    // Assess: a bare-word HELO is shown but, without a weight, not counted
    expect(answers).toEqual([
      'DUNNO',
      'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds',
      'DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds',
      'DUNNO',
    ]);
    const info = h.logger.messages('info');
    expect(info).toContain(
      'action=greylist, reason=new, client_name=mx.example.net, client_address=192.0.2.11, sender=alice@example.net, recipient=bob@example.org, signals=helo-ip-literal',
    );
    expect(info).toContain(
      'action=greylist, reason=new, client_name=host.example-hoster.net, client_address=192.0.2.12, sender=alice@example.net, recipient=bob@example.org, signals=helo-other-org',
    );
    expect(info).toContain(
      'action=pass, reason=not suspicious, client_name=smtp.example.net, client_address=192.0.2.13, sender=alice@example.net, recipient=bob@example.org, signals=helo-bare-word',
    );
  });

  it('refuses a weight for a signal it does not know, given twice, or outside score mode, naming the flag', async () => {
    await expect(startServeHarness(['--selective', 'score', '--signal-weight', 'helo-funny=1'])).rejects.toThrow(
      /--signal-weight: "helo-funny=1" is not valid; expected NAME=W with NAME one of no-verified-name, helo-ip-literal/,
    );
    await expect(startServeHarness(['--selective', 'score', '--signal-weight', 'helo-localhost=1', '--signal-weight', 'helo-localhost=2'])).rejects.toThrow(
      /helo-localhost is given more than once/,
    );
    await expect(startServeHarness(['--selective', 's25r', '--signal-weight', 'helo-localhost=1'])).rejects.toThrow(/has no effect without --selective score/);
  });
});
