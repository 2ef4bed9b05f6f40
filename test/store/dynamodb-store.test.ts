// The DynamoDB adapter against dynalite on loopback: the shared store contract, then what a fleet
// relies on: MX hosts racing on one triplet, the auto-whitelist under concurrent first passes, one
// round trip per common decision, records DynamoDB has not deleted yet, errors an admin can act
// on, and `greygate create-table`'s table.

import { once } from 'node:events';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { decide, decisionKeys, DEFAULT_POLICY_CONFIG } from '../../functions/core/index.ts';
import type { Decision, PolicyConfig, PolicyRequest } from '../../functions/core/index.ts';
import { translateDynamoDbError } from '../../functions/store/dynamodb-errors.ts';
import {
  createDynamoDbStore,
  type DynamoDbStore,
  type DynamoDbStoreOptions,
  type DynamoDbStoreStats,
} from '../../functions/store/dynamodb-store.ts';
import {
  createDynamoDbClient,
  createTable,
  TABLE_PARTITION_KEY,
  TABLE_TTL_ATTRIBUTE,
} from '../../functions/store/dynamodb-table.ts';
import { StoreError, StoreMisconfiguredError, StoreUnavailableError } from '../../functions/store/store-port.ts';
import { postfixRequest } from '../core/fixtures.ts';
import { startDynalite, TEST_CREDENTIALS, TEST_REGION, type RunningDynalite } from '../support/dynalite.ts';
import { describeStoreContract } from './store-contract.ts';

const NOW = 1_700_000_000;
const HOUR = 3_600;
const CONFIG: PolicyConfig = { ...DEFAULT_POLICY_CONFIG };

let dynalite: RunningDynalite;
let tableCount = 0;

beforeAll(async () => {
  dynalite = await startDynalite();
});

afterAll(async () => {
  await dynalite.stop();
});

function storeOptions(config: PolicyConfig = CONFIG) {
  return {
    retryWindowSeconds: config.retryWindowSeconds,
    maxAgeSeconds: config.maxAgeDays * 86_400,
    delaySeconds: config.delaySeconds,
  };
}

/** A fresh table on the shared dynalite, and stores on it that each have their own client. */
async function newTable(prefix: string): Promise<{
  name: string;
  admin: DynamoDBClient;
  open: (more?: Pick<DynamoDbStoreOptions, 'clock'>) => DynamoDbStore;
  drop: () => Promise<void>;
}> {
  tableCount += 1;
  const name = `${prefix}-${tableCount}`;
  const admin = dynalite.client();
  await createTable(admin, name);
  return {
    name,
    admin,
    open: (more) =>
      createDynamoDbStore({ client: dynalite.client(), closeClient: true, tableName: name, region: TEST_REGION, ...storeOptions(), ...more }),
    drop: async () => {
      await admin.send(new DeleteTableCommand({ TableName: name }));
    },
  };
}

describeStoreContract('dynamodb', async () => {
  const table = await newTable('contract');
  return { open: async () => table.open(), cleanup: table.drop };
});

/** One decision through the real core, as the decision service makes it. */
function check(store: DynamoDbStore, request: PolicyRequest, now: number, config: PolicyConfig = CONFIG): Promise<Decision> {
  return store.runDecision(decisionKeys(request, config), now, (state) => decide(request, state, { config, now, realNow: now }));
}

/** What one call cost, from the store's counters. */
async function measured<T>(store: DynamoDbStore, act: () => Promise<T>): Promise<{ result: T; cost: DynamoDbStoreStats }> {
  const before = store.stats();
  const result = await act();
  const after = store.stats();
  return {
    result,
    cost: { writes: after.writes - before.writes, reads: after.reads - before.reads, roundTrips: after.roundTrips - before.roundTrips },
  };
}

describe('dynamodb store with the greylisting core', () => {
  let table: Awaited<ReturnType<typeof newTable>>;

  beforeEach(async () => {
    table = await newTable('core');
  });

  afterEach(async () => {
    await table.drop();
  });

  it('greylists 50 MX hosts sending the same new triplet at once, and keeps one record first seen at the earliest time', async () => {
    // Prepare
    const hosts = Array.from({ length: 50 }, () => table.open());
    const request = postfixRequest();
    // The hosts whose clock is a second behind start last, so the earliest sighting is not the first write.
    const clockOf = (i: number) => (i < 45 ? NOW + 1 : NOW);

    // Act
    const decisions = await Promise.all(hosts.map((host, i) => check(host, request, clockOf(i))));

    // Assess
    expect(decisions.map((d) => d.verdict)).toEqual(Array(50).fill('greylist'));
    expect(await hosts[0]!.countRecords(NOW)).toEqual({ triplets: 1, clients: 0 });
    const stored = await hosts[0]!.peek(decisionKeys(request, CONFIG), NOW + 1);
    expect(stored.triplet?.firstSeen).toBe(NOW);
  });

  it('counts concurrent first passes of many triplets from one client once per hour, no more, no less', async () => {
    // Prepare
    const hosts = Array.from({ length: 10 }, () => table.open());
    const batch = (name: string) =>
      Array.from({ length: 20 }, (_, i) => postfixRequest({ sender: `${name}@example.net`, recipient: `rcpt${i}@example.org` }));
    const first = batch('first');
    const second = batch('second');
    const clientKeys = decisionKeys(first[0]!, CONFIG);
    const passAll = (requests: PolicyRequest[], now: number) =>
      Promise.all(requests.map((request, i) => check(hosts[i % hosts.length]!, request, now)));
    await passAll(first, NOW);
    await passAll(second, NOW + HOUR);

    // Act
    const firstPasses = await passAll(first, NOW + 400);
    const countAfterFirst = (await hosts[0]!.peek(clientKeys, NOW + 400)).client?.count;
    const secondPasses = await passAll(second, NOW + HOUR + 400);
    const countAfterSecond = (await hosts[0]!.peek(clientKeys, NOW + HOUR + 400)).client?.count;

    // Assess
    for (const decision of [...firstPasses, ...secondPasses]) {
      expect(decision).toMatchObject({ verdict: 'pass', reason: 'triplet-found' });
      expect(decision.header).toMatch(/^X-Greylist: delayed 400 seconds/);
    }
    expect(countAfterFirst).toBe(1);
    expect(countAfterSecond).toBe(2);
  });

  it('lets one of many MX hosts passing the same triplet at once add the header and count the client, exactly once', async () => {
    // Prepare
    const hosts = Array.from({ length: 10 }, () => table.open());
    const request = postfixRequest();
    await check(hosts[0]!, request, NOW);

    // Act
    const decisions = await Promise.all(hosts.map((host) => check(host, request, NOW + 400)));

    // Assess
    expect(decisions.map((d) => d.verdict)).toEqual(Array(10).fill('pass'));
    expect(decisions.filter((d) => d.header !== undefined)).toHaveLength(1);
    expect((await hosts[0]!.peek(decisionKeys(request, CONFIG), NOW + 400)).client?.count).toBe(1);
  });

  it('needs one round trip and one write for a new triplet, an early retry and a triplet that has passed', async () => {
    // Prepare
    const store = table.open();
    const request = postfixRequest();

    // Act
    const fresh = await measured(store, () => check(store, request, NOW));
    const early = await measured(store, () => check(store, request, NOW + 60));
    const firstPass = await measured(store, () => check(store, request, NOW + 400));
    const passed = await store.peek(decisionKeys(request, CONFIG), NOW + 500);
    const known = await measured(store, () => check(store, request, NOW + 500));

    // Assess
    expect(fresh.result.reason).toBe('new');
    expect(fresh.cost).toMatchObject({ roundTrips: 1, writes: 1 });
    expect(early.result.reason).toBe('early-retry');
    expect(early.cost).toMatchObject({ roundTrips: 1, writes: 1 });
    expect(firstPass.result.header).toBeDefined();
    expect(known.result).toMatchObject({ reason: 'triplet-found', action: 'DUNNO' });
    expect(known.cost).toMatchObject({ roundTrips: 1, writes: 1 });
    // The touch that answered the known triplet stored exactly what decide asked for.
    const asked = decide(request, passed, { config: CONFIG, now: NOW + 500, realNow: NOW + 500 }).writes.triplet;
    expect((await store.peek(decisionKeys(request, CONFIG), NOW + 500)).triplet).toEqual(asked);
  });

  it('lets a first pass cost two round trips where DynamoDB returns the item of a failed condition', async () => {
    // Prepare
    const withItems = await startDynalite({ itemOnConditionFailure: true });
    try {
      const client = withItems.client();
      await createTable(client, 'greygate-items');
      const store = createDynamoDbStore({ client, tableName: 'greygate-items', ...storeOptions() });
      const request = postfixRequest();
      await check(store, request, NOW);

      // Act
      const firstPass = await measured(store, () => check(store, request, NOW + 400));

      // Assess
      expect(firstPass.result.header).toMatch(/^X-Greylist: delayed 400 seconds/);
      expect(firstPass.cost).toMatchObject({ roundTrips: 2, reads: 1 });
      expect((await store.peek(decisionKeys(request, CONFIG), NOW + 400)).client?.count).toBe(1);
    } finally {
      await withItems.stop();
    }
  });

  it('needs one round trip and no write for an auto-whitelisted client, and stores no triplet for it', async () => {
    // Prepare
    const otherHost = table.open();
    const store = table.open();
    const fromClient = (recipient: string) => postfixRequest({ client_address: '198.51.100.7', recipient });
    const clientKeys = decisionKeys(fromClient('seed@example.org'), CONFIG);
    const whitelisted = { count: CONFIG.autoWhitelistClients, lastSeen: NOW, expiresAt: NOW + 86_400 };
    await otherHost.runDecision(clientKeys, NOW, () => ({ writes: { client: whitelisted } }));

    // Act
    const firstDecision = await measured(store, () => check(store, fromClient('a@example.org'), NOW + 10));
    const next = await measured(store, () => check(store, fromClient('b@example.org'), NOW + 20));
    const hourLater = await measured(store, () => check(store, fromClient('c@example.org'), NOW + HOUR));

    // Assess
    expect(firstDecision.result.reason).toBe('client-awl');
    expect(next.result.reason).toBe('client-awl');
    expect(next.cost).toMatchObject({ roundTrips: 1, writes: 0 });
    // The hourly statistics refresh of postgrey.md §2 step 6 is the one write.
    expect(hourLater.result.reason).toBe('client-awl');
    expect(hourLater.cost.writes).toBe(1);
    expect(await store.countRecords(NOW + HOUR)).toEqual({ triplets: 0, clients: 1 });
    expect((await store.peek(clientKeys, NOW + HOUR)).client?.count).toBe(CONFIG.autoWhitelistClients + 1);
  });

  it('remembers an auto-whitelisted client for an hour of its own clock, then sights its triplets again', async () => {
    // Prepare
    let clockMs = NOW * 1000;
    const store = table.open({ clock: () => clockMs });
    const fromClient = (recipient: string) => postfixRequest({ client_address: '198.51.100.7', recipient });
    const clientKeys = decisionKeys(fromClient('seed@example.org'), CONFIG);
    const whitelisted = { count: CONFIG.autoWhitelistClients, lastSeen: NOW, expiresAt: NOW + 86_400 };
    await store.runDecision(clientKeys, NOW, () => ({ writes: { client: whitelisted } }));
    await check(store, fromClient('a@example.org'), NOW + 10);

    // Act: the decisions' own time stays within the hour; only the store's clock moves past it,
    // counted from the client's last decision
    clockMs += HOUR * 1000 - 1;
    const withinHour = await measured(store, () => check(store, fromClient('b@example.org'), NOW + 20));
    clockMs += HOUR * 1000;
    const afterHour = await measured(store, () => check(store, fromClient('c@example.org'), NOW + 30));

    // Assess
    expect([withinHour.result.reason, afterHour.result.reason]).toEqual(['client-awl', 'client-awl']);
    expect(withinHour.cost).toMatchObject({ roundTrips: 1, writes: 0 });
    // The touch creates the triplet and the decision deletes it again.
    expect(afterHour.cost).toMatchObject({ roundTrips: 2, writes: 2 });
    expect(await store.countRecords(NOW + 30)).toEqual({ triplets: 0, clients: 1 });
  });

  it('treats a record past expires_at as absent although DynamoDB still holds it', async () => {
    // Prepare
    const store = table.open();
    const request = postfixRequest();
    const keys = decisionKeys(request, CONFIG);
    await check(store, request, NOW);
    const expiresAt = (await store.peek(keys, NOW)).triplet?.expiresAt ?? NaN;

    // Act
    const raw = await table.admin.send(
      new GetItemCommand({ TableName: table.name, Key: { pk: { S: `t#${keys.triplet}` } }, ConsistentRead: true }),
    );
    const before = await store.peek(keys, expiresAt - 1);
    const peeked = await store.peek(keys, expiresAt);
    const decision = await check(store, request, expiresAt);

    // Assess
    expect(raw.Item?.[TABLE_TTL_ATTRIBUTE]?.N).toBe(String(expiresAt));
    expect(before.triplet?.firstSeen).toBe(NOW);
    expect(peeked.triplet).toBeNull();
    expect(decision.reason).toBe('new');
    expect((await store.peek(keys, expiresAt)).triplet?.firstSeen).toBe(expiresAt);
  });

  it('keeps keys longer than DynamoDB allows apart, by storing them under their hash', async () => {
    // Prepare
    const store = table.open();
    const long = '𝔤'.repeat(600); // 2400 bytes of UTF-8, past DynamoDB's 2048-byte key limit
    const a = { triplet: `${long}/a`, client: null };
    const b = { triplet: `${long}/b`, client: null };
    const record = (firstSeen: number) => ({ triplet: { firstSeen, lastSeen: firstSeen, expiresAt: NOW + 600 } });

    // Act
    await store.runDecision(a, NOW, () => ({ writes: record(NOW - 1) }));
    await store.runDecision(b, NOW, () => ({ writes: record(NOW - 2) }));

    // Assess
    expect((await store.peek(a, NOW)).triplet?.firstSeen).toBe(NOW - 1);
    expect((await store.peek(b, NOW)).triplet?.firstSeen).toBe(NOW - 2);
    expect(await store.countRecords(NOW)).toEqual({ triplets: 2, clients: 0 });
  });
});

describe('dynamodb store errors', () => {
  const keys = { triplet: 't/error', client: 'c/error' };
  const writeNothing = () => ({ writes: {} });

  it('names the table and the region and says how to create the table when it is missing', async () => {
    // Prepare
    const store = createDynamoDbStore({ client: dynalite.client(), tableName: 'greygate-missing', region: 'eu-west-3', ...storeOptions() });

    // Act
    const error = await store.runDecision(keys, NOW, writeNothing).catch((e: unknown) => e);
    const ping = await store.ping().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(StoreMisconfiguredError);
    expect((error as Error).message).toContain('"greygate-missing" in eu-west-3');
    expect((error as Error).message).toContain('greygate create-table --table greygate-missing');
    expect((error as Error).cause).toBeDefined();
    expect(ping).toBeInstanceOf(StoreMisconfiguredError);
  });

  it('fails with StoreUnavailableError, within the client timeouts, when DynamoDB is unreachable', async () => {
    // Prepare
    const closed = createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const client = createDynamoDbClient({ region: TEST_REGION, endpoint: `http://127.0.0.1:${port}`, credentials: TEST_CREDENTIALS });
    const store = createDynamoDbStore({ client, tableName: 'greygate', ...storeOptions() });

    // Act
    const error = await store.runDecision(keys, NOW, writeNothing).catch((e: unknown) => e);
    const ping = await store.ping().catch((e: unknown) => e);
    client.destroy();

    // Assess
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect((error as Error).message).toContain('ECONNREFUSED');
    expect(ping).toBeInstanceOf(StoreUnavailableError);
  }, 8_000);

  it('tells throttling apart from a missing permission, and names the permission', () => {
    // Prepare
    const ctx = { tableName: 'greygate', region: 'eu-west-3', action: 'dynamodb:UpdateItem' };
    const denied = Object.assign(new Error('User: arn:aws:sts::123:assumed-role/greygate/fn is not authorized to perform: dynamodb:GetItem on resource: arn:aws:dynamodb:eu-west-3:123:table/greygate'), {
      name: 'AccessDeniedException',
    });
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), { name: 'ThrottlingException' });
    const timedOut = Object.assign(new Error('socket hang up'), { name: 'TimeoutError', code: 'ETIMEDOUT' });

    // Act
    const errors = [denied, throttled, timedOut].map((error) => translateDynamoDbError(error, ctx));

    // Assess
    expect(errors[0]).toBeInstanceOf(StoreMisconfiguredError);
    expect(errors[0]?.message).toMatch(/grant dynamodb:GetItem on the table/);
    expect(errors[1]).toBeInstanceOf(StoreUnavailableError);
    expect(errors[2]).toBeInstanceOf(StoreUnavailableError);
    expect(errors.map((e) => e.cause)).toEqual([denied, throttled, timedOut]);
  });
});

describe('createTable', () => {
  it('creates an on-demand table keyed by pk with TTL on expires_at, and accepts it when run again', async () => {
    // Prepare
    const withTtl = await startDynalite({ ttlApi: true });
    const client = withTtl.client();

    try {
      // Act
      const first = await createTable(client, 'greygate-ttl');
      const again = await createTable(client, 'greygate-ttl');
      const table = (await client.send(new DescribeTableCommand({ TableName: 'greygate-ttl' }))).Table;
      const ttl = (await client.send(new DescribeTimeToLiveCommand({ TableName: 'greygate-ttl' }))).TimeToLiveDescription;

      // Assess
      expect([first, again]).toEqual(['created', 'exists']);
      expect(table?.TableStatus).toBe('ACTIVE');
      expect(table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table?.KeySchema).toEqual([{ AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' }]);
      expect(table?.AttributeDefinitions).toEqual([{ AttributeName: TABLE_PARTITION_KEY, AttributeType: 'S' }]);
      expect(ttl).toEqual({ TimeToLiveStatus: 'ENABLED', AttributeName: TABLE_TTL_ATTRIBUTE });
    } finally {
      await withTtl.stop();
    }
  });

  it('warns, and still creates a usable table, on an endpoint without the TTL API', async () => {
    // Prepare
    const warnings: string[] = [];
    const client = dynalite.client();

    // Act
    const outcome = await createTable(client, 'greygate-no-ttl', { onWarning: (message) => warnings.push(message) });
    const store = createDynamoDbStore({ client, tableName: 'greygate-no-ttl', ...storeOptions() });
    const pinged = store.ping();

    // Assess
    expect(outcome).toBe('created');
    expect(warnings).toEqual([expect.stringContaining('does not implement TTL')]);
    await expect(pinged).resolves.toBeUndefined();
  });

  it('refuses a table of that name with another key schema, and a name DynamoDB would refuse', async () => {
    // Prepare
    const client = dynalite.client();
    await client.send(
      new CreateTableCommand({
        TableName: 'someone-elses',
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      }),
    );

    // Act
    const otherSchema = await createTable(client, 'someone-elses').catch((e: unknown) => e);
    const badName = await createTable(client, 'a b').catch((e: unknown) => e);

    // Assess
    expect(otherSchema).toBeInstanceOf(StoreMisconfiguredError);
    expect((otherSchema as Error).message).toContain('choose another --table');
    expect(badName).toBeInstanceOf(StoreError);
    expect((badName as Error).message).toContain('3 to 255 characters');
  });
});
