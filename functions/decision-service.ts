// The decision path shared by every runtime: whitelists first (no store access), then selective
// greylisting when it is on (S25R, DNS lists: a client that is not suspicious passes here, still
// without store access), then one atomic store decision around the pure core. The HTTP app,
// `serve`'s policy listener and the Lambda all call `check`; none of them talks to the store for a
// decision directly.

import {
  classifyClientName,
  decide,
  decisionKeys,
  selectiveDecision,
  whitelistDecision,
  type DnsListResult,
  type S25rResult,
  type SelectiveSettings,
  type Whitelists,
} from './core/index.ts';
import type { PolicyConfig } from './core/policy-config.ts';
import type { Decision, PolicyRequest } from './core/types.ts';
import type { GreylistStore } from './store/store-port.ts';

/** What the decision service needs of functions/dns/dns-lists.ts (a fake in a test, if ever). */
export interface DnsListLookup {
  check(clientAddress: string): Promise<DnsListResult[]>;
}

/** Client names whose S25R classification is remembered (oldest forgotten first). */
const SELECTIVE_CACHE_ENTRIES = 10_000;

export interface DecisionServiceDeps {
  store: GreylistStore;
  config: PolicyConfig;
  /** A getter so a SIGHUP reload takes effect without rebuilding the service. */
  whitelists: () => Whitelists;
  /** Real time in milliseconds since the epoch. */
  clock: () => number;
  /** Privacy: maps a clear key to its keyed hash (HMAC-SHA-256). Absent = keys stored in clear. */
  hashKey?: (clear: string) => string;
  /** Selective greylisting; absent or mode `off` = Postgrey's behaviour, nothing else is consulted. */
  selective?: SelectiveSettings;
  /** The configured DNS lists (score mode only); absent = none. */
  dnsLists?: DnsListLookup;
}

export interface DecisionService {
  check(request: PolicyRequest): Promise<Decision>;
}

export function createDecisionService(deps: DecisionServiceDeps): DecisionService {
  const { store, config, whitelists, clock, hashKey } = deps;
  const selective = deps.selective !== undefined && deps.selective.mode !== 'off' ? deps.selective : null;
  const dnsLists = selective?.mode === 'score' ? deps.dnsLists ?? null : null;

  // S25R's verdict depends only on the client's name (and, when IPv6 clients are skipped, its
  // address): an MTA sends many messages, so most classifications are repeats.
  const classified = new Map<string, S25rResult>();
  const classify = (settings: SelectiveSettings, request: PolicyRequest): S25rResult => {
    const key = settings.s25rIpv6 === 'skip' ? `${request.clientAddress}\n${request.clientName}` : request.clientName;
    let s25r = classified.get(key);
    if (s25r === undefined) {
      s25r = classifyClientName(request.clientName, request.clientAddress, { ipv6: settings.s25rIpv6 });
      if (classified.size >= SELECTIVE_CACHE_ENTRIES) classified.delete(classified.keys().next().value as string);
      classified.set(key, s25r);
    }
    return s25r;
  };

  return {
    async check(request) {
      const listed = whitelistDecision(request, whitelists());
      if (listed) return listed;

      let signals: Decision['signals'];
      if (selective !== null) {
        const outcome = selectiveDecision({
          settings: selective,
          s25r: classify(selective, request),
          dnsLists: dnsLists === null ? [] : await dnsLists.check(request.clientAddress),
        });
        if (outcome.verdict === 'skip') {
          return { verdict: 'pass', reason: outcome.reason, action: 'DUNNO', writes: {}, events: [], signals: outcome.signals };
        }
        signals = outcome.signals;
      }

      const realNow = Math.floor(clock() / 1000);
      // Postgrey's test hook: `policy_test_time` replaces "now" for the decision, not for %d.
      const now = request.policyTestTime ?? realNow;
      const keys = decisionKeys(request, config, hashKey);
      const decision = await store.runDecision(keys, now, (state) => decide(request, state, { config, now, realNow }));
      return signals === undefined ? decision : { ...decision, signals };
    },
  };
}
