// Statistics in the fleet's DynamoDB table: one item per hour bucket, `pk = s#<hour>`, one Number
// attribute per counter, and `expires_at` so that DynamoDB's TTL forgets the bucket after the
// retention. A flush sends one UpdateItem per hour bucket it touches, whose ADD sums with every
// other instance's flushes (atomic on DynamoDB's side, no read), never a request per decision.
//
// Triplets that expire without passing are not counted here: DynamoDB's TTL deletes them in the
// background, unobserved (only a DynamoDB Stream would see it, and greygate's table has none), so
// the report derives that figure from the counters instead (stats-report.ts: greylisted as `new`
// minus passed since, per hour of first sighting, once the retry window is over).

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { hasPassed } from '../core/record-lifetime.ts';
import { translateDynamoDbError } from '../store/dynamodb-errors.ts';
import { TABLE_PARTITION_KEY, TABLE_TTL_ATTRIBUTE } from '../store/dynamodb-table.ts';
import { HOUR_SECONDS, type HourStats } from './stats-model.ts';
import type { PendingTriplet, StatisticsStore } from './stats-port.ts';

const STATS_PREFIX = 's#';
/** BatchGetItem's limit of keys per request. */
const BATCH_KEYS = 100;
/** Attributes of a bucket item that are not counters. */
const NOT_COUNTERS = new Set([TABLE_PARTITION_KEY, TABLE_TTL_ATTRIBUTE]);

export function statsPk(hour: number): string {
  return `${STATS_PREFIX}${hour}`;
}

export class DynamoDbStatistics implements StatisticsStore {
  readonly countsNeverPassed = false;
  readonly #doc: DynamoDBDocumentClient;
  readonly #table: string;
  readonly #region: string;

  constructor(client: DynamoDBClient, table: string, region?: string) {
    this.#doc = DynamoDBDocumentClient.from(client);
    this.#table = table;
    this.#region = region ?? 'the configured region';
  }

  async addStatistics(hours: readonly HourStats[], { retentionSeconds }: { now: number; retentionSeconds: number }): Promise<void> {
    await Promise.all(hours.map((bucket) => this.#addBucket(bucket, retentionSeconds)));
  }

  async #addBucket({ hour, counters }: HourStats, retentionSeconds: number): Promise<void> {
    const entries = Object.entries(counters).filter(([, n]) => n !== 0);
    if (entries.length === 0) return;
    const names: Record<string, string> = { '#e': TABLE_TTL_ATTRIBUTE };
    const values: Record<string, number> = { ':e': hour + HOUR_SECONDS + retentionSeconds };
    const adds = entries.map(([name, n], i) => {
      names[`#c${i}`] = name;
      values[`:c${i}`] = n;
      return `#c${i} :c${i}`;
    });
    await this.#send('UpdateItem', () =>
      this.#doc.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { [TABLE_PARTITION_KEY]: statsPk(hour) },
          UpdateExpression: `ADD ${adds.join(', ')} SET #e = :e`,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      ),
    );
  }

  async readStatistics(fromHour: number, toHour: number): Promise<HourStats[]> {
    const hours: number[] = [];
    for (let h = fromHour - (((fromHour % HOUR_SECONDS) + HOUR_SECONDS) % HOUR_SECONDS); h <= toHour; h += HOUR_SECONDS) {
      if (h >= fromHour) hours.push(h);
    }
    const found: HourStats[] = [];
    for (let i = 0; i < hours.length; i += BATCH_KEYS) {
      let keys: Record<string, unknown>[] = hours.slice(i, i + BATCH_KEYS).map((h) => ({ [TABLE_PARTITION_KEY]: statsPk(h) }));
      // UnprocessedKeys come back under load; asked again until none are left.
      for (let attempt = 0; keys.length > 0; attempt += 1) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        const out = await this.#send('BatchGetItem', () =>
          this.#doc.send(new BatchGetCommand({ RequestItems: { [this.#table]: { Keys: keys, ConsistentRead: true } } })),
        );
        for (const item of out.Responses?.[this.#table] ?? []) {
          const bucket = parseBucket(item);
          if (bucket !== null) found.push(bucket);
        }
        keys = out.UnprocessedKeys?.[this.#table]?.Keys ?? [];
      }
    }
    return found.sort((a, b) => a.hour - b.hour);
  }

  async pendingTriplets(now: number, delaySeconds: number): Promise<PendingTriplet[]> {
    const pending: PendingTriplet[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.#send('Scan', () =>
        this.#doc.send(
          new ScanCommand({
            TableName: this.#table,
            // No arithmetic in a filter: "has not passed" is checked below.
            FilterExpression: '(begins_with(#pk, :t) OR begins_with(#pk, :T)) AND #e > :now',
            ExpressionAttributeNames: { '#pk': TABLE_PARTITION_KEY, '#e': TABLE_TTL_ATTRIBUTE },
            ExpressionAttributeValues: { ':t': 't#', ':T': 'T#', ':now': now },
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const { pk, first_seen: first, last_seen: last } = item as { pk?: unknown; first_seen?: unknown; last_seen?: unknown };
        if (typeof pk !== 'string' || typeof first !== 'number' || typeof last !== 'number') continue;
        if (!hasPassed({ firstSeen: first, lastSeen: last }, { delaySeconds })) pending.push({ key: pk.slice(2), firstSeen: first, lastSeen: last });
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return pending;
  }

  async #send<R>(action: string, send: () => Promise<R>): Promise<R> {
    try {
      return await send();
    } catch (error) {
      throw translateDynamoDbError(error, { tableName: this.#table, region: this.#region, action: `dynamodb:${action}` });
    }
  }
}

function parseBucket(item: Record<string, unknown>): HourStats | null {
  const pk = item[TABLE_PARTITION_KEY];
  if (typeof pk !== 'string' || !pk.startsWith(STATS_PREFIX)) return null;
  const hour = Number(pk.slice(STATS_PREFIX.length));
  if (!Number.isSafeInteger(hour)) return null;
  const counters: Record<string, number> = {};
  for (const [name, value] of Object.entries(item)) {
    if (!NOT_COUNTERS.has(name) && typeof value === 'number') counters[name] = value;
  }
  return { hour, counters };
}
