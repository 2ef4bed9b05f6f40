// The storage port: what the decision service needs from a backend, and the errors it may raise.
// Adapters (sqlite-store.ts, dynamodb-store.ts) implement it and translate their backend's errors
// into the classes below; nothing above the port sees a SQLite or AWS SDK error type.

import type {
  ClientRecord,
  DecisionKeys,
  DecisionState,
  DecisionWrites,
  TripletRecord,
} from '../core/types.ts';
import type { StoreAdmin } from './store-admin.ts';

export interface GreylistStore {
  /**
   * Runs one decision atomically. The store loads the state of `keys` (records whose `expiresAt`
   * is at or before `now` are passed as null), calls `decide` with it and persists the writes the
   * result carries. `decide` must be pure: an adapter using optimistic concurrency may call it
   * more than once and keeps only the last result. Concurrent decisions on the same keys never
   * lose an update.
   *
   * One latitude, for adapters that pay per round trip (DynamoDB): an adapter may record the
   * sighting of the triplet (lastSeen = now; firstSeen = now if the record was absent) in the same
   * request that reads it, even when the decision then writes no triplet (a whitelisted client).
   * It never changes the firstSeen of a live record unless the decision asks for it.
   */
  runDecision<T extends { writes: DecisionWrites }>(
    keys: DecisionKeys,
    now: number,
    decide: (state: DecisionState) => T,
  ): Promise<T>;

  /** Reads without writing (diagnostics and tests). Expired records are null, as in runDecision. */
  peek(keys: DecisionKeys, now: number): Promise<DecisionState>;

  /**
   * Deletes at most `limit` records whose `expiresAt` is at or before `now`; returns how many it
   * deleted. Fewer than `limit` means nothing more is left to purge at `now` (or `signal` fired); a
   * purge run calls again until then. Answers never wait behind a call: it deletes and reads in
   * small steps, and stops between two of them once `signal` fires.
   */
  purgeExpired(now: number, limit: number, signal?: AbortSignal): Promise<number>;

  /**
   * Counts live records (for logs and health output). Rejects with the signal's reason once
   * `signal` fires, between two steps of the count.
   */
  countRecords(now: number, signal?: AbortSignal): Promise<{ triplets: number; clients: number }>;

  /** Resolves when the backend answers; rejects with StoreUnavailableError otherwise. */
  ping(): Promise<void>;

  close(): Promise<void>;

  /** Allow entries and pending triplets (store-admin.ts); both adapters have it, test doubles may not. */
  admin?(): StoreAdmin;
}

/** Both adapters also import records from another greylister (greygate import-postgrey). */
export interface ImportingStore extends GreylistStore {
  /**
   * Imports one record from another greylister (greygate import-postgrey): calls `merge` with the
   * live record under `key` (expired ones are null) and stores what it returns, atomically against
   * concurrent decisions; undefined writes nothing. Resolves whether it wrote.
   */
  importTriplet(key: string, now: number, merge: (held: TripletRecord | null) => TripletRecord | undefined): Promise<boolean>;
  importClient(key: string, now: number, merge: (held: ClientRecord | null) => ClientRecord | undefined): Promise<boolean>;
}

export type StoreErrorCode = 'store-unavailable' | 'store-misconfigured' | 'store-corrupt' | 'store-error';

/** Base of every error a store raises. `code` is stable; `message` tells an admin what to do. */
export class StoreError extends Error {
  readonly code: StoreErrorCode;
  constructor(message: string, options?: { cause?: unknown; code?: StoreErrorCode }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StoreError';
    this.code = options?.code ?? 'store-error';
  }
}

/** The backend cannot answer right now (throttled, unreachable, locked); retrying later may work. */
export class StoreUnavailableError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'store-unavailable' });
    this.name = 'StoreUnavailableError';
  }
}

/** The backend is set up wrongly (missing table, unwritable directory, newer schema); an admin must act. */
export class StoreMisconfiguredError extends StoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, { ...options, code: 'store-misconfigured' });
    this.name = 'StoreMisconfiguredError';
  }
}

export type { ClientRecord, DecisionKeys, DecisionState, DecisionWrites, TripletRecord };
