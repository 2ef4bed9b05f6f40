// GET /metrics on serve's HTTP listener: prom-client's exposition, behind the API's token, counting
// exactly the decisions a scripted run of mixed traffic got answered.

import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../functions/http/bearer-auth.ts';
import { PolicyClient, examplePolicyRequest } from '../support/policy-client.ts';
import { runMixedTraffic, samples, tally } from '../support/mixed-traffic.ts';
import { startServeHarness, type ServeHarness } from '../support/serve-harness.ts';

const TOKEN = 'metrics-test-token';
let harness: ServeHarness | null = null;

afterEach(async () => {
  await harness?.stop();
  harness = null;
});

async function start(args: string[] = []): Promise<ServeHarness> {
  const h = await startServeHarness(['--token-sha256', sha256Hex(TOKEN), ...args]);
  harness = h;
  return h;
}

async function scrape(h: ServeHarness, token: string | null = TOKEN): Promise<Response> {
  return fetch(`${h.httpUrl}/metrics`, token === null ? {} : { headers: { authorization: `Bearer ${token}` } });
}

describe('GET /metrics', () => {
  it('refuses a scrape without the token, as the rest of the API', async () => {
    const h = await start();
    expect((await scrape(h, null)).status).toBe(401);
    expect((await scrape(h, 'wrong')).status).toBe(401);
    const ok = await scrape(h);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  });

  it('counts the decisions of mixed traffic exactly, by verdict and reason, with the delay and latency histograms', async () => {
    const wlClients = await (async () => {
      const dir = await import('../support/temp-dir.ts').then((m) => m.makeTempDir('greygate-wl-'));
      return dir;
    })();
    const { writeFile } = await import('node:fs/promises');
    await writeFile(`${wlClients.path}/clients`, '203.0.113.5\n');
    await writeFile(`${wlClients.path}/recipients`, 'postmaster@\n');
    const h = await start(['--whitelist-clients', `${wlClients.path}/clients`, '--whitelist-recipients', `${wlClients.path}/recipients`]);
    const answers = await runMixedTraffic({
      url: h.httpUrl,
      token: TOKEN,
      t0: Math.floor(Date.now() / 1000),
      tag: 'm',
      whitelistedClient: '203.0.113.5',
      whitelistedRecipient: 'postmaster@example.org',
    });
    // The policy protocol counts too: one more new triplet, over a real policy connection.
    const client = await PolicyClient.connect(h.policyAddress);
    expect(await client.request(examplePolicyRequest({ sender: 'policy@example.net' }))).toMatch(/^DEFER_IF_PERMIT/);
    answers.push({ verdict: 'greylist', reason: 'new' });

    const expected = tally(answers);
    expect(expected).toEqual({
      'greylist/new': 7,
      'greylist/early-retry': 2,
      'pass/triplet-found': 4,
      'pass/client-whitelist': 2,
      'pass/recipient-whitelist': 1,
    });
    const text = await (await scrape(h)).text();
    await client.close();
    await wlClients.cleanup();

    const decisions = samples(text, 'greygate_decisions_total');
    const seen: Record<string, number> = {};
    for (const [labels, value] of decisions) {
      const m = /verdict="([^"]+)",reason="([^"]+)"/.exec(labels);
      if (m) seen[`${m[1]}/${m[2]}`] = value;
    }
    expect(seen).toEqual(expected);
    // Three first passes, each after 400 s: in the 600 s bucket, none at or below 300 s.
    expect(samples(text, 'greygate_delay_until_pass_seconds_count').get('')).toBe(3);
    expect(samples(text, 'greygate_delay_until_pass_seconds_bucket').get('{le="300"}')).toBe(0);
    expect(samples(text, 'greygate_delay_until_pass_seconds_bucket').get('{le="600"}')).toBe(3);
    expect(samples(text, 'greygate_decision_duration_seconds_count').get('')).toBe(16);
    expect(samples(text, 'greygate_policy_connections_open').get('')).toBe(1);
    expect(samples(text, 'greygate_whitelist_entries').get('{kind="client"}')).toBe(1);
    expect(samples(text, 'greygate_whitelist_entries').get('{kind="recipient"}')).toBe(1);
    expect(text).toMatch(/^process_cpu_user_seconds_total /m);
    expect(text).toMatch(/^nodejs_eventloop_lag_seconds /m);
  });

  it('counts a purge run and what it deleted', async () => {
    const h = await start(['--retry-window', '1h']);
    const t0 = Math.floor(Date.now() / 1000) - 3 * 3600;
    const res = await fetch(`${h.httpUrl}/v1/check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ client_address: '192.0.2.1', sender: 'old@example.net', recipient: 'r@example.org', policy_test_time: t0 }),
    });
    expect(res.status).toBe(200);
    expect(await h.serve.purgeOnce()).toBe(1);
    const text = await (await scrape(h)).text();
    expect(samples(text, 'greygate_purge_deleted_total').get('')).toBe(1);
    expect(samples(text, 'greygate_purge_runs_total').get('{outcome="ok"}')).toBe(1);
    expect(samples(text, 'greygate_purge_last_run_timestamp_seconds').get('')).toBeGreaterThan(t0);
  });
});

describe('the metrics registry', () => {
  it('counts store errors by code, and no other failure as one', async () => {
    const { createMetrics } = await import('../../functions/stats/prometheus-metrics.ts');
    const { StoreUnavailableError } = await import('../../functions/store/store-port.ts');
    const metrics = createMetrics();
    metrics.observer.failed?.(new StoreUnavailableError('table unreachable'));
    metrics.observer.failed?.(new StoreUnavailableError('table unreachable'));
    metrics.observer.failed?.(new Error('a bug'));
    const { body } = await metrics.render();
    expect([...samples(body, 'greygate_store_errors_total')]).toEqual([['{code="store-unavailable"}', 2]]);
  });
});
