// Run-time allow entries on both stores: an entry added on one instance is honoured by a second
// instance on the same store (SQLite file, DynamoDB table on dynalite) within the documented
// interval, an expired one is ignored, and the DynamoDB decision path keeps its one round trip.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeleteTableCommand, GetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EMPTY_WHITELISTS } from '../../functions/core/index.ts';
import { buildAllowMatcher, makeAllowEntry, AllowEntryError, MAX_ALLOW_COMMENT } from '../../functions/core/allow-entry.ts';
import { createAllowCache, MAX_STALE_MS, REFRESH_MS, ALLOW_PROPAGATION_SECONDS } from '../../functions/allow/allow-cache.ts';
import { addAllowEntry, listAllowEntries, removeAllowEntry } from '../../functions/allow/admin-ops.ts';
import { createDecisionService } from '../../functions/service/decision-service.ts';
import { openSqliteStore } from '../../functions/store/sqlite-store.ts';
import { createDynamoDbStore, type DynamoDbStore } from '../../functions/store/dynamodb-store.ts';
import { createTable } from '../../functions/store/dynamodb-table.ts';
import type { GreylistStore } from '../../functions/store/store-port.ts';
import type { StoreAdmin } from '../../functions/store/store-admin.ts';
import { greygateConfig, postfixRequest } from '../core/fixtures.ts';
import { startDynalite, TEST_REGION, type RunningDynalite } from '../support/dynalite.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const T0 = 1_800_000_000;
const CONFIG = greygateConfig();

function adminOf(store: GreylistStore): StoreAdmin {
  const admin = store.admin?.();
  if (!admin) throw new Error('store without admin side');
  return admin;
}

/** An instance: a store of its own on the shared backend, its allow cache and decision service, on a clock the test moves. */
function instance(store: GreylistStore, clock: { ms: number }) {
  const cache = createAllowCache({ admin: adminOf(store), clock: () => clock.ms });
  const service = createDecisionService({ store, config: CONFIG, whitelists: () => EMPTY_WHITELISTS, clock: () => clock.ms, allowEntries: cache });
  return { store, cache, service };
}

describe('allow entries (pure)', () => {
  it('canonicalises values and names the field of bad input', () => {
    expect(makeAllowEntry({ kind: 'client', value: '192.0.2.77/24', addedBy: 'me' }, T0).id).toBe('client:192.0.2.0/24');
    expect(makeAllowEntry({ kind: 'recipient', value: 'HelpDesk@Example.ORG', addedBy: 'me' }, T0).id).toBe('recipient:helpdesk@example.org');
    expect(makeAllowEntry({ kind: 'client', value: '2001:db8::1', addedBy: 'me' }, T0).id).toBe('client:2001:db8:0:0:0:0:0:1');
    const bad = (input: Parameters<typeof makeAllowEntry>[0]): string => {
      try {
        makeAllowEntry(input, T0);
      } catch (error) {
        if (error instanceof AllowEntryError) return error.field;
      }
      return 'accepted';
    };
    expect(bad({ kind: 'ip', value: '192.0.2.1', addedBy: 'me' })).toBe('kind');
    expect(bad({ kind: 'client', value: '192.0.2.300', addedBy: 'me' })).toBe('value');
    expect(bad({ kind: 'client', value: '10.0.0.0/4', addedBy: 'me' })).toBe('value');
    expect(bad({ kind: 'host', value: 'not a name', addedBy: 'me' })).toBe('value');
    expect(bad({ kind: 'client', value: '192.0.2.1', expiresAt: T0 - 1, addedBy: 'me' })).toBe('expires');
    expect(bad({ kind: 'client', value: '192.0.2.1', comment: 'a\nb', addedBy: 'me' })).toBe('comment');
  });

  it('matches each kind, and never an unverified name', () => {
    const entries = [
      makeAllowEntry({ kind: 'client', value: '198.51.100.0/24', addedBy: 'a' }, T0),
      makeAllowEntry({ kind: 'host', value: 'mx.partner.example', addedBy: 'a' }, T0),
      makeAllowEntry({ kind: 'recipient', value: 'example.org', addedBy: 'a' }, T0),
      makeAllowEntry({ kind: 'recipient', value: 'helpdesk@example.net', addedBy: 'a' }, T0),
    ];
    const m = buildAllowMatcher(entries);
    const id = (over: Record<string, string>) => m.match(postfixRequest({ recipient: 'x@other.example', ...over }), T0)?.id ?? null;
    expect(id({ client_address: '198.51.100.9' })).toBe('client:198.51.100.0/24');
    expect(id({ client_address: '198.51.101.9' })).toBeNull();
    expect(id({ client_name: 'MX.Partner.Example' })).toBe('host:mx.partner.example');
    expect(id({ recipient: 'anyone@example.org' })).toBe('recipient:example.org');
    expect(id({ recipient: 'anyone@sub.example.org' })).toBeNull();
    expect(id({ recipient: 'HelpDesk@example.net' })).toBe('recipient:helpdesk@example.net');
    expect(id({ recipient: 'other@example.net' })).toBeNull();
    expect(id({ client_name: 'unknown' })).toBeNull();
  });
});

describe('org entries', () => {
  it("match the organisation of a stable verified name, never a dynamic one's; the cache loads the PSL for them", async () => {
    const { parseDomainWithPsl } = await import('../../functions/service/public-suffix-list.ts');
    const entries = [makeAllowEntry({ kind: 'org', value: 'google.com', addedBy: 'a' }, T0)];
    const m = buildAllowMatcher(entries, parseDomainWithPsl);
    const id = (name: string, address: string) => m.match(postfixRequest({ client_name: name, client_address: address }), T0)?.id ?? null;
    expect(id('mail-yw1-f169.google.com', '209.85.219.169')).toBe('org:google.com');
    expect(id('dsl-5-6.google.com', '198.51.100.9')).toBeNull();
    expect(id('209-85-219-169.google.com', '209.85.219.169')).toBeNull();
    expect(id('unknown', '209.85.219.169')).toBeNull();
    // Without the list an org entry never matches (rather than matching by a guess).
    expect(buildAllowMatcher(entries).match(postfixRequest({ client_name: 'mail-yw1-f169.google.com', client_address: '209.85.219.169' }), T0)).toBeNull();

    let loaded = 0;
    const cache = createAllowCache({
      admin: { allowVersion: async () => 1, allowEntries: async () => ({ version: 1, entries }) } as unknown as StoreAdmin,
      clock: () => T0 * 1000,
      loadParseDomain: async () => {
        loaded += 1;
        return parseDomainWithPsl;
      },
    });
    await cache.refresh();
    const matcher = await cache.current();
    expect(loaded).toBe(1);
    expect(matcher.match(postfixRequest({ client_name: 'mail-yw1-f169.google.com', client_address: '209.85.219.169' }), T0)?.id).toBe('org:google.com');
  });
});

/** The same story on either store: `open` gives a new store (a connection of its own) on one shared backend. */
function sharedStoreStory(name: string, setup: () => Promise<{ open: () => GreylistStore; cleanup: () => Promise<void> }>) {
  describe(`allow entries shared through ${name}`, () => {
    let env: { open: () => GreylistStore; cleanup: () => Promise<void> };
    const stores: GreylistStore[] = [];
    const open = (): GreylistStore => {
      const store = env.open();
      stores.push(store);
      return store;
    };
    beforeAll(async () => {
      env = await setup();
    });
    afterAll(async () => {
      for (const store of stores) await store.close();
      await env.cleanup();
    });

    it(`an entry added on one instance is honoured by another within ${ALLOW_PROPAGATION_SECONDS} s, and removed likewise`, async () => {
      const clock = { ms: T0 * 1000 };
      const a = open();
      const b = instance(open(), clock);
      const request = postfixRequest({ client_address: '203.0.113.9', sender: 'reset@bank.example', recipient: 'user@example.org' });

      expect((await b.service.check(request)).reason).toBe('new');
      await addAllowEntry(adminOf(a), { kind: 'client', value: '203.0.113.0/24', comment: 'bank pool', addedBy: 'alice' }, T0);

      // B's copy is younger than the refresh interval: the entry is not seen yet.
      clock.ms += 1_000;
      expect((await b.service.check(request)).reason).toBe('early-retry');

      // Past the refresh interval a decision starts a refresh in the background, not waiting for it.
      clock.ms += REFRESH_MS;
      expect((await b.service.check(request)).reason).toBe('early-retry');
      await b.cache.refresh();
      const allowed = await b.service.check(request);
      expect(allowed).toMatchObject({ verdict: 'pass', reason: 'allow-entry', action: 'DUNNO', signals: [{ name: 'allow-entry', entry: 'client:203.0.113.0/24' }] });

      // Removal: a copy older than MAX_STALE_MS is refreshed before the decision uses it.
      expect((await removeAllowEntry(adminOf(a), 'client:203.0.113.77/24')).removed).toBe(true);
      clock.ms += MAX_STALE_MS + 1;
      expect((await b.service.check(request)).reason).not.toBe('allow-entry');
      expect(MAX_STALE_MS + REFRESH_MS / 2).toBeLessThanOrEqual(ALLOW_PROPAGATION_SECONDS * 1000);
    });

    it('ignores an expired entry, and lists it as not live', async () => {
      const clock = { ms: T0 * 1000 };
      const a = open();
      const b = instance(open(), clock);
      await addAllowEntry(adminOf(a), { kind: 'recipient', value: 'expiring@example.org', expiresAt: T0 + 60, addedBy: 'alice' }, T0);
      const request = postfixRequest({ client_address: '192.0.2.44', recipient: 'expiring@example.org' });
      expect((await b.service.check(request)).reason).toBe('allow-entry');
      clock.ms += 61_000;
      expect((await b.service.check(request)).reason).toBe('new');
      const listed = await listAllowEntries(adminOf(a), T0 + 61);
      expect(listed.entries.find((e) => e.id === 'recipient:expiring@example.org')).toMatchObject({ live: false, addedBy: 'alice', expiresAt: T0 + 60 });
    });
  });
}

let dir: TempDir;
sharedStoreStory('one SQLite file', async () => {
  dir = await makeTempDir();
  return { open: () => openSqliteStore({ dbdir: dir.path, checkpointWorker: false }), cleanup: () => dir.cleanup() };
});

let dynalite: RunningDynalite;
let tables = 0;
async function dynamoTable(): Promise<{ name: string; client: DynamoDBClient; open: () => DynamoDbStore; cleanup: () => Promise<void> }> {
  dynalite ??= await startDynalite();
  tables += 1;
  const name = `allow-${tables}`;
  const admin = dynalite.client();
  await createTable(admin, name);
  return {
    name,
    client: admin,
    open: () =>
      createDynamoDbStore({
        client: dynalite.client(),
        tableName: name,
        region: TEST_REGION,
        retryWindowSeconds: CONFIG.retryWindowSeconds,
        maxAgeSeconds: CONFIG.maxAgeDays * 86_400,
        delaySeconds: CONFIG.delaySeconds,
      }),
    cleanup: async () => {
      await admin.send(new DeleteTableCommand({ TableName: name }));
    },
  };
}
sharedStoreStory('one DynamoDB table', dynamoTable);

describe('allow entries on DynamoDB: the decision path', () => {
  afterAll(async () => {
    await dynalite?.stop();
  });

  it('refuses an entry that would not fit DynamoDB\'s one item, naming the field, before DynamoDB would', async () => {
    const table = await dynamoTable();
    const store = table.open();
    const admin = adminOf(store);
    const long = (i: number) => ({
      kind: 'recipient',
      value: `${String(i).padStart(4, '0')}${'x'.repeat(56)}@${'d'.repeat(60)}.${'e'.repeat(60)}.${'f'.repeat(60)}.example`,
      comment: '€'.repeat(MAX_ALLOW_COMMENT),
      addedBy: 'ü'.repeat(100),
    });
    let added = 0;
    let refused: unknown = null;
    for (let i = 0; i < 400 && refused === null; i += 1) {
      try {
        await addAllowEntry(admin, long(i), T0);
        added += 1;
      } catch (error) {
        refused = error;
      }
    }
    expect(refused).toBeInstanceOf(AllowEntryError);
    expect((refused as AllowEntryError).field).toBe('comment');
    expect(added).toBeGreaterThan(100);
    expect((await admin.allowEntries()).entries).toHaveLength(added);
    // dynalite does not enforce DynamoDB's 400 KB item limit, so the item is measured here: its
    // JSON wire form (type tags and quotes included) overstates DynamoDB's count.
    const raw = await table.client.send(new GetItemCommand({ TableName: table.name, Key: { pk: { S: 'a#allow-entries' } } }));
    expect(Buffer.byteLength(JSON.stringify(raw.Item))).toBeLessThan(400_000);
    await store.close();
    await table.cleanup();
  }, 60_000);

  it('keeps one round trip and at most one write per common decision with a warm copy', async () => {
    const table = await dynamoTable();
    const store = table.open();
    const clock = { ms: T0 * 1000 };
    const b = instance(store, clock);
    await addAllowEntry(adminOf(store), { kind: 'client', value: '198.51.100.0/24', addedBy: 'bench' }, T0);
    await b.cache.refresh();
    const before = store.stats();
    for (let i = 0; i < 5; i += 1) {
      await b.service.check(postfixRequest({ client_address: `192.0.2.${i + 1}`, sender: `s${i}@example.net`, recipient: 'r@example.org' }));
    }
    // An allow-listed request costs nothing at all.
    await b.service.check(postfixRequest({ client_address: '198.51.100.7' }));
    const after = store.stats();
    expect(after.roundTrips - before.roundTrips).toBe(5);
    expect(after.writes - before.writes).toBeLessThanOrEqual(5);
    await store.close();
    await table.cleanup();
  });
});
