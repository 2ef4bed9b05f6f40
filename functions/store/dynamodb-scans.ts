// purgeExpired and countRecords scan the whole table: diagnostics for `greygate serve --store
// dynamodb`, never called by the Lambda, where TTL deletes expired records for free.

import type { DynamoDbRequests } from './dynamodb-requests.ts';
import type { DynamoDbSender } from './dynamodb-sender.ts';
import { recordKindOf, type Item } from './dynamodb-table.ts';

export class DynamoDbScans {
  readonly #sender: DynamoDbSender;
  readonly #requests: DynamoDbRequests;
  #purgeCursor: Item | undefined;

  constructor(sender: DynamoDbSender, requests: DynamoDbRequests) {
    this.#sender = sender;
    this.#requests = requests;
  }

  /** GreylistStore.purgeExpired, once the store has checked its arguments. */
  async purgeExpired(now: number, limit: number, signal?: AbortSignal): Promise<number> {
    // Each call resumes where the previous one stopped and wraps around once, so a sweep in small
    // batches scans the table about once.
    let deleted = 0;
    let start = this.#purgeCursor;
    let wrapped = start === undefined;
    while (deleted < limit) {
      if (signal?.aborted) return deleted;
      const page = await this.#scan('expired', now, start);
      for (const pk of page.keys) {
        if (deleted >= limit || signal?.aborted) break;
        // The condition checks again: a record renewed since the scan stays.
        const [gone] = await this.#sender.round([this.#sender.delete(this.#requests.deleteExpired(pk, now))]);
        if (gone === true) deleted += 1;
      }
      if (deleted >= limit || signal?.aborted) {
        // Scan this page again next time: what is left of it is found again, what went is not.
        this.#purgeCursor = start;
        return deleted;
      }
      start = page.next;
      if (start === undefined) {
        if (wrapped) break;
        wrapped = true;
      }
    }
    this.#purgeCursor = undefined;
    return deleted;
  }

  /** GreylistStore.countRecords, once the store has checked its arguments. */
  async countRecords(now: number, signal?: AbortSignal): Promise<{ triplets: number; clients: number }> {
    const counts = { triplets: 0, clients: 0 };
    let start: Item | undefined;
    do {
      signal?.throwIfAborted();
      const page = await this.#scan('live', now, start);
      for (const pk of page.keys) {
        const kind = recordKindOf(pk);
        if (kind === 'triplet') counts.triplets += 1;
        else if (kind === 'client') counts.clients += 1;
      }
      start = page.next;
    } while (start !== undefined);
    return counts;
  }

  async #scan(which: 'expired' | 'live', now: number, start: Item | undefined): Promise<{ keys: string[]; next: Item | undefined }> {
    const [out] = await this.#sender.round([this.#sender.scan(this.#requests.scan(which, now, start))]);
    const keys = (out?.Items ?? []).map((item) => item.pk).filter((pk): pk is string => typeof pk === 'string');
    return { keys, next: out?.LastEvaluatedKey };
  }
}
