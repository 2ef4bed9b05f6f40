// Sends the store's requests to its table. It counts them, as DynamoDB bills and waits on them
// (the cost the tests and the bench hold the store to), and turns every SDK error except a failed
// condition, which the decision loop reads as "someone else got there first", into the port's.
//
// A request that fails (throttled, unreachable) ends the decision with StoreUnavailableError; a
// write sent in the same round trip may have landed, as with any remote store, and the MTA's retry
// then finds it.

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  type DeleteCommand,
  type GetCommand,
  type ScanCommand,
  type ScanCommandOutput,
  type UpdateCommand,
  type UpdateCommandOutput,
} from '@aws-sdk/lib-dynamodb';
import { isConditionalCheckFailed, translateDynamoDbError } from './dynamodb-errors.ts';
import { resolveRegion, type Item } from './dynamodb-table.ts';

export interface DynamoDbStoreStats {
  /** UpdateItem and DeleteItem requests sent (a failed condition is billed as a write too). */
  writes: number;
  /** GetItem and Scan requests sent. */
  reads: number;
  /** Sequential waits on DynamoDB: requests sent together count once. */
  roundTrips: number;
}

export class DynamoDbSender {
  readonly table: string;
  readonly #doc: DynamoDBDocumentClient;
  readonly #stats: DynamoDbStoreStats = { writes: 0, reads: 0, roundTrips: 0 };
  #region: string;

  constructor(client: DynamoDBClient, table: string, region: string | undefined) {
    this.#doc = DynamoDBDocumentClient.from(client);
    this.table = table;
    this.#region = region ?? 'the configured region';
    if (region === undefined) {
      void resolveRegion(client).then((resolved) => {
        this.#region = resolved;
      });
    }
  }

  /** For messages; the client's region once resolved. */
  get region(): string {
    return this.#region;
  }

  stats(): DynamoDbStoreStats {
    return { ...this.#stats };
  }

  /** Sends requests together and counts one round trip; rejects with the first error. */
  async round<R>(requests: ReadonlyArray<Promise<R> | null | undefined>): Promise<R[]> {
    const pending = requests.filter((r): r is Promise<R> => r !== null && r !== undefined);
    if (pending.length === 0) return [];
    this.#stats.roundTrips += 1;
    const settled = await Promise.allSettled(pending);
    const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
  }

  async get(command: GetCommand): Promise<Item | undefined> {
    const out = await this.#send('read', 'GetItem', () => this.#doc.send(command));
    return out.Item;
  }

  /** Rejects with the SDK's error, untranslated, when the condition failed. */
  update(command: UpdateCommand): Promise<UpdateCommandOutput> {
    return this.#send('write', 'UpdateItem', () => this.#doc.send(command));
  }

  /** Resolves false when the condition failed. */
  async delete(command: DeleteCommand): Promise<boolean> {
    try {
      await this.#send('write', 'DeleteItem', () => this.#doc.send(command));
      return true;
    } catch (error) {
      if (isConditionalCheckFailed(error)) return false;
      throw error;
    }
  }

  scan(command: ScanCommand): Promise<ScanCommandOutput> {
    return this.#send('read', 'Scan', () => this.#doc.send(command));
  }

  async #send<R>(kind: 'read' | 'write', action: string, send: () => Promise<R>): Promise<R> {
    if (kind === 'read') this.#stats.reads += 1;
    else this.#stats.writes += 1;
    try {
      return await send();
    } catch (error) {
      if (isConditionalCheckFailed(error)) throw error;
      throw translateDynamoDbError(error, { tableName: this.table, region: this.#region, action: `dynamodb:${action}` });
    }
  }
}
