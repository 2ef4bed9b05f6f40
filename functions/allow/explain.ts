// `greygate explain` and `POST /v1/explain`: the decision greygate would take now for a request,
// every rule and record that led there, and the keys — without writing anything. It walks the
// decision service's steps in the same order (decision-service.ts: whitelists, allow entries,
// selective greylisting, then the store) but reads the store with peek() and runs the pure core
// on what it read, where a decision would run it inside runDecision and store the writes.

import type { Signal } from '../core/signals.ts';
import { clientIdentity, type ClientIdentity } from '../core/client-identity.ts';
import { decide, decisionPlan, whitelistDecision } from '../core/index.ts';
import type { ClientRecord, Decision, DecisionWrites, PolicyRequest, TripletRecord } from '../core/types.ts';
import { allowEntryFor, reportOnly, type DecisionServiceDeps } from '../service/decision-service.ts';
import { decisionBody } from '../http/decision-body.ts';

export interface ExplainStep {
  /** `whitelist-client`, `whitelist-recipient`, `allow-entry`, `selective`, `auto-whitelist`, `triplet`. */
  rule: string;
  /** What this step concluded, in words an admin reads. */
  outcome: string;
  /** True when this step decided the answer. */
  decided: boolean;
}

export interface Explanation {
  decision: Decision;
  steps: ExplainStep[];
  /** The keys the store would be asked for: clear, and as stored (the HMAC under --privacy). */
  keys: { triplet: { clear: string; stored: string }; client: { clear: string; stored: string } | null } | null;
  /** What the store holds under them now (expired records are null). */
  records: { triplet: TripletRecord | null; client: ClientRecord | null } | null;
  /** The client's organisation identity, when the configuration computes one. */
  identity?: ClientIdentity;
  /** The writes a real decision would make; explain made none. */
  wouldWrite: DecisionWrites;
  now: number;
}

export type ExplainDeps = Omit<DecisionServiceDeps, 'storeHealth'>;

export async function explain(deps: ExplainDeps, request: PolicyRequest): Promise<Explanation> {
  const realNow = Math.floor(deps.clock() / 1000);
  const now = request.policyTestTime ?? realNow;
  const steps: ExplainStep[] = [];
  const finish = (decision: Decision, rest: Partial<Explanation> = {}): Explanation => ({
    decision: deps.reportOnly === true ? reportOnly(decision) : decision,
    steps,
    keys: null,
    records: null,
    wouldWrite: decision.writes,
    now,
    ...rest,
  });

  const whitelists = deps.whitelists();
  const clientListed = whitelists.matchClient(request.clientName, request.clientAddress);
  steps.push({
    rule: 'whitelist-client',
    outcome: clientListed ? `${request.clientName}[${request.clientAddress}] is in a client whitelist file` : 'no client whitelist entry matches',
    decided: clientListed,
  });
  if (!clientListed) {
    const recipientListed = whitelists.matchRecipient(request.recipient);
    steps.push({
      rule: 'whitelist-recipient',
      outcome: recipientListed ? `${request.recipient} is in a recipient whitelist file` : 'no recipient whitelist entry matches',
      decided: recipientListed,
    });
  }
  const listed = whitelistDecision(request, whitelists);
  if (listed) return finish(listed);

  const allowed = await allowEntryFor(deps, request);
  const entry = allowed?.signals?.find((s): s is Extract<Signal, { name: 'allow-entry' }> => s.name === 'allow-entry');
  steps.push({
    rule: 'allow-entry',
    outcome: entry ? `allow entry ${entry.entry} matches` : deps.allowEntries ? 'no allow entry matches' : 'no allow entries on this store',
    decided: allowed !== null,
  });
  if (allowed) return finish(allowed);

  let signals: Signal[] | undefined;
  if (deps.selective) {
    const pending = deps.selective(request);
    const outcome = pending instanceof Promise ? await pending : pending;
    const seen = outcome.signals.length === 0 ? 'no signals' : `signals ${JSON.stringify(outcome.signals)}`;
    if (outcome.verdict === 'skip') {
      steps.push({ rule: 'selective', outcome: `not greylisted (${outcome.reason}): ${seen}`, decided: true });
      return finish({ verdict: 'pass', reason: outcome.reason, action: 'DUNNO', writes: {}, events: [], signals: outcome.signals });
    }
    steps.push({ rule: 'selective', outcome: `suspicious, greylisting applies: ${seen}`, decided: false });
    signals = outcome.signals;
  }

  const clear = decisionPlan(request, deps.config, undefined, deps.parseDomain);
  const { keys, awl } = deps.hashKey ? decisionPlan(request, deps.config, deps.hashKey, deps.parseDomain) : clear;
  const state = await deps.store.peek(keys, now);
  const made = decide(request, state, { config: deps.config, now, realNow, awl });
  const decision = signals === undefined ? made : { ...made, signals };

  if (awl !== null) {
    const count = state.client?.count ?? 0;
    const who = awl.kind === 'org' ? `organisation ${awl.org}` : `client ${request.clientAddress}`;
    const decided = decision.reason === 'client-awl' || decision.reason === 'org-awl';
    steps.push({ rule: 'auto-whitelist', outcome: `${who}: ${count} counted pass(es), ${awl.threshold} needed`, decided });
  }
  if (decision.reason !== 'client-awl' && decision.reason !== 'org-awl') {
    const t = state.triplet;
    const held = t === null ? 'no live triplet record' : `triplet first seen ${t.firstSeen}, last seen ${t.lastSeen}, expires ${t.expiresAt}`;
    steps.push({ rule: 'triplet', outcome: `${held}: ${decision.reason}${decision.retryAfterSeconds === undefined ? '' : `, retry in ${decision.retryAfterSeconds} s`}`, decided: true });
  }
  const identity = deps.parseDomain ? clientIdentity(request.clientName, request.clientAddress, deps.parseDomain) : undefined;
  return finish(decision, {
    keys: {
      triplet: { clear: clear.keys.triplet, stored: keys.triplet },
      client: clear.keys.client === null || keys.client === null ? null : { clear: clear.keys.client, stored: keys.client },
    },
    records: { triplet: state.triplet, client: state.client },
    ...(identity ? { identity } : {}),
  });
}

/** The explanation as `greygate explain --json` and `POST /v1/explain` answer it (snake_case). */
export function explanationBody(e: Explanation): Record<string, unknown> {
  const record = (r: TripletRecord | ClientRecord | null | undefined): Record<string, number> | null =>
    r == null
      ? null
      : 'count' in r
        ? { count: r.count, last_seen: r.lastSeen, expires_at: r.expiresAt }
        : { first_seen: r.firstSeen, last_seen: r.lastSeen, expires_at: r.expiresAt };
  return {
    ...decisionBody(e.decision),
    steps: e.steps,
    keys: e.keys,
    records: e.records === null ? null : { triplet: record(e.records.triplet), client: record(e.records.client) },
    ...(e.identity ? { identity: e.identity } : {}),
    would_write: { triplet: record(e.wouldWrite.triplet), client: record(e.wouldWrite.client) },
    written: false,
    now: e.now,
  };
}
