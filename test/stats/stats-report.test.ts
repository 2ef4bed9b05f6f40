// The report's arithmetic (pure) and what the statistics hold under --privacy: counts only, no
// address, and no client named in the report.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { HOUR_SECONDS, hourOf } from '../../functions/stats/stats-model.ts';
import { buildReport, percentiles } from '../../functions/stats/stats-report.ts';
import { runGreygate } from '../migrate/run-greygate.ts';
import { runMixedTraffic } from '../support/mixed-traffic.ts';
import { startServeHarness } from '../support/serve-harness.ts';

const NOW = 1_700_000_000;
const DAY = 86_400;

describe('the report', () => {
  it('takes percentiles as histogram_quantile does: linear within the bucket, from the bound before it', () => {
    expect(percentiles({ '600': 4 })).toEqual({ p50: 450, p90: 570, p95: 585, p99: 597 });
    expect(percentiles({ '300': 1, '600': 1 })).toMatchObject({ p50: 300 });
    // The unbounded bucket answers its lower bound.
    expect(percentiles({ inf: 2 })).toMatchObject({ p50: 172_800, p99: 172_800 });
    expect(percentiles({})).toEqual({ p50: null, p90: null, p95: null, p99: null });
  });

  it('derives "never came back" per settled hour when the store cannot count it, and leaves open hours out', () => {
    const old = hourOf(NOW) - 3 * DAY;
    const open = hourOf(NOW) - HOUR_SECONDS;
    const report = buildReport({
      store: 'dynamodb:t',
      now: NOW,
      sinceSeconds: 7 * DAY,
      retryWindowSeconds: 2 * DAY,
      countsNeverPassed: false,
      hours: [
        { hour: old, counters: { 'd.greylist.new': 10, 'cohort.passed': 4 } },
        // More passes than new ones (a new triplet counted by another hour): never below zero.
        { hour: old + HOUR_SECONDS, counters: { 'd.greylist.new': 1, 'cohort.passed': 2 } },
        { hour: open, counters: { 'd.greylist.new': 50 } },
      ],
      pending: [],
    });
    expect(report.total.newTriplets).toBe(61);
    expect(report.total.neverPassed).toBe(6);
    expect(report.total.neverPassedShare).toBeCloseTo(6 / 11);
    expect(report.days.find((d) => d.day === new Date(open * 1000).toISOString().slice(0, 10))?.neverPassed ?? null).toBeNull();
  });

  it('names the clients delayed most, and none when the keys are hashes', () => {
    const base = { store: 's', now: NOW, sinceSeconds: DAY, retryWindowSeconds: 2 * DAY, countsNeverPassed: true, hours: [] };
    const clear = buildReport({
      ...base,
      pending: [
        { key: '192.0.2.0/a@x/b@y', firstSeen: NOW - 50, lastSeen: NOW - 50 },
        { key: 'google.com/a@x/c@y', firstSeen: NOW - 90, lastSeen: NOW - 10 },
        { key: '192.0.2.0/d@x/b@y', firstSeen: NOW - 20, lastSeen: NOW - 20 },
      ],
    });
    expect(clear.pending).toEqual({ count: 3, oldestFirstSeen: NOW - 90, byClient: [{ client: '192.0.2.0', pending: 2 }, { client: 'google.com', pending: 1 }] });
    const hashed = buildReport({ ...base, pending: [{ key: 'a'.repeat(64), firstSeen: NOW, lastSeen: NOW }] });
    expect(hashed.pending).toEqual({ count: 1, oldestFirstSeen: NOW, byClient: null });
  });
});

describe('statistics under --privacy', () => {
  it('hold counters only, and the report names no client', async () => {
    const h = await startServeHarness(['--privacy']);
    try {
      await runMixedTraffic({ url: h.httpUrl, t0: Math.floor(Date.now() / 1000), tag: 'p', whitelistedClient: '203.0.113.5', whitelistedRecipient: 'postmaster@example.org' });
      await h.serve.statistics.flush();
      const file = join(h.dir.path, 'db', 'greygate.sqlite');
      const raw = new Database(file, { readonly: true });
      const names = raw.prepare('SELECT DISTINCT name FROM stats').pluck().all() as string[];
      raw.close();
      expect(names.length).toBeGreaterThan(3);
      for (const name of names) expect(name).toMatch(/^(d\.(greylist|pass)\.[a-z-]+|w\.(\d+|inf)|cohort\.(passed|never-passed))$/);
      const run = await runGreygate(['report', '--format=json', '--dbdir', join(h.dir.path, 'db')]);
      const json = JSON.parse(run.stdout) as { pending: { count: number; by_client: unknown } };
      expect(json.pending.count).toBeGreaterThan(0);
      expect(json.pending.by_client).toBeNull();
      const text = await runGreygate(['report', '--dbdir', join(h.dir.path, 'db')]);
      expect(text.stdout).toContain('keys are hashed under --privacy');
      expect(text.stdout).not.toMatch(/192\.0\.2|example\.(net|org)/);
    } finally {
      await h.stop();
    }
  });
});
