// The Lambda's statistics: counted per container, written after an invocation once the flush
// interval has passed (a frozen container runs no timer), one UpdateItem per hour bucket into the
// fleet's table; and the status page behind the Function URL's token. dynalite on loopback.

import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../functions/http/bearer-auth.ts';
import { createLambdaHandler, openLambdaStore } from '../../functions/runtime/lambda.ts';
import { DynamoDbStatistics } from '../../functions/stats/dynamodb-stats.ts';
import { hourOf } from '../../functions/stats/stats-model.ts';
import { createTable } from '../../functions/store/dynamodb-table.ts';
import { startDynalite, TEST_REGION, type RunningDynalite } from '../support/dynalite.ts';
import { functionUrlEvent } from '../support/function-url-event.ts';

const TOKEN = 'lambda-stats-token';
const TABLE = 'lambda-stats';
let dynalite: RunningDynalite;

beforeAll(async () => {
  dynalite = await startDynalite();
  await createTable(dynalite.client(), TABLE);
});
afterAll(async () => {
  await dynalite.stop();
});

const discard = new Writable({ write: (_c, _e, done) => done() });

describe('statistics on the Lambda', () => {
  it('are written after an invocation once the interval has passed, and shown on /ui behind the token', async () => {
    // Ten minutes into the current hour: the 61 s step below stays within it, whenever this runs.
    let clock = (hourOf(Math.floor(Date.now() / 1000)) + 600) * 1000;
    const handler = createLambdaHandler(
      { AWS_REGION: TEST_REGION, GREYGATE_TABLE: TABLE, GREYGATE_TOKEN_SHA256: sha256Hex(TOKEN), GREYGATE_PRIVACY: 'false', GREYGATE_STATS_FLUSH_SECONDS: '60' },
      { openStore: (config) => openLambdaStore(config, dynalite.client()), logStream: discard, writeMetrics: () => {}, clock: () => clock },
    );
    const check = async (n: number): Promise<void> => {
      const res = await handler(
        functionUrlEvent({
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: JSON.stringify({ client_address: `192.0.2.${n}`, sender: `s${n}@example.net`, recipient: 'r@example.org' }),
        }),
      );
      expect(res.statusCode).toBe(200);
    };
    const stored = new DynamoDbStatistics(dynalite.client(), TABLE);
    const hour = hourOf(Math.floor(clock / 1000));

    for (const n of [1, 2, 3]) await check(n);
    // Within the interval: counted in memory only, nothing written yet.
    expect(await stored.readStatistics(hour - 3600, hour + 3600)).toEqual([]);

    clock += 61_000;
    await check(4);
    const [bucket] = await stored.readStatistics(hour - 3600, hour + 7200);
    expect(bucket?.counters).toEqual({ 'd.greylist.new': 4 });

    const ui = (headers: Record<string, string>) => handler(functionUrlEvent({ method: 'GET', path: '/ui', headers, body: null }));
    expect((await ui({})).statusCode).toBe(401);
    const page = await ui({ authorization: `Bearer ${TOKEN}` });
    expect(page.statusCode).toBe(200);
    expect(page.headers?.['content-security-policy']).toMatch(/default-src 'none'/);
    expect(page.body).toContain(`dynamodb:${TABLE}`);
    expect(page.body).toMatch(/<dd id="decisions">4<\/dd>/);
  });
});
