// Earned organisation whitelisting (--auto-whitelist-orgs) through the decision service, against
// both real stores: a SQLite file and a DynamoDB table on dynalite. An organisation counts as
// Postgrey counts a client — a triplet's first pass after a real retry, at most once an hour —
// and, once it reaches N, its stable-named hosts pass at the first attempt (`org-awl`) until it has
// been quiet for max-age. Concurrent first passes from a whole pool move the count as the hourly
// rule says, no more, no less.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMPTY_WHITELISTS } from '../../functions/core/whitelist.ts';
import type { Decision, PolicyRequest } from '../../functions/core/types.ts';
import { createDecisionService, type DecisionService } from '../../functions/service/decision-service.ts';
import { parseDomainWithPsl } from '../../functions/service/public-suffix-list.ts';
import { createSelectiveCheck } from '../../functions/selective/selective-check.ts';
import { DEFAULT_SELECTIVE_SETTINGS } from '../../functions/selective/selective.ts';
import { createDynamoDbStore } from '../../functions/store/dynamodb-store.ts';
import { createTable } from '../../functions/store/dynamodb-table.ts';
import { openSqliteStore } from '../../functions/store/sqlite-store.ts';
import type { GreylistStore } from '../../functions/store/store-port.ts';
import { greygateConfig, postfixRequest } from '../core/fixtures.ts';
import { startDynalite, TEST_REGION, type RunningDynalite } from '../support/dynalite.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const NOW = 1_800_000_000;
const HOUR = 3_600;
const DAY = 86_400;
const CONFIG = greygateConfig({ autoWhitelistOrgs: 3, delaySeconds: 300 });

let dynalite: RunningDynalite;
let tables = 0;
const dirs: TempDir[] = [];
const opened: GreylistStore[] = [];

beforeAll(async () => {
  dynalite = await startDynalite();
});

afterAll(async () => {
  await Promise.allSettled(opened.map((store) => store.close()));
  await dynalite?.stop();
  for (const dir of dirs) await dir.cleanup();
});

interface Backend {
  name: string;
  /** Several stores (hosts) on one new backing store. */
  hosts(n: number): Promise<GreylistStore[]>;
}

const BACKENDS: Backend[] = [
  {
    name: 'sqlite',
    async hosts(n) {
      const dir = await makeTempDir('greygate-org-awl-');
      dirs.push(dir);
      const stores = Array.from({ length: n }, () => openSqliteStore({ dbdir: dir.path }));
      opened.push(...stores);
      return stores;
    },
  },
  {
    name: 'dynamodb',
    async hosts(n) {
      tables += 1;
      const tableName = `org-awl-${tables}`;
      await createTable(dynalite.client(), tableName);
      const stores = Array.from({ length: n }, () =>
        createDynamoDbStore({
          client: dynalite.client(),
          closeClient: true,
          tableName,
          region: TEST_REGION,
          retryWindowSeconds: CONFIG.retryWindowSeconds,
          maxAgeSeconds: CONFIG.maxAgeDays * DAY,
          delaySeconds: CONFIG.delaySeconds,
        }),
      );
      opened.push(...stores);
      return stores;
    },
  },
];

function service(store: GreylistStore, selective: 's25r' | null = null): DecisionService {
  return createDecisionService({
    store,
    config: CONFIG,
    whitelists: () => EMPTY_WHITELISTS,
    clock: () => NOW * 1000,
    parseDomain: parseDomainWithPsl,
    selective: selective === null ? null : createSelectiveCheck({ ...DEFAULT_SELECTIVE_SETTINGS, mode: selective }, undefined, parseDomainWithPsl),
  });
}

/** A message from Gmail's pool: host `i`, a sender and recipient of its own, at time `t`. */
function gmail(i: number, t: number, who = `u${i}`): PolicyRequest {
  return postfixRequest({
    client_address: `209.85.${(i % 200) + 1}.${(i % 250) + 2}`,
    client_name: `mail-yw1-f${(i % 250) + 2}.google.com`,
    sender: `${who}@gmail.com`,
    recipient: `rcpt${i}@example.org`,
    policy_test_time: String(t),
  });
}

/** First attempt at `t`, a retry after the delay: the triplet's first pass. */
async function passOnce(svc: DecisionService, i: number, t: number): Promise<Decision> {
  await svc.check(gmail(i, t));
  return svc.check(gmail(i, t + 400));
}

for (const backend of BACKENDS) {
  describe(`organisation auto-whitelist on ${backend.name}`, () => {
    it('lets a new message of the organisation pass at once once N triplets passed, an hour apart', async () => {
      // Prepare
      const [store] = await backend.hosts(1);
      const svc = service(store as GreylistStore);

      // Act: two passes in one hour count once; then two more, each an hour later
      await passOnce(svc, 1, NOW);
      await passOnce(svc, 2, NOW + 10);
      const beforeThird = await svc.check(gmail(90, NOW + HOUR + 500, 'early'));
      await passOnce(svc, 3, NOW + HOUR + 1000);
      await passOnce(svc, 4, NOW + 2 * HOUR + 1000);
      const fresh = await svc.check(gmail(91, NOW + 2 * HOUR + 2000, 'stranger'));

      // Assess
      expect(beforeThird).toMatchObject({ verdict: 'greylist', reason: 'new' });
      expect(fresh).toMatchObject({ verdict: 'pass', reason: 'org-awl', action: 'DUNNO' });
    });

    it('ends S25R\'s false positive on a pool\'s names once the organisation earned its whitelist', async () => {
      // Prepare: a provider missing from S25R's exceptions (Google's and Amazon SES's are in
      // them): its pool names match rule 1, so selective mode greylists them
      const [store] = await backend.hosts(1);
      const svc = service(store as GreylistStore, 's25r');
      const pool = (i: number, t: number, who = `p${i}`): PolicyRequest =>
        postfixRequest({
          client_address: `198.51.${i}.25`,
          client_name: `mail-xa${i}-f${i}.mailer.example.com`,
          sender: `${who}@mailer.example.com`,
          recipient: `rcpt-${who}@example.org`,
          policy_test_time: String(t),
        });
      const first = await svc.check(pool(1, NOW));

      // Act: three triplets of three pool hosts pass, an hour apart
      await svc.check(pool(1, NOW + 400));
      for (const k of [2, 3]) {
        await svc.check(pool(k, NOW + (k - 1) * HOUR));
        await svc.check(pool(k, NOW + (k - 1) * HOUR + 400));
      }
      const next = await svc.check(pool(9, NOW + 4 * HOUR, 'next'));

      // Assess
      expect(first).toMatchObject({ verdict: 'greylist', reason: 'new' });
      expect(next).toMatchObject({ verdict: 'pass', reason: 'org-awl' });
    });

    it('forgets an organisation quiet for max-age', async () => {
      // Prepare
      const [store] = await backend.hosts(1);
      const svc = service(store as GreylistStore);
      for (let k = 0; k < 3; k += 1) await passOnce(svc, k, NOW + k * HOUR);
      const lastCount = NOW + 2 * HOUR + 400;

      // Act: a pass within the hour of the last count refreshes nothing
      const stillKnown = await svc.check(gmail(50, lastCount + 10, 'a'));
      const forgotten = await svc.check(gmail(51, lastCount + CONFIG.maxAgeDays * DAY + 10, 'b'));

      // Assess
      expect(stillKnown.reason).toBe('org-awl');
      expect(forgotten).toMatchObject({ verdict: 'greylist', reason: 'new' });
    });

    it('never whitelists hosts on dynamic names, however many of their triplets pass', async () => {
      // Prepare
      const [store] = await backend.hosts(1);
      const svc = service(store as GreylistStore);
      const bot = (i: number, t: number, who = `b${i}`) =>
        postfixRequest({
          client_address: `203.0.${i}.9`,
          client_name: `dyn-203-0-${i}-9.cust.example-isp.net`,
          sender: `${who}@spam.example`,
          recipient: `rcpt${i}@example.org`,
          policy_test_time: String(t),
        });

      // Act
      for (let k = 0; k < 5; k += 1) {
        await svc.check(bot(k, NOW + k * HOUR));
        await svc.check(bot(k, NOW + k * HOUR + 400));
      }
      const next = await svc.check(bot(9, NOW + 6 * HOUR, 'new'));

      // Assess
      expect(next).toMatchObject({ verdict: 'greylist', reason: 'new' });
    });

    it('counts 50 concurrent first passes from one organisation\'s pool once, on 5 hosts sharing the store', async () => {
      // Prepare
      const hosts = (await backend.hosts(5)).map((store) => service(store));
      const pool = Array.from({ length: 50 }, (_, i) => i);
      await Promise.all(pool.map((i) => hosts[i % 5]?.check(gmail(i, NOW))));

      // Act
      const passes = await Promise.all(pool.map((i) => hosts[i % 5]?.check(gmail(i, NOW + 400))));
      await Promise.all(pool.map((i) => hosts[i % 5]?.check(gmail(100 + i, NOW + HOUR))));
      const later = await Promise.all(pool.map((i) => hosts[i % 5]?.check(gmail(100 + i, NOW + HOUR + 400))));
      const third = await hosts[0]?.check(gmail(999, NOW + HOUR + 500, 'third'));

      // Assess: two counted hours make 2 of the 3 needed: a new message is still greylisted
      for (const decision of [...passes, ...later]) expect(decision).toMatchObject({ verdict: 'pass', reason: 'triplet-found' });
      expect(third).toMatchObject({ verdict: 'greylist', reason: 'new' });
      await passOnce(hosts[1] as DecisionService, 500, NOW + 2 * HOUR + 500);
      expect(await hosts[2]?.check(gmail(998, NOW + 3 * HOUR, 'fourth'))).toMatchObject({ verdict: 'pass', reason: 'org-awl' });
    });
  });
}
