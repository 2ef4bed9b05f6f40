// The greylisting decision (postgrey.md §2, steps 3–12), as data: the answer, the records to write
// and the events worth a log line. The caller supplies the stored state and the clocks.

import type { AwlTarget } from './keys.ts';
import type { PolicyConfig } from './policy-config.ts';
import { hasPassed, maxAgeSeconds, recordLifetimes } from './record-lifetime.ts';
import { greylistAction, passHeader } from './reply-text.ts';
import type {
  ClientRecord,
  Decision,
  DecisionEvent,
  DecisionState,
  DecisionWrites,
  PolicyRequest,
  TripletRecord,
} from './types.ts';
import type { Whitelists } from './whitelist.ts';

/** Postgrey counts a client towards the auto-whitelist, and refreshes its statistics, at most hourly. */
const AWL_INTERVAL_SECONDS = 3_600;

export interface DecideContext {
  config: PolicyConfig;
  /** The decision's clock in epoch seconds: policy_test_time when the request carried one. */
  now: number;
  /** The real clock in epoch seconds, for the header's `%d`. */
  realNow: number;
  /**
   * Whose auto-whitelist the store's client record is (keys.ts's decisionPlan). Absent: the
   * client's address under `--auto-whitelist-clients`, as Postgrey.
   */
  awl?: AwlTarget | null;
}

/** Steps 3–5: whitelisted clients and recipients pass untouched, and nothing is stored. */
export function whitelistDecision(request: PolicyRequest, whitelists: Whitelists): Decision | null {
  if (whitelists.matchClient(request.clientName, request.clientAddress)) {
    return { verdict: 'pass', reason: 'client-whitelist', action: 'DUNNO', writes: {}, events: [] };
  }
  if (whitelists.matchRecipient(request.recipient)) {
    return { verdict: 'pass', reason: 'recipient-whitelist', action: 'DUNNO', writes: {}, events: [] };
  }
  return null;
}

/**
 * Max-age at lookup. Postgrey left old records in place until its nightly purge; a store may do the
 * same (DynamoDB's TTL deletes late), so the core ignores them itself, on Postgrey's boundary
 * (`now - last > max-age`), which is the store port's `expiresAt <= now` for what decide() writes.
 * A triplet that never passed needs no check here: step 7's retry-window reset covers it.
 */
function liveTriplet(record: TripletRecord | null, now: number, config: PolicyConfig): TripletRecord | null {
  if (record === null) return null;
  if (hasPassed(record, config) && now - record.lastSeen > maxAgeSeconds(config)) return null;
  return record;
}

function liveClient(record: ClientRecord | null, now: number, threshold: number, config: PolicyConfig): ClientRecord | null {
  if (record === null || threshold <= 0) return null;
  if (now - record.lastSeen > maxAgeSeconds(config)) return null;
  return record;
}

function clientRecord(count: number, now: number, config: PolicyConfig): ClientRecord {
  return { count, lastSeen: now, expiresAt: now + recordLifetimes(config).client };
}

/**
 * Steps 6–12. Call it after whitelistDecision returned null.
 *
 * A triplet that has not passed yet, by the time of a retry:
 *
 *   first          first + delay                        first + retry-window
 *   |-- greylist --|-- pass: PREPEND header (1st pass) --|-- starts over as new -->
 *
 * Once passed (last - first >= delay) the retry window no longer applies: it answers DUNNO for as
 * long as it is seen again within max-age of its last request.
 */
export function decide(request: PolicyRequest, state: DecisionState, ctx: DecideContext): Decision {
  const { config, now } = ctx;
  const awl = ctx.awl === undefined ? ({ kind: 'client', threshold: config.autoWhitelistClients } as const) : ctx.awl;
  const threshold = awl?.threshold ?? 0;
  const events: DecisionEvent[] = [];
  const writes: DecisionWrites = {};

  // Step 6: an auto-whitelisted client (or organisation) passes before any triplet work, and
  // creates no triplet.
  const client = liveClient(state.client, now, threshold, config);
  if (client !== null && client.count >= threshold) {
    // A `last` in the future (clock skew, policy_test_time) is refreshed too, so it cannot stick.
    if (now >= client.lastSeen + AWL_INTERVAL_SECONDS || client.lastSeen > now) {
      writes.client = clientRecord(client.count + 1, now, config);
    }
    return { verdict: 'pass', reason: awl?.kind === 'org' ? 'org-awl' : 'client-awl', action: 'DUNNO', writes, events };
  }

  // Step 7.
  const stored = liveTriplet(state.triplet, now, config);
  let first = now;
  let lastWasSuccessful = false;
  if (stored !== null) {
    first = stored.firstSeen;
    if (hasPassed(stored, config)) lastWasSuccessful = true;
    else if (now - first > config.retryWindowSeconds) first = now;
    if (first > now) {
      events.push({ kind: 'corrected-future-first-seen' });
      first = now;
    }
  }

  // Step 8: last_seen moves on every request, greylisted ones included.
  const passedNow = now - first >= config.delaySeconds;
  const lifetimes = recordLifetimes(config);
  writes.triplet = {
    firstSeen: first,
    lastSeen: now,
    expiresAt: now + (passedNow ? lifetimes.passedTriplet : lifetimes.waitingTriplet),
  };

  // Step 9.
  const diff = config.delaySeconds - (now - first);

  // Step 10: only a triplet's first pass counts, and a client counts at most once an hour.
  if (threshold > 0 && diff <= 0 && !lastWasSuccessful) {
    if (client === null || now >= client.lastSeen + AWL_INTERVAL_SECONDS) {
      const count = (client?.count ?? 0) + 1;
      writes.client = clientRecord(count, now, config);
      if (count === threshold) events.push(awl?.kind === 'org' ? { kind: 'org-whitelisted', count, org: awl.org } : { kind: 'client-whitelisted', count });
    }
  }

  // Step 11. A retry within the first second still logs as `new`.
  if (diff > 0) {
    return {
      verdict: 'greylist',
      reason: now === first ? 'new' : 'early-retry',
      action: greylistAction(config, diff, request.recipient, request.etrnDomainPresent),
      retryAfterSeconds: diff,
      writes,
      events,
    };
  }

  // Step 12. Suppressing the header for a repeated `instance` is the listener's job.
  if (!lastWasSuccessful) {
    const delayedSeconds = now - first;
    const header = passHeader(config, delayedSeconds, ctx.realNow);
    return {
      verdict: 'pass',
      reason: 'triplet-found',
      action: `PREPEND ${header}`,
      header,
      delayedSeconds,
      writes,
      events,
    };
  }
  return { verdict: 'pass', reason: 'triplet-found', action: 'DUNNO', writes, events };
}
