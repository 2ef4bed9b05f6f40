// `greygate serve` as a Postfix admin meets it: the policy port and the HTTP API of one running
// server, a real SQLite file behind them, time moved forward with Postfix's `policy_test_time`.
// The HTTP contract itself (refusals, limits, tokens) is test/http's; here, what serve brings to
// it: the store shared with the policy port, the --token-sha256 digests, a real listener.

import { afterEach, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sha256Hex } from '../../functions/http/bearer-auth.ts';
import { PolicyClient, examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { startServeHarness, type ServeHarness } from '../support/serve-harness.ts';
import { makeTempDir } from '../support/temp-dir.ts';

const T0 = 1_795_832_317;
let h: ServeHarness | undefined;

afterEach(async () => {
  await h?.stop();
  h = undefined;
});

async function postCheck(body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${(h as ServeHarness).httpUrl}/v1/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe('greygate serve: the policy port', () => {
  it('greylists a new triplet, passes it with one X-Greylist header after the delay, then answers DUNNO', async () => {
    // Prepare
    h = await startServeHarness(['--delay', '2']);
    const at = (t: number, extra: Record<string, string> = {}) =>
      examplePolicyRequest({ policy_test_time: String(t), instance: `i${t}`, ...extra });

    // Act
    const answers = await sendPolicyRequests(h.policyAddress, [at(T0), at(T0 + 1), at(T0 + 3), at(T0 + 4)]);

    // Assess
    expect(answers[0]).toBe('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds');
    expect(answers[1]).toBe('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 1 seconds');
    expect(answers[2]).toMatch(/^PREPEND X-Greylist: delayed 3 seconds by greygate-\S+ at mx\.test; \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \S+$/);
    expect(answers[3]).toBe('DUNNO');
    const info = h.logger.messages('info');
    expect(info).toContain(
      'action=greylist, reason=new, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org',
    );
    expect(info).toContain(
      'action=greylist, reason=early-retry (1s missing), client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org',
    );
    expect(info).toContain(
      'action=pass, reason=triplet found, delay=3, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org',
    );
  });

  it('adds the header once per message even when the message has three recipients', async () => {
    // Prepare
    h = await startServeHarness(['--delay', '2']);
    const rcpts = ['a@example.org', 'b@example.org', 'c@example.org'];
    const first = rcpts.map((r) => examplePolicyRequest({ recipient: r, instance: 'msg1', policy_test_time: String(T0) }));
    const retry = rcpts.map((r) => examplePolicyRequest({ recipient: r, instance: 'msg2', policy_test_time: String(T0 + 5) }));

    // Act
    const before = await sendPolicyRequests(h.policyAddress, first);
    const after = await sendPolicyRequests(h.policyAddress, retry);

    // Assess
    expect(before.every((a) => a.startsWith('DEFER_IF_PERMIT'))).toBe(true);
    expect(after.filter((a) => a.startsWith('PREPEND X-Greylist:'))).toHaveLength(1);
    expect(after.filter((a) => a === 'DUNNO')).toHaveLength(2);
  });

  it('answers bad requests DUNNO, stores nothing and keeps serving', async () => {
    // Prepare
    h = await startServeHarness(['--delay', '2']);
    const client = await PolicyClient.connect(h.policyAddress);
    const { sender: _omit, ...noSender } = examplePolicyRequest();

    // Act
    const notAnIp = await client.request(examplePolicyRequest({ client_address: 'not-an-ip' }));
    const missing = await client.request(noSender);
    const unknownType = await client.request(examplePolicyRequest({ request: 'junk' }));
    client.sendRaw(Buffer.from([0x00, 0xff, 0xfe, 0x0a, 0x80, 0x0a]));
    const afterGarbage = await client.request(examplePolicyRequest({ policy_test_time: String(T0) }));
    await client.close();

    // Assess
    expect([notAnIp, missing, unknownType]).toEqual(['DUNNO', 'DUNNO', 'DUNNO']);
    expect(afterGarbage).toMatch(/^DEFER_IF_PERMIT/);
    expect(h.logger.messages('warn')).toContain('attribute missing: sender');
    expect(await h.serve.store.countRecords(T0)).toEqual({ triplets: 1, clients: 0 });
  });

  it('closes a connection that sends a 100 KB line, without an answer, and serves the next one', async () => {
    // Prepare
    h = await startServeHarness();
    const client = await PolicyClient.connect(h.policyAddress);

    // Act
    const answer = client.expectAnswer().catch((err: Error) => err.message);
    client.sendRaw(`request=smtpd_access_policy\nsender=${'a'.repeat(100 * 1024)}\n\n`);
    const outcome = await answer;
    const next = await sendPolicyRequests(h.policyAddress, [examplePolicyRequest({ client_address: '198.51.100.1' })]);

    // Assess
    expect(outcome).toMatch(/closed the connection|ECONNRESET/);
    expect(next[0]).toMatch(/^DEFER_IF_PERMIT/);
    expect(await h.serve.store.countRecords(Math.floor(Date.now() / 1000))).toEqual({ triplets: 1, clients: 0 });
  });

  it('passes whitelisted clients and recipients at once, and picks up edited lists on reload (SIGHUP)', async () => {
    // Prepare
    const lists = await makeTempDir();
    const clients = join(lists.path, 'clients');
    const recipients = join(lists.path, 'recipients');
    writeFileSync(clients, '# local\n192.0.2.0/24\n');
    writeFileSync(recipients, 'postmaster@\n');
    h = await startServeHarness(['--whitelist-clients', clients, '--whitelist-recipients', recipients]);

    // Act
    const listed = await sendPolicyRequests(h.policyAddress, [
      examplePolicyRequest({ client_address: '192.0.2.77' }),
      examplePolicyRequest({ client_address: '198.51.100.9', recipient: 'Postmaster+x@example.org' }),
      examplePolicyRequest({ client_address: '203.0.113.5', client_name: 'mx.partner.example' }),
    ]);
    writeFileSync(clients, 'partner.example\n');
    await h.serve.reloadWhitelists();
    const reloaded = await sendPolicyRequests(h.policyAddress, [
      examplePolicyRequest({ client_address: '203.0.113.5', client_name: 'mx.partner.example' }),
      examplePolicyRequest({ client_address: '192.0.2.78' }),
    ]);

    // Assess
    expect(listed[0]).toBe('DUNNO');
    expect(listed[1]).toBe('DUNNO');
    expect(listed[2]).toMatch(/^DEFER_IF_PERMIT/);
    expect(reloaded[0]).toBe('DUNNO');
    expect(reloaded[1]).toMatch(/^DEFER_IF_PERMIT/);
    expect(h.logger.messages('info')).toContain('HUP received: reloading whitelists...');
    expect(h.logger.messages('info').some((m) => m.startsWith('action=pass, reason=client whitelist'))).toBe(true);
    expect(h.logger.messages('info').some((m) => m.startsWith('action=pass, reason=recipient whitelist'))).toBe(true);
    await lists.cleanup();
  });

  it('auto-whitelists a client after N passed triplets, at most one counted per hour', async () => {
    // Prepare
    h = await startServeHarness(['--delay', '2', '--auto-whitelist-clients', '2']);
    const req = (rcpt: string, t: number) =>
      examplePolicyRequest({ client_address: '203.0.113.50', client_name: 'awl.example.com', recipient: rcpt, policy_test_time: String(t), instance: `${rcpt}${t}` });

    // Act: two triplets pass two hours apart, then a third, new triplet arrives
    const answers = await sendPolicyRequests(h.policyAddress, [
      req('r1@example.org', T0),
      req('r1@example.org', T0 + 3),
      req('r2@example.org', T0 + 7200),
      req('r2@example.org', T0 + 7203),
      req('r3@example.org', T0 + 7300),
    ]);

    // Assess
    expect(answers[4]).toBe('DUNNO');
    expect(h.logger.messages('info')).toContain('whitelisted: awl.example.com[203.0.113.50]');
    expect(h.logger.messages('info').some((m) => m.startsWith('action=pass, reason=client AWL'))).toBe(true);
  });

  it('stores keyed hashes, not addresses, with --privacy', async () => {
    // Prepare
    h = await startServeHarness(['--privacy']);

    // Act
    await sendPolicyRequests(h.policyAddress, [examplePolicyRequest()]);
    await h.serve.close({ drainTimeoutMs: 100 });
    const dbdir = join(h.dir.path, 'db');
    const bytes = readdirSync(dbdir)
      .filter((f) => f.startsWith('greygate.sqlite'))
      .map((f) => readFileSync(join(dbdir, f)).toString('latin1'))
      .join('');
    const key = readFileSync(join(dbdir, 'privacy.key'), 'utf8').trim();
    const dir = h.dir;
    h = undefined;
    await dir.cleanup();

    // Assess
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(bytes).not.toContain('alice@example.net');
    expect(bytes).not.toContain('192.0.2.10');
  });
});

describe('greygate serve: the HTTP API', () => {
  it('answers POST /v1/check with the decision as JSON, sharing state with the policy port', async () => {
    // Prepare
    h = await startServeHarness(['--delay', '2']);
    const body = { client_address: '192.0.2.1', sender: 'a@b.example', recipient: 'c@d.example' };

    // Act
    const first = await postCheck({ ...body, policy_test_time: T0 });
    const viaPolicy = await sendPolicyRequests(h.policyAddress, [
      examplePolicyRequest({ ...body, client_name: 'unknown', policy_test_time: String(T0 + 3) }),
    ]);
    const later = await postCheck({ ...body, policy_test_time: T0 + 4 });

    // Assess
    expect(first).toEqual({
      status: 200,
      json: { action: 'DEFER_IF_PERMIT Greylisted, please retry in 2 seconds', verdict: 'greylist', reason: 'new', retry_after_seconds: 2 },
    });
    expect(viaPolicy[0]).toMatch(/^PREPEND X-Greylist: delayed 3 seconds/);
    expect(later).toEqual({ status: 200, json: { action: 'DUNNO', verdict: 'pass', reason: 'triplet-found' } });
  });

  it('requires one of the --token-sha256 tokens on /v1/check, and none on /healthz', async () => {
    // Prepare
    h = await startServeHarness(['--token-sha256', sha256Hex('serve-token')]);
    const body = { client_address: '192.0.2.1', sender: 'a@b.example', recipient: 'c@d.example' };

    // Act
    const without = await postCheck(body);
    const withToken = await postCheck(body, { authorization: 'Bearer serve-token' });
    const health = await fetch(`${h.httpUrl}/healthz`);

    // Assess
    expect(without.status).toBe(401);
    expect(withToken.status).toBe(200);
    expect(health.status).toBe(200);
  });

  it('reports health on GET /healthz without detail', async () => {
    h = await startServeHarness();
    const res = await fetch(`${h.httpUrl}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 'ok' });
  });
});
