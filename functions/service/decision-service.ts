// The decision path shared by every runtime: whitelists first (no store access), then selective
// greylisting when it is on (S25R, DNS lists: a client that is not suspicious passes here, still
// without store access), then one atomic store decision around the pure core. The HTTP app,
// `serve`'s policy listener and the Lambda all call `check`; none of them talks to the store for a
// decision directly.

import { decide, decisionPlan, whitelistDecision, type Whitelists } from '../core/index.ts';
import type { ParseDomain } from '../core/client-identity.ts';
import type { PolicyConfig } from '../core/policy-config.ts';
import type { Decision, PolicyRequest } from '../core/types.ts';
import type { SelectiveCheck } from '../selective/selective-check.ts';
import type { SelectiveSettings } from '../selective/selective.ts';
import type { GreylistStore } from '../store/store-port.ts';
import { allowEntryDecision, type AllowMatcher } from '../core/allow-entry.ts';
import type { StoreHealth } from './store-health.ts';

export interface DecisionServiceDeps {
  store: GreylistStore;
  config: PolicyConfig;
  /** A getter so a SIGHUP reload takes effect without rebuilding the service. */
  whitelists: () => Whitelists;
  /** Real time in milliseconds since the epoch. */
  clock: () => number;
  /** Privacy: maps a clear key to its keyed hash (HMAC-SHA-256). Absent = keys stored in clear. */
  hashKey?: (clear: string) => string;
  /** Selective greylisting (functions/selective/); absent or null = Postgrey's behaviour. */
  selective?: SelectiveCheck | null;
  /** Told whether each decision that needed the store could be stored (/healthz reads it). */
  storeHealth?: StoreHealth;
  /** The Public Suffix List lookup; required with `config.clientIdentity` `org` or `autoWhitelistOrgs` > 0. */
  parseDomain?: ParseDomain;
  /** `--report-only`: every decision is made and stored, and answered DUNNO (see reportOnly()). */
  reportOnly?: boolean;
  /** Run-time allow entries held in memory (functions/allow/allow-cache.ts); absent = none. */
  allowEntries?: { current(): AllowMatcher | Promise<AllowMatcher> };
}

export interface DecisionService {
  check(request: PolicyRequest): Promise<Decision>;
}

/**
 * The Public Suffix List lookup, when the configuration needs it: the organisation identity or
 * auto-whitelist, or a weight on score mode's `helo-other-org` signal. Loaded here, on demand, so
 * that other configurations never load the list (public-suffix-list.ts).
 */
export async function publicSuffixListFor(config: {
  policy: Pick<PolicyConfig, 'clientIdentity' | 'autoWhitelistOrgs'>;
  selective: Pick<SelectiveSettings, 'mode' | 'signalWeights'>;
}): Promise<{ parseDomain?: ParseDomain }> {
  const forHelo = config.selective.mode === 'score' && config.selective.signalWeights['helo-other-org'] > 0;
  if (config.policy.clientIdentity !== 'org' && config.policy.autoWhitelistOrgs === 0 && !forHelo) return {};
  const { parseDomainWithPsl } = await import('./public-suffix-list.ts');
  return { parseDomain: parseDomainWithPsl };
}

/**
 * The answer of report-only mode: DUNNO, without the X-Greylist header (no mail is changed), with
 * the answer it replaces kept for the log and the HTTP body. The store has already recorded the
 * decision as if it had been answered, so that a later switch finds the triplets it learned.
 */
export function reportOnly(decision: Decision): Decision {
  const { header: _header, ...rest } = decision;
  return { ...rest, action: 'DUNNO', reportOnly: { action: decision.action } };
}

export function createDecisionService(deps: DecisionServiceDeps): DecisionService {
  const service = decisionService(deps);
  if (deps.reportOnly !== true) return service;
  return { check: async (request) => reportOnly(await service.check(request)) };
}

function decisionService(deps: DecisionServiceDeps): DecisionService {
  const { store, config, whitelists, clock, hashKey } = deps;
  const selective = deps.selective ?? null;
  const health = deps.storeHealth;

  return {
    async check(request) {
      const listed = whitelistDecision(request, whitelists());
      if (listed) return listed;
      const allowed = await allowEntryFor(deps, request);
      if (allowed) return allowed;

      let signals: Decision['signals'];
      if (selective !== null) {
        const pending = selective(request);
        const outcome = pending instanceof Promise ? await pending : pending;
        if (outcome.verdict === 'skip') {
          return { verdict: 'pass', reason: outcome.reason, action: 'DUNNO', writes: {}, events: [], signals: outcome.signals };
        }
        signals = outcome.signals;
      }

      const realNow = Math.floor(clock() / 1000);
      // Postgrey's test hook: `policy_test_time` replaces "now" for the decision, not for %d.
      const now = request.policyTestTime ?? realNow;
      const { keys, awl } = decisionPlan(request, config, hashKey, deps.parseDomain);
      let decision: Decision;
      try {
        decision = await store.runDecision(keys, now, (state) => decide(request, state, { config, now, realNow, awl }));
      } catch (err) {
        health?.failed(err);
        throw err;
      }
      health?.succeeded();
      return signals === undefined ? decision : { ...decision, signals };
    },
  };
}

/** An allow entry's answer when one matches (checked with the whitelists, before any store work). */
export async function allowEntryFor(deps: Pick<DecisionServiceDeps, 'allowEntries' | 'clock'>, request: PolicyRequest): Promise<Decision | null> {
  if (deps.allowEntries === undefined) return null;
  const current = deps.allowEntries.current();
  const matcher = current instanceof Promise ? await current : current;
  // Expiry is real time, never policy_test_time: an admin's "for 7 days" means the calendar.
  const entry = matcher.match(request, Math.floor(deps.clock() / 1000));
  return entry === null ? null : allowEntryDecision(entry);
}
