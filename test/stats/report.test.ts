// `greygate report` as an admin runs it (a child process), beside a live serve on SQLite and after
// two serve processes shared one DynamoDB table (dynalite): its counts are exactly the decisions
// the scripted traffic got answered, and agree with /metrics.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGreygate } from '../migrate/run-greygate.ts';
import { startDynalite, type RunningDynalite } from '../support/dynalite.ts';
import { runMixedTraffic, samples, tally, type AnsweredDecision } from '../support/mixed-traffic.ts';
import { RecordingLogger, startServeHarness } from '../support/serve-harness.ts';
import { PolicyClient, examplePolicyRequest } from '../support/policy-client.ts';
import { parseServeConfig } from '../../functions/config/serve-config.ts';
import { startServe } from '../../functions/runtime/serve.ts';
import { startServeProcess } from '../support/serve-process.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

interface JsonReport {
  store: string;
  never_passed_source: string;
  total: {
    decisions: number;
    greylisted: number;
    passed: number;
    by_reason: Record<string, number>;
    new_triplets: number;
    passed_later: number;
    never_passed: number | null;
    first_passes: number;
    delay_histogram: Record<string, number>;
    delay_seconds: { p50: number | null; p95: number | null };
  };
  days: Array<{ day: string; decisions: number }>;
  pending: { count: number; by_client: Array<{ client: string; pending: number }> | null };
}

let dir: TempDir;
let wl: { clients: string; recipients: string };

beforeAll(async () => {
  dir = await makeTempDir('greygate-report-');
  wl = { clients: join(dir.path, 'clients'), recipients: join(dir.path, 'recipients') };
  await writeFile(wl.clients, '203.0.113.5\n');
  await writeFile(wl.recipients, 'postmaster@\n');
});
afterAll(async () => {
  await dir.cleanup();
});

const traffic = (url: string, tag: string): Promise<AnsweredDecision[]> =>
  runMixedTraffic({ url, t0: Math.floor(Date.now() / 1000), tag, whitelistedClient: '203.0.113.5', whitelistedRecipient: 'postmaster@example.org' });

async function report(args: string[]): Promise<JsonReport> {
  const run = await runGreygate(['report', '--format=json', ...args]);
  if (run.code !== 0) throw new Error(`report exited ${run.code}: ${run.stderr}`);
  return JSON.parse(run.stdout) as JsonReport;
}

describe('greygate report', () => {
  it('beside a live serve on SQLite: the decisions made, the delays, the pending triplets; agrees with /metrics', async () => {
    const h = await startServeHarness(['--whitelist-clients', wl.clients, '--whitelist-recipients', wl.recipients]);
    try {
      const answers = await traffic(h.httpUrl, 'sqlite');
      const expected = tally(answers);
      await h.serve.statistics.flush();
      const dbdir = join(h.dir.path, 'db');
      const json = await report(['--dbdir', dbdir]);

      expect(json.store).toBe(`sqlite:${join(dbdir, 'greygate.sqlite')}`);
      expect(json.total.by_reason).toEqual(expected);
      expect(json.total.decisions).toBe(answers.length);
      expect(json.total.greylisted).toBe(8);
      expect(json.total.new_triplets).toBe(6);
      expect(json.total.passed_later).toBe(3);
      expect(json.total.first_passes).toBe(3);
      expect(json.total.delay_histogram).toEqual({ '600': 3 });
      // Linear within the 300–600 s bucket, as Prometheus's histogram_quantile.
      expect(json.total.delay_seconds.p50).toBe(450);
      // The retry window (2 days) is still open for today's triplets.
      expect(json.total.never_passed).toBeNull();
      expect(json.never_passed_source).toBe('counted');
      // Triplets 0, 1 and 5 are still waiting, all from 192.0.2.0/24.
      expect(json.pending.count).toBe(3);
      expect(json.pending.by_client).toEqual([{ client: '192.0.2.0', pending: 3 }]);

      const metrics = await (await fetch(`${h.httpUrl}/metrics`)).text();
      const fromMetrics: Record<string, number> = {};
      for (const [labels, value] of samples(metrics, 'greygate_decisions_total')) {
        const m = /verdict="([^"]+)",reason="([^"]+)"/.exec(labels);
        if (m) fromMetrics[`${m[1]}/${m[2]}`] = value;
      }
      expect(fromMetrics).toEqual(json.total.by_reason);

      const text = await runGreygate(['report', '--dbdir', dbdir]);
      expect(text.code).toBe(0);
      expect(text.stdout).toMatch(/^total\s+15\s+8\s+7\s+6\s+-\s+-\s+8 min\s+10 min$/m);
      expect(text.stdout).toContain('pending triplets now: 3');
      const csv = await runGreygate(['report', '--dbdir', dbdir, '--format', 'csv']);
      const [header, ...rows] = csv.stdout.trim().split('\n');
      expect(header).toMatch(/^day,decisions,greylisted,passed,new_triplets,passed_later,never_passed,/);
      expect(rows.reduce((n, r) => n + Number(r.split(',')[1]), 0)).toBe(15);
    } finally {
      await h.stop();
    }
  });

  it('counts what the purge removed without it ever passing, once the retry window is over', async () => {
    // serve on a clock of its own, three hours back: the triplets are greylisted then and never retried.
    const db = join(dir.path, 'purge-db');
    const { config } = parseServeConfig(['--inet', '127.0.0.1:0', '--no-http', '--dbdir', db, '--retry-window', '1h', '--whitelist-clients', wl.clients, '--whitelist-recipients', wl.recipients], {});
    let clock = Date.now() - 3 * 3600_000;
    const serve = await startServe(config, { logger: new RecordingLogger(), clock: () => clock });
    try {
      const client = await PolicyClient.connect(serve.policyAddresses()[0] as string);
      for (const i of [1, 2, 3]) expect(await client.request(examplePolicyRequest({ sender: `old${i}@example.net` }))).toMatch(/^DEFER_IF_PERMIT/);
      // One that passes later, in the same hour of first sighting: not a never-passed one.
      expect(await client.request(examplePolicyRequest({ sender: 'retried@example.net' }))).toMatch(/^DEFER_IF_PERMIT/);
      clock += 600_000;
      expect(await client.request(examplePolicyRequest({ sender: 'retried@example.net' }))).toMatch(/^PREPEND X-Greylist/);
      await client.close();
      clock = Date.now();
      expect(await serve.purgeOnce()).toBe(3);
      await serve.statistics.flush();
      const json = await report(['--dbdir', db, '--retry-window', '1h', '--since', '1d']);
      expect(json.total.new_triplets).toBe(4);
      expect(json.total.passed_later).toBe(1);
      expect(json.total.never_passed).toBe(3);
      expect(json.total).toMatchObject({ never_passed_share: 0.75 });
    } finally {
      await serve.close({ drainTimeoutMs: 100 });
    }
  });
});

describe('greygate report on a fleet', () => {
  let dynalite: RunningDynalite;
  beforeAll(async () => {
    dynalite = await startDynalite({ inChildProcess: true });
  });
  afterAll(async () => {
    await dynalite.stop();
  });

  it('shows the sum of two serve processes sharing one DynamoDB table', { timeout: 60_000 }, async () => {
    const table = 'greygate-fleet';
    const created = await runGreygate(['create-table', '--table', table, '--dynamodb-endpoint', dynalite.endpoint]);
    expect(created.code, created.stderr).toBe(0);
    const args = ['--store', 'dynamodb', '--table', table, '--dynamodb-endpoint', dynalite.endpoint, '--whitelist-clients', wl.clients, '--whitelist-recipients', wl.recipients];
    const [a, b] = await Promise.all([startServeProcess(args), startServeProcess(args)]);
    let answers: AnsweredDecision[];
    try {
      answers = [...(await traffic(a.httpUrl, 'mx1')), ...(await traffic(b.httpUrl, 'mx2'))];
    } finally {
      // SIGTERM: each flushes what it counted on the way out.
      await Promise.all([a.stop(), b.stop()]);
    }
    const json = await report(['--store=dynamodb', '--table', table, '--dynamodb-endpoint', dynalite.endpoint]);
    expect(json.store).toBe(`dynamodb:${table}`);
    expect(json.total.by_reason).toEqual(tally(answers));
    expect(json.total.decisions).toBe(30);
    expect(json.total.first_passes).toBe(6);
    expect(json.total.passed_later).toBe(6);
    expect(json.never_passed_source).toBe('derived');
    expect(json.pending.count).toBe(6);
  });
});

describe('serve flushing on its own', () => {
  it('writes its statistics every --stats-flush-seconds without being asked', async () => {
    const h = await startServeHarness(['--stats-flush-seconds', '1']);
    try {
      const res = await fetch(`${h.httpUrl}/v1/check`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ client_address: '192.0.2.1', sender: 'a@example.net', recipient: 'b@example.org' }),
      });
      expect(res.status).toBe(200);
      const dbdir = join(h.dir.path, 'db');
      let json: JsonReport | null = null;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        json = await report(['--dbdir', dbdir, '--since', '1d']);
        if (json.total.decisions > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(json?.total.by_reason).toEqual({ 'greylist/new': 1 });
    } finally {
      await h.stop();
    }
  });
});

describe('greygate report, refusing', () => {
  it('a --dbdir without a greygate database, saying which directory to give', async () => {
    const run = await runGreygate(['report', '--dbdir', join(dir.path, 'nothing-here')]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/there is no greygate database in .*nothing-here .*give the --dbdir that serve uses/);
  });

  it('an unknown format or period, naming the flag', async () => {
    expect((await runGreygate(['report', '--format', 'xml'])).stderr).toMatch(/--format.*text, json or csv/);
    expect((await runGreygate(['report', '--since', '7w'])).stderr).toMatch(/--since: "7w" is not valid; expected a number of days or hours such as 7d or 24h/);
  });
});
