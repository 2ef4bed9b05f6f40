// The status page (GET /ui) in a real browser: Debian's chromium driven by playwright-core. Seeded
// statistics plus a scripted run of mixed traffic: the chart has a point per hour of the range,
// off the baseline exactly where traffic was counted; the range switch works; the page asks
// nothing of any other origin and logs no console error; its figures agree with /metrics and
// `greygate report`. A screenshot is saved where the test prints.

import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../functions/http/bearer-auth.ts';
import { HOUR_SECONDS, hourOf } from '../../functions/stats/stats-model.ts';
import { hasStatistics } from '../../functions/stats/stats-port.ts';
import { runGreygate } from '../migrate/run-greygate.ts';
import { runMixedTraffic, samples, tally } from '../support/mixed-traffic.ts';
import { startServeHarness, type ServeHarness } from '../support/serve-harness.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const TOKEN = 'status-page-token';

// Without chromium (`apt-get install chromium`, as .ci/run does) there is nothing to drive.
describe.skipIf(CHROMIUM === undefined)('the status page in chromium', () => {
  let h: ServeHarness;
  let browser: Browser;
  let expectedTotal: number;
  let wlDir: TempDir;

  beforeAll(async () => {
    wlDir = await makeTempDir('greygate-ui-wl-');
    const wl = { clients: join(wlDir.path, 'clients'), recipients: join(wlDir.path, 'recipients') };
    await writeFile(wl.clients, '203.0.113.5\n');
    await writeFile(wl.recipients, 'postmaster@\n');
    h = await startServeHarness(['--token-sha256', sha256Hex(TOKEN), '--whitelist-clients', wl.clients, '--whitelist-recipients', wl.recipients]);
    const now = Math.floor(Date.now() / 1000);
    // Seeded: two hours ago and three days ago, as another instance sharing the store would flush.
    const store = h.serve.store;
    if (!hasStatistics(store)) throw new Error('the SQLite store keeps no statistics');
    await store.statistics().addStatistics(
      [
        { hour: hourOf(now) - 2 * HOUR_SECONDS, counters: { 'd.greylist.new': 5, 'd.pass.triplet-found': 3, 'w.900': 3 } },
        { hour: hourOf(now) - 3 * 86_400, counters: { 'd.greylist.new': 11 } },
      ],
      { now, retentionSeconds: 400 * 86_400 },
    );
    const answers = await runMixedTraffic({ url: h.httpUrl, token: TOKEN, t0: now, tag: 'ui', whitelistedClient: '203.0.113.5', whitelistedRecipient: 'postmaster@example.org' });
    expect(tally(answers)['greylist/new']).toBe(6);
    expectedTotal = answers.length;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await h?.stop();
    await wlDir?.cleanup();
  });

  it('answers 401 without the token, as the rest of the API', async () => {
    expect((await fetch(`${h.httpUrl}/ui`)).status).toBe(401);
    expect((await fetch(`${h.httpUrl}/ui?range=1y`, { headers: { authorization: `Bearer ${TOKEN}` } })).status).toBe(400);
  });

  it('draws a point per hour, switches range, stays on its origin, logs no error, agrees with /metrics and the report', { timeout: 60_000 }, async () => {
    const context = await browser.newContext({ extraHTTPHeaders: { authorization: `Bearer ${TOKEN}` } });
    const page = await context.newPage();
    const requests: string[] = [];
    const problems: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));

    const res = await page.goto(`${h.httpUrl}/ui`);
    expect(res?.status()).toBe(200);
    const points = async (series: string): Promise<number[]> => {
      const attr = await page.locator(`#traffic polyline[data-series="${series}"]`).getAttribute('points');
      return (attr ?? '').trim().split(/\s+/).map((p) => Number(p.split(',')[1]));
    };
    const offBaseline = (ys: number[]): number => ys.filter((y) => y < Math.max(...ys)).length;

    // 24 h: 24 points; greylisted off the baseline in two hours (now, and the seeded one).
    let greylisted = await points('greylisted');
    expect(greylisted).toHaveLength(24);
    expect(await points('passed')).toHaveLength(24);
    expect(offBaseline(greylisted)).toBe(2);
    const decisions24 = Number(await page.locator('#decisions').textContent());
    expect(decisions24).toBe(expectedTotal + 8);
    await page.screenshot({ path: join(tmpdir(), 'greygate-status-24h.png'), fullPage: true });
    // No hour of the last 24 is settled (the retry window is 2 days).
    expect(await page.locator('#never-passed').textContent()).toMatch(/^not known yet: an hour counts once its retry window \(48\.0 h\) is over; see 7d$/);

    await page.getByRole('link', { name: '7d' }).click();
    await page.waitForURL(/range=7d/);
    greylisted = await points('greylisted');
    expect(greylisted).toHaveLength(168);
    expect(offBaseline(greylisted)).toBe(3);
    expect(Number(await page.locator('#decisions').textContent())).toBe(expectedTotal + 8 + 11);
    expect(await page.locator('#delays rect[data-le="900"]').getAttribute('data-count')).toBe('3');
    expect(await page.locator('#delays rect[data-le="600"]').getAttribute('data-count')).toBe('3');
    // The seeded hour three days back is settled: 11 new, none removed unpassed by the purge.
    expect(await page.locator('#never-passed').textContent()).toBe('0: 0.0 % of the new triplets of the hours whose retry window is over');

    await page.getByRole('link', { name: '30d' }).click();
    await page.waitForURL(/range=30d/);
    expect(await points('greylisted')).toHaveLength(720);
    const shot = join(tmpdir(), 'greygate-status-30d.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`status page screenshots: ${join(tmpdir(), 'greygate-status-24h.png')} and ${shot}`);

    expect(requests.length).toBeGreaterThanOrEqual(3);
    expect(requests.filter((u) => !u.startsWith(`${h.httpUrl}/`)), requests.join("\n")).toEqual([]);
    expect(problems, problems.join("\n")).toEqual([]);

    // The page's reasons table, /metrics and the report: the same traffic, the same counts.
    await page.goto(`${h.httpUrl}/ui?range=24h`);
    const pageReasons: Record<string, number> = {};
    for (const row of await page.locator('#reasons tr').all()) {
      const [reason, n] = await row.locator('td').allTextContents();
      if (reason !== undefined) pageReasons[reason] = Number(n);
    }
    await context.close();
    const metrics = await (await fetch(`${h.httpUrl}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
    const fromMetrics: Record<string, number> = {};
    for (const [labels, value] of samples(metrics, 'greygate_decisions_total')) {
      const m = /verdict="([^"]+)",reason="([^"]+)"/.exec(labels);
      if (m) fromMetrics[`${m[1]}/${m[2]}`] = value;
    }
    const run = await runGreygate(['report', '--format=json', '--since', '1d', '--dbdir', join(h.dir.path, 'db')]);
    const report = JSON.parse(run.stdout) as { total: { by_reason: Record<string, number> } };
    // The seeded buckets (5 new, 3 found two hours ago) are the store's, not this process's.
    const seeded = { 'greylist/new': 5, 'pass/triplet-found': 3 };
    const minusSeeded = (counts: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v - (seeded[k as keyof typeof seeded] ?? 0)]));
    expect(minusSeeded(pageReasons)).toEqual(fromMetrics);
    expect(report.total.by_reason).toEqual(pageReasons);
  });
});
