// The greylist table, its items and the client that talks to it. `greygate create-table` builds
// the table exactly as the CDK stack does (infra/lib/greygate-table.ts), so the whole DynamoDB path
// can be exercised against dynalite or a real table before deploying.
//
//   table   on demand; pk (String) is the partition key; TTL on expires_at (epoch seconds)
//   items   pk = t#<triplet key>   first_seen, last_seen, expires_at, ttl_window, pass_mark, ver
//           pk = c#<client key>    count, last_seen, expires_at, ver
//           A key longer than DynamoDB allows (2048 bytes) is stored as T#sha256:<hex> / C#sha256:<hex>.
//
// What ver, ttl_window and pass_mark are for is explained in dynamodb-requests.ts and
// dynamodb-decision.ts.

import { createHash } from 'node:crypto';
import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
  type TableDescription,
} from '@aws-sdk/client-dynamodb';
import { dynamoDbErrorName, translateDynamoDbError } from './dynamodb-errors.ts';
import { StoreError, StoreMisconfiguredError } from './store-port.ts';
import type { ClientRecord, TripletRecord } from './store-port.ts';

export const TABLE_PARTITION_KEY = 'pk';
export const TABLE_TTL_ATTRIBUTE = 'expires_at';

/**
 * A policy answer is worth little once Postfix or the bridge has given up on it, and the Lambda
 * has 5 s in all (infra/lib/greygate-function.ts). DynamoDB answers in single-digit milliseconds
 * in-region and a TLS connection takes tens, so these bounds are 20–100× the normal case, yet one
 * call gives up within about 3 s (2 attempts × (0.5 s connect + 1 s answer) + the SDK's backoff),
 * leaving the function time to answer 503 so the bridge fails open instead of timing out. One
 * retry absorbs a dropped connection or a single throttle; more would only spend the budget.
 */
export const DYNAMODB_CLIENT_LIMITS: Readonly<DynamoDbClientLimits> = Object.freeze({
  connectionTimeoutMs: 500,
  requestTimeoutMs: 1_000,
  maxAttempts: 2,
});

export interface DynamoDbClientLimits {
  connectionTimeoutMs: number;
  requestTimeoutMs: number;
  /** Attempts per request, the first included (the SDK's standard retry, with jittered backoff). */
  maxAttempts: number;
}

export interface DynamoDbClientOptions {
  /** Defaults to the SDK's resolution (AWS_REGION on Lambda). */
  region?: string;
  /** A local endpoint such as dynalite (`http://127.0.0.1:4567`); the SDK also reads AWS_ENDPOINT_URL_DYNAMODB. */
  endpoint?: string;
  /** Static credentials (tests, a local endpoint); defaults to the SDK's provider chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Overrides DYNAMODB_CLIENT_LIMITS (tests on a loaded machine, an emulator far away). */
  limits?: Partial<DynamoDbClientLimits>;
}

/** One client per process (per Lambda container): it keeps its connections alive between decisions. */
export function createDynamoDbClient(opts: DynamoDbClientOptions = {}): DynamoDBClient {
  const limits = { ...DYNAMODB_CLIENT_LIMITS, ...opts.limits };
  return new DynamoDBClient({
    ...(opts.region === undefined ? {} : { region: opts.region }),
    ...(opts.endpoint === undefined ? {} : { endpoint: opts.endpoint }),
    // A copy: the SDK writes bookkeeping into the object it is given, which may be frozen or shared.
    ...(opts.credentials === undefined ? {} : { credentials: { ...opts.credentials } }),
    maxAttempts: limits.maxAttempts,
    requestHandler: {
      connectionTimeout: limits.connectionTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      // Without this the SDK only logs a warning when requestTimeout passes and keeps waiting.
      throwOnRequestTimeout: true,
    },
  });
}

const TABLE_NAME = /^[A-Za-z0-9_.-]{3,255}$/;

/** DynamoDB's own rule, checked up front so a typo gets a message naming the flag's accepted form. */
export function checkTableName(tableName: string): void {
  if (!TABLE_NAME.test(tableName)) {
    throw new StoreMisconfiguredError(
      `"${tableName}" is not a DynamoDB table name: use 3 to 255 characters among letters, digits, "_", "-" and "."`,
    );
  }
}

export interface CreateTableOptions {
  /** How long to wait for the table to become ACTIVE (real DynamoDB: seconds). Default 120 s. */
  waitTimeoutMs?: number;
  /** Told when the endpoint cannot enable TTL (dynalite has no TTL API). */
  onWarning?: (message: string) => void;
}

/**
 * Creates the table (on demand, `pk` String partition key), waits until it is ACTIVE and turns on
 * TTL for `expires_at`. Idempotent: an existing table is checked and its TTL turned on if needed.
 * A table of that name with another key schema is refused, since greygate could not use it.
 */
export async function createTable(
  client: DynamoDBClient,
  tableName: string,
  opts: CreateTableOptions = {},
): Promise<'created' | 'exists'> {
  checkTableName(tableName);
  const region = await resolveRegion(client);
  const call = async <T>(action: string, send: () => Promise<T>): Promise<T> => {
    try {
      return await send();
    } catch (error) {
      throw translateDynamoDbError(error, { tableName, region, action: `dynamodb:${action}` });
    }
  };

  let outcome: 'created' | 'exists' = 'created';
  try {
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: [{ AttributeName: TABLE_PARTITION_KEY, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: TABLE_PARTITION_KEY, KeyType: 'HASH' }],
      }),
    );
  } catch (error) {
    if (dynamoDbErrorName(error) !== 'ResourceInUseException') {
      throw translateDynamoDbError(error, { tableName, region, action: 'dynamodb:CreateTable' });
    }
    outcome = 'exists';
  }

  const table = await waitUntilActive(opts.waitTimeoutMs ?? 120_000, () =>
    call('DescribeTable', () => client.send(new DescribeTableCommand({ TableName: tableName }))).then((out) => out.Table),
  );
  checkKeySchema(table, tableName, region);

  const ttl = await call('DescribeTimeToLive', () => client.send(new DescribeTimeToLiveCommand({ TableName: tableName })));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  const attribute = ttl.TimeToLiveDescription?.AttributeName;
  if ((status === 'ENABLED' || status === 'ENABLING') && attribute !== undefined && attribute !== TABLE_TTL_ATTRIBUTE) {
    throw new StoreMisconfiguredError(
      `the DynamoDB table "${tableName}" in ${region} has TTL on "${attribute}", not "${TABLE_TTL_ATTRIBUTE}": ` +
        'it was not created by greygate; choose another --table',
    );
  }
  if (status !== 'ENABLED' && status !== 'ENABLING') {
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: tableName,
          TimeToLiveSpecification: { Enabled: true, AttributeName: TABLE_TTL_ATTRIBUTE },
        }),
      );
    } catch (error) {
      if (dynamoDbErrorName(error) !== 'UnknownOperationException') {
        throw translateDynamoDbError(error, { tableName, region, action: 'dynamodb:UpdateTimeToLive' });
      }
      // dynalite: expired records stay stored, and greygate already treats them as absent.
      opts.onWarning?.(
        `this DynamoDB endpoint does not implement TTL: expired records of "${tableName}" stay stored (greygate ignores them)`,
      );
    }
  }
  return outcome;
}

async function waitUntilActive(
  timeoutMs: number,
  describe: () => Promise<TableDescription | undefined>,
): Promise<TableDescription | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const table = await describe();
    if (table?.TableStatus === 'ACTIVE') return table;
    if (Date.now() >= deadline) {
      throw new StoreMisconfiguredError(
        `the DynamoDB table "${table?.TableName ?? '?'}" is still ${table?.TableStatus ?? 'not described'} after ` +
          `${Math.round(timeoutMs / 1000)} s; run create-table again later`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

function checkKeySchema(table: TableDescription | undefined, tableName: string, region: string): void {
  const keys = table?.KeySchema ?? [];
  const type = table?.AttributeDefinitions?.find((a) => a.AttributeName === TABLE_PARTITION_KEY)?.AttributeType;
  const ok = keys.length === 1 && keys[0]?.AttributeName === TABLE_PARTITION_KEY && keys[0].KeyType === 'HASH' && type === 'S';
  if (!ok) {
    const found = keys.map((k) => `${k.AttributeName} ${k.KeyType}`).join(', ') || 'none';
    throw new StoreMisconfiguredError(
      `the DynamoDB table "${tableName}" in ${region} exists with key schema (${found}), but greygate needs a single ` +
        `String partition key "${TABLE_PARTITION_KEY}": it was not created by greygate; choose another --table`,
    );
  }
}

/** The client's region for messages; never throws (a missing region fails on the first call instead). */
export async function resolveRegion(client: DynamoDBClient): Promise<string> {
  try {
    const region = await client.config.region();
    return region || 'the configured region';
  } catch {
    return 'the configured region';
  }
}

// --- items ------------------------------------------------------------------------------------

const MAX_PK_BYTES = 2048;

export type RecordKind = 'triplet' | 'client';

/** The partition key of a record: `t#key` / `c#key`, or the key's hash when DynamoDB would refuse it. */
export function recordPk(kind: RecordKind, key: string): string {
  const prefix = kind === 'triplet' ? 't' : 'c';
  const pk = `${prefix}#${key}`;
  if (Buffer.byteLength(pk, 'utf8') <= MAX_PK_BYTES) return pk;
  return `${prefix.toUpperCase()}#sha256:${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

export function recordKindOf(pk: string): RecordKind | null {
  const prefix = pk.slice(0, 2).toLowerCase();
  return prefix === 't#' ? 'triplet' : prefix === 'c#' ? 'client' : null;
}

export type StoredTriplet = TripletRecord & { ver: string; ttlWindow: number | undefined };
export type StoredClient = ClientRecord & { ver: string };
export type Item = Record<string, unknown>;

/** Reads an item as the document client returns it, or as an SDK error carries it (wire format). */
export function parseTripletItem(item: Item, tableName: string): StoredTriplet {
  const read = itemReader(item, tableName);
  const ttlWindow = wireValue(item.ttl_window);
  return {
    firstSeen: read.number('first_seen'),
    lastSeen: read.number('last_seen'),
    expiresAt: read.number('expires_at'),
    ver: read.string('ver'),
    ttlWindow: typeof ttlWindow === 'number' && Number.isFinite(ttlWindow) ? ttlWindow : undefined,
  };
}

export function parseClientItem(item: Item, tableName: string): StoredClient {
  const read = itemReader(item, tableName);
  return { count: read.number('count'), lastSeen: read.number('last_seen'), expiresAt: read.number('expires_at'), ver: read.string('ver') };
}

function itemReader(item: Item, tableName: string): { number(name: string): number; string(name: string): string } {
  const corrupt = (name: string): StoreError =>
    new StoreError(
      `the item "${String(wireValue(item.pk)).slice(0, 200)}" of the DynamoDB table "${tableName}" has no valid ${name}: ` +
        'it was not written by greygate. Delete the item (greygate then treats its key as new), or check that the table is greygate\'s.',
      { code: 'store-corrupt' },
    );
  return {
    number(name) {
      const value = wireValue(item[name]);
      if (typeof value === 'number' && Number.isFinite(value)) return value;
      throw corrupt(name);
    },
    string(name) {
      const value = wireValue(item[name]);
      if (typeof value === 'string') return value;
      throw corrupt(name);
    },
  };
}

function wireValue(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const wire = value as { N?: unknown; S?: unknown };
  if (typeof wire.N === 'string') return Number(wire.N);
  if (typeof wire.S === 'string') return wire.S;
  return value;
}
