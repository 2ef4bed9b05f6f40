// The administration side of the DynamoDB store (store-admin.ts).
//
//   pk = a#allow-entries   allow_ver (Number), entries (Map: entry id → entry)
//
// All allow entries live in one item, so an instance refreshes its copy with one GetItem of the
// version (projected) and, when it changed, one GetItem of the item: no Scan, no query per entry,
// whatever the size of the table. DynamoDB caps an item at 400 KB; MAX_ALLOW_ENTRIES entries of
// bounded comment length stay well under it. The item has no `expires_at`, so TTL and the purge
// scan leave it alone, and recordKindOf() does not count it as a record.

import { GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { AllowEntry, AllowKind } from '../core/allow-entry.ts';
import type { TripletRecord } from '../core/types.ts';
import { isConditionalCheckFailed } from './dynamodb-errors.ts';
import type { DynamoDbSender } from './dynamodb-sender.ts';
import { parseTripletItem, type Item } from './dynamodb-table.ts';
import type { StoreAdmin } from './store-admin.ts';

export const ALLOW_ITEM_PK = 'a#allow-entries';

type Change = (held: TripletRecord | null) => TripletRecord | undefined;

function entryItem(entry: AllowEntry): Item {
  return {
    kind: entry.kind,
    value: entry.value,
    ...(entry.expiresAt === null ? {} : { expires_at: entry.expiresAt }),
    comment: entry.comment,
    added_by: entry.addedBy,
    added_at: entry.addedAt,
  };
}

function entryOf(id: string, item: Item): AllowEntry {
  return {
    id,
    kind: String(item.kind) as AllowKind,
    value: String(item.value),
    expiresAt: typeof item.expires_at === 'number' ? item.expires_at : null,
    comment: typeof item.comment === 'string' ? item.comment : '',
    addedBy: typeof item.added_by === 'string' ? item.added_by : 'unknown',
    addedAt: typeof item.added_at === 'number' ? item.added_at : 0,
  };
}

export function dynamoDbAdmin(sender: DynamoDbSender, updateTriplet: (key: string, now: number, change: Change) => Promise<boolean>): StoreAdmin {
  const table = sender.table;
  const key = { pk: ALLOW_ITEM_PK };
  const one = async <R>(request: Promise<R>): Promise<R> => {
    const [out] = await sender.round([request]);
    return out as R;
  };
  return {
    async allowVersion() {
      const item = await one(
        sender.get(new GetCommand({ TableName: table, Key: key, ProjectionExpression: 'allow_ver', ConsistentRead: true })),
      );
      return typeof item?.allow_ver === 'number' ? item.allow_ver : 0;
    },
    async allowEntries() {
      const item = await one(sender.get(new GetCommand({ TableName: table, Key: key, ConsistentRead: true })));
      const map = (item?.entries ?? {}) as Record<string, Item>;
      const entries = Object.keys(map)
        .sort()
        .map((id) => entryOf(id, map[id] as Item));
      return { version: typeof item?.allow_ver === 'number' ? item.allow_ver : 0, entries };
    },
    async putAllowEntry(entry) {
      // A nested path can only be set inside a map that exists: the first write makes it.
      await one(
        sender.update(
          new UpdateCommand({
            TableName: table,
            Key: key,
            UpdateExpression: 'SET entries = if_not_exists(entries, :empty)',
            ExpressionAttributeValues: { ':empty': {} },
          }),
        ),
      );
      const out = await one(
        sender.update(
          new UpdateCommand({
            TableName: table,
            Key: key,
            UpdateExpression: 'SET entries.#id = :entry ADD allow_ver :one',
            ExpressionAttributeNames: { '#id': entry.id },
            ExpressionAttributeValues: { ':entry': entryItem(entry), ':one': 1 },
            ReturnValues: 'UPDATED_NEW',
          }),
        ),
      );
      return Number(out.Attributes?.allow_ver ?? 0);
    },
    async removeAllowEntry(id) {
      try {
        await one(
          sender.update(
            new UpdateCommand({
              TableName: table,
              Key: key,
              UpdateExpression: 'REMOVE entries.#id ADD allow_ver :one',
              ConditionExpression: 'attribute_exists(entries.#id)',
              ExpressionAttributeNames: { '#id': id },
              ExpressionAttributeValues: { ':one': 1 },
            }),
          ),
        );
        return true;
      } catch (error) {
        if (isConditionalCheckFailed(error)) return false;
        throw error;
      }
    },
    async scanTriplets(now, visit) {
      let start: Item | undefined;
      do {
        const page = await one(
          sender.scan(
            new ScanCommand({
              TableName: table,
              // Keys too long for DynamoDB are stored hashed (`T#sha256:…`) and cannot be listed by content.
              FilterExpression: 'begins_with(pk, :t) AND expires_at > :now',
              ExpressionAttributeValues: { ':t': 't#', ':now': now },
              ...(start === undefined ? {} : { ExclusiveStartKey: start }),
            }),
          ),
        );
        for (const item of page.Items ?? []) {
          const { firstSeen, lastSeen, expiresAt } = parseTripletItem(item, table);
          if (!visit({ key: String(item.pk).slice(2), record: { firstSeen, lastSeen, expiresAt } })) return;
        }
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
    },
    updateTriplet,
  };
}
