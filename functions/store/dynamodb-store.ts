// The fleet's store: one DynamoDB table shared by every MX host (items: dynamodb-table.ts), behind
// the storage port. This module checks what the port's callers pass and hands each job to its own
// module: the optimistic decision loop (dynamodb-decision.ts), the requests it sends and when a
// speculative touch is harmless (dynamodb-requests.ts), sending and counting them
// (dynamodb-sender.ts), the auto-whitelisted clients it remembers (dynamodb-awl-hints.ts), and the
// diagnostics' table scans (dynamodb-scans.ts).

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { PolicyConfig } from '../core/policy-config.ts';
import { lifetimeFor, maxAgeSeconds } from '../core/record-lifetime.ts';
import { AwlHints } from './dynamodb-awl-hints.ts';
import { DynamoDbDecisions } from './dynamodb-decision.ts';
import { DynamoDbRequests } from './dynamodb-requests.ts';
import { DynamoDbScans } from './dynamodb-scans.ts';
import { dynamoDbAdmin } from './dynamodb-admin.ts';
import type { StoreAdmin } from './store-admin.ts';
import { DynamoDbSender, type DynamoDbStoreStats } from './dynamodb-sender.ts';
import { checkTableName } from './dynamodb-table.ts';
import { StoreError } from './store-port.ts';
import { DynamoDbStatistics } from '../stats/dynamodb-stats.ts';
import type { HasStatistics, StatisticsStore } from '../stats/stats-port.ts';
import { checkPurgeLimit, checkTime } from './write-checks.ts';
import type { ClientRecord, DecisionKeys, DecisionState, DecisionWrites, ImportingStore, TripletRecord } from './store-port.ts';

export type { DynamoDbStoreStats } from './dynamodb-sender.ts';

export interface DynamoDbStoreOptions {
  /** Created once per container by the composition root, which destroys it (see closeClient). */
  client: DynamoDBClient;
  /** close() also destroys `client`: for a root that created the client for this store alone. */
  closeClient?: boolean;
  tableName: string;
  /** For error messages; defaults to the client's region. */
  region?: string;
  /**
   * Hints from the policy config, so the common paths need one round trip: the store asks the
   * core (lifetimeFor) how long decide keeps a triplet for each window, to write that lifetime
   * ahead of decide and to tell a passed triplet by its lifetime when the delay is not given.
   */
  retryWindowSeconds: number;
  maxAgeSeconds: number;
  /**
   * The greylisting delay. Without it the store cannot tell an early retry from a first pass
   * before reading, so an early retry takes the read-then-write path (two round trips).
   */
  delaySeconds?: number;
  /** Milliseconds since the epoch, for the store's own caches; defaults to Date.now. */
  clock?: () => number;
}

/** DynamoDbStoreOptions' policy hints, from the policy config every runtime already has. */
export function dynamoDbPolicyHints(
  policy: Pick<PolicyConfig, 'retryWindowSeconds' | 'maxAgeDays' | 'delaySeconds'>,
): Pick<DynamoDbStoreOptions, 'retryWindowSeconds' | 'maxAgeSeconds' | 'delaySeconds'> {
  return {
    retryWindowSeconds: policy.retryWindowSeconds,
    maxAgeSeconds: maxAgeSeconds(policy),
    delaySeconds: policy.delaySeconds,
  };
}

export type DynamoDbStore = ImportingStore & HasStatistics & { stats(): DynamoDbStoreStats; admin(): StoreAdmin };

export function createDynamoDbStore(opts: DynamoDbStoreOptions): DynamoDbStore {
  checkTableName(opts.tableName);
  for (const name of ['retryWindowSeconds', 'maxAgeSeconds', 'delaySeconds'] as const) {
    const value = opts[name];
    if (value !== undefined && (!Number.isSafeInteger(value) || value < 0)) {
      throw new StoreError(`${name} must be a non-negative integer of seconds, got ${value}`);
    }
  }
  return new DynamoDbGreylistStore(opts);
}

class DynamoDbGreylistStore implements DynamoDbStore {
  readonly #client: DynamoDBClient;
  readonly #closeClient: boolean;
  readonly #sender: DynamoDbSender;
  readonly #requests: DynamoDbRequests;
  readonly #decisions: DynamoDbDecisions;
  readonly #scans: DynamoDbScans;
  readonly #tableName: string;
  readonly #region: string | undefined;
  #closed = false;

  constructor(opts: DynamoDbStoreOptions) {
    this.#client = opts.client;
    this.#closeClient = opts.closeClient ?? false;
    this.#sender = new DynamoDbSender(opts.client, opts.tableName, opts.region);
    this.#requests = new DynamoDbRequests(opts.tableName, {
      lifetimes: { waitingTriplet: lifetimeFor(opts.retryWindowSeconds), passedTriplet: lifetimeFor(opts.maxAgeSeconds) },
      delay: opts.delaySeconds,
    });
    this.#decisions = new DynamoDbDecisions(this.#sender, this.#requests, new AwlHints(opts.clock ?? Date.now));
    this.#scans = new DynamoDbScans(this.#sender, this.#requests);
    this.#tableName = opts.tableName;
    this.#region = opts.region;
  }

  /**
   * The statistics items of this table (functions/stats/dynamodb-stats.ts), on the same client but
   * not counted in stats(): those count what decisions cost, and a flush is no decision's.
   */
  statistics(): StatisticsStore {
    return new DynamoDbStatistics(this.#client, this.#tableName, this.#region);
  }

  stats(): DynamoDbStoreStats {
    return this.#sender.stats();
  }

  async runDecision<T extends { writes: DecisionWrites }>(
    keys: DecisionKeys,
    now: number,
    decide: (state: DecisionState) => T,
  ): Promise<T> {
    this.#checkOpen();
    checkTime(now);
    return this.#decisions.run(keys, now, decide);
  }

  async importTriplet(key: string, now: number, merge: (held: TripletRecord | null) => TripletRecord | undefined): Promise<boolean> {
    this.#checkOpen();
    checkTime(now);
    return this.#decisions.importTriplet(key, now, merge);
  }

  async importClient(key: string, now: number, merge: (held: ClientRecord | null) => ClientRecord | undefined): Promise<boolean> {
    this.#checkOpen();
    checkTime(now);
    return this.#decisions.importClient(key, now, merge);
  }

  async peek(keys: DecisionKeys, now: number): Promise<DecisionState> {
    this.#checkOpen();
    checkTime(now);
    return this.#decisions.peek(keys, now);
  }

  async purgeExpired(now: number, limit: number, signal?: AbortSignal): Promise<number> {
    this.#checkOpen();
    checkTime(now);
    checkPurgeLimit(limit);
    return this.#scans.purgeExpired(now, limit, signal);
  }

  async countRecords(now: number, signal?: AbortSignal): Promise<{ triplets: number; clients: number }> {
    this.#checkOpen();
    checkTime(now);
    return this.#scans.countRecords(now, signal);
  }

  /** Allow entries and the pending triplets (dynamodb-admin.ts). */
  admin(): StoreAdmin {
    this.#checkOpen();
    return dynamoDbAdmin(this.#sender, (key, now, change) => this.importTriplet(key, now, change));
  }

  async ping(): Promise<void> {
    this.#checkOpen();
    // A GetItem needs no permission beyond what decisions use, and fails on a missing table.
    await this.#sender.round([this.#sender.get(this.#requests.get('ping'))]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#closeClient) this.#client.destroy();
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreError(`the DynamoDB store for table "${this.#sender.table}" is closed`);
  }
}
