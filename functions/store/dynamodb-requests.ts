// The requests the DynamoDB store sends, built whole here so that each condition reads as the
// named parts it is made of, next to the stretch of a triplet's life each part stands for.
//
// Cost. A decision starts by sending, in parallel, the speculative sighting ("touch") of the
// triplet, an UpdateItem returning the old item, and a consistent GetItem of the client record:
//
//   SET first_seen = if_not_exists(first_seen, now), last_seen = now,
//       expires_at = now + if_not_exists(ttl_window, <lifetime of a waiting triplet>), ver = <token>
//
// `ttl_window` is `expires_at - last_seen` of the last write decide asked for (a waiting or a
// passed triplet's lifetime, as functions/core/record-lifetime.ts counts them), so for a new
// triplet, an early retry and a triplet that has passed the touch *is* the write decide asks for:
// one round trip, one write. When decide wants something else, a corrective write follows,
// conditioned on the touch's token (dynamodb-decision.ts).
//
// The touch must never change what a later decision concludes: above all it must not make a
// waiting triplet look passed before the decision that lets it pass has counted the client and
// sent the header, or a lost race would lose both. `pass_mark` (first_seen + delay) lets the
// condition see where the triplet stands. When `now` falls outside a touch window, the decision
// reads, decides, then writes (one round trip more):
//
//   still waiting (last_seen < pass_mark)
//   first_seen          pass_mark                               last_seen + retry-window
//   |-- touch: stays waiting --|-- no touch: first pass, or reset --------|-- expired: absent
//
//   passed (last_seen >= pass_mark)
//   last_seen                                                     last_seen + max-age
//   |-- touch: stays passed -------------------------------------------------|-- expired: absent
//
// The parts below name those stretches; the touch's guard is composed of them.
//
// DynamoDB returns the item of a failed condition when asked (ReturnValuesOnConditionCheckFailure),
// which saves the read; dynalite ignores the request, and then a GetItem fetches it.

import { DeleteCommand, GetCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RecordLifetimes } from '../core/record-lifetime.ts';
import type { Item } from './dynamodb-table.ts';
import type { ClientRecord, TripletRecord } from './store-port.ts';

// --- condition parts ---------------------------------------------------------------------------

/**
 * No record yet: a touch creates one as a new triplet, which waits (first_seen = last_seen, so
 * not passed unless the delay is 0). A decided write builds on "absent" with the same part.
 */
const ABSENT = 'attribute_not_exists(pk)';

/**
 * Not past its lifetime (the "expired: absent" end of both timelines). decide sees an expired
 * record as absent and starts it over at `now`; the touch would keep its old first_seen.
 */
const LIVE = 'expires_at > :now';

/**
 * Never touched: a record whose last_seen is after now (clock skew, policy_test_time), as the
 * touch would move it back. A first_seen after now is touched, then corrected as decide asks.
 */
const NOT_IN_FUTURE = 'last_seen <= :now';

/** "touch: stays passed": passed before the touch and after it, as the touch only moves last_seen on. */
const PASSED = 'last_seen >= pass_mark';

/**
 * "touch: stays waiting": the pass mark is still ahead, so the triplet waits after the touch too.
 * From the pass mark on it is "no touch: first pass, or reset": decide must see it first.
 */
const STILL_WAITING = 'pass_mark > :now';

/**
 * Without the delay hint there is no pass_mark: only a passed triplet is known to stay passed,
 * and it alone has the other lifetime. `:mid` lies halfway between the two lifetimes, so the
 * comparison holds for a passed triplet whichever of retry-window and max-age is the longer.
 */
const PASSED_BY_LONGER_LIFETIME = 'ttl_window > :mid';
const PASSED_BY_SHORTER_LIFETIME = 'ttl_window < :mid';

/**
 * How far apart the two lifetimes must be for `ttl_window` to tell a passed triplet from a waiting
 * one with a margin to spare; a policy with closer ones gets no touch of an existing record.
 */
const LIFETIMES_APART_SECONDS = 60;

/** Unchanged since this decision read or wrote it: every write stores a fresh token in `ver`. */
const UNCHANGED_SINCE_READ = 'ver = :expect';
const STILL_MINE = 'ver = :ver';

/** Expired, checked again at the delete: a record renewed since the scan stays. */
const EXPIRED = 'expires_at <= :now';

/** What the store knows of the policy: how decide counts lifetimes, and the delay when given. */
export interface TripletHints {
  lifetimes: Pick<RecordLifetimes, 'waitingTriplet' | 'passedTriplet'>;
  delay: number | undefined;
}

/**
 * When a touch changes nothing decide cares about (see the timeline at the top); null when no
 * record can be touched, and the decision reads instead. A record without pass_mark (written
 * without the delay hint) fails PASSED and STILL_WAITING alike, and is read and rewritten once.
 */
function touchGuard(hints: TripletHints): string | null {
  const { waitingTriplet, passedTriplet } = hints.lifetimes;
  let staysPut: string | null = null;
  if (hints.delay !== undefined) {
    // These parentheses the meaning needs: AND binds tighter than OR in DynamoDB.
    staysPut = `(${PASSED} OR ${STILL_WAITING})`;
  } else if (Math.abs(passedTriplet - waitingTriplet) > LIFETIMES_APART_SECONDS) {
    staysPut = passedTriplet > waitingTriplet ? PASSED_BY_LONGER_LIFETIME : PASSED_BY_SHORTER_LIFETIME;
  }
  // With no delay a new triplet passes at once: creating it would make it look passed already.
  const create = hints.delay !== 0 ? ABSENT : null;
  // No parentheses beyond those the meaning needs: a PEG parser such as dynalite's re-parses a
  // parenthesised group for each way it could be read, and this expression goes with every decision.
  const existing = staysPut === null ? null : `${LIVE} AND ${NOT_IN_FUTURE} AND ${staysPut}`;
  if (create !== null && existing !== null) return `${create} OR ${existing}`;
  return create ?? existing;
}

/** Builds every request the store sends to one table. */
export class DynamoDbRequests {
  readonly #table: string;
  readonly #hints: TripletHints;
  readonly #guard: string | null;
  readonly #mid: number;

  constructor(table: string, hints: TripletHints) {
    this.#table = table;
    this.#hints = hints;
    this.#guard = touchGuard(hints);
    this.#mid = Math.round((hints.lifetimes.waitingTriplet + hints.lifetimes.passedTriplet) / 2);
  }

  /** The lifetime a touch gives a triplet it creates. */
  get newTripletLifetime(): number {
    return this.#hints.lifetimes.waitingTriplet;
  }

  /** False when no touch is harmless with these hints: decisions then read the triplet instead. */
  get touches(): boolean {
    return this.#guard !== null;
  }

  /** The touch of the triplet at `pk`, returning the old item either way. */
  touch(pk: string, now: number, ver: string): UpdateCommand {
    const guard = this.#guard;
    if (guard === null) throw new Error('no touch is harmless with these hints: read the triplet instead');
    const values: Item = { ':now': now, ':life': this.newTripletLifetime, ':ver': ver };
    let update =
      'SET first_seen = if_not_exists(first_seen, :now), last_seen = :now, ttl_window = if_not_exists(ttl_window, :life), ' +
      'expires_at = if_not_exists(ttl_window, :life) + :now, ver = :ver';
    if (this.#hints.delay !== undefined) {
      update += ', pass_mark = if_not_exists(pass_mark, :mark)';
      values[':mark'] = now + this.#hints.delay;
    }
    // DynamoDB refuses a value the expressions do not use.
    if (guard.includes(':mid')) values[':mid'] = this.#mid;
    return new UpdateCommand({
      TableName: this.#table,
      Key: { pk },
      UpdateExpression: update,
      ConditionExpression: guard,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_OLD',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  }

  /** A whole record, stored with the token `ver` if the record is still at `expect` (null: absent). */
  write(pk: string, record: TripletRecord | ClientRecord, ver: string, expect: string | null): UpdateCommand {
    const values: Item = { ':l': record.lastSeen, ':e': record.expiresAt, ':ver': ver };
    let update = 'SET last_seen = :l, expires_at = :e, ver = :ver';
    if ('count' in record) {
      update += ', #count = :n';
      values[':n'] = record.count;
    } else {
      update += ', first_seen = :f, ttl_window = :w';
      values[':f'] = record.firstSeen;
      values[':w'] = record.expiresAt - record.lastSeen;
      if (this.#hints.delay !== undefined) {
        update += ', pass_mark = :mark';
        values[':mark'] = record.firstSeen + this.#hints.delay;
      }
    }
    if (expect !== null) values[':expect'] = expect;
    return new UpdateCommand({
      TableName: this.#table,
      Key: { pk },
      UpdateExpression: update,
      ConditionExpression: expect === null ? ABSENT : UNCHANGED_SINCE_READ,
      // `count` is a reserved word in DynamoDB's expressions.
      ...('count' in record ? { ExpressionAttributeNames: { '#count': 'count' } } : {}),
      ExpressionAttributeValues: values,
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    });
  }

  get(pk: string): GetCommand {
    return new GetCommand({ TableName: this.#table, Key: { pk }, ConsistentRead: true });
  }

  /** Deletes the record if it still holds this decision's write `ver`. */
  deleteMine(pk: string, ver: string): DeleteCommand {
    return this.#delete(pk, STILL_MINE, { ':ver': ver });
  }

  deleteExpired(pk: string, now: number): DeleteCommand {
    return this.#delete(pk, EXPIRED, { ':now': now });
  }

  /** One page of the keys of the records expired at `now`, or of those live then. */
  scan(which: 'expired' | 'live', now: number, start: Item | undefined): ScanCommand {
    return new ScanCommand({
      TableName: this.#table,
      ConsistentRead: true,
      ProjectionExpression: '#pk',
      FilterExpression: which === 'expired' ? '#e <= :now' : '#e > :now',
      ExpressionAttributeNames: { '#pk': 'pk', '#e': 'expires_at' },
      ExpressionAttributeValues: { ':now': now },
      ...(start === undefined ? {} : { ExclusiveStartKey: start }),
    });
  }

  #delete(pk: string, condition: string, values: Item): DeleteCommand {
    return new DeleteCommand({ TableName: this.#table, Key: { pk }, ConditionExpression: condition, ExpressionAttributeValues: values });
  }
}
