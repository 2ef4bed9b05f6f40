// The decision path shared by every runtime: whitelists first (no store access), then one atomic
// store decision around the pure core. The HTTP app, `serve`'s policy listener and the Lambda all
// call `check`; none of them talks to the store for a decision directly.

import { decide, decisionKeys, whitelistDecision, type Whitelists } from './core/index.ts';
import type { PolicyConfig } from './core/policy-config.ts';
import type { Decision, PolicyRequest } from './core/types.ts';
import type { GreylistStore } from './store/store-port.ts';

export interface DecisionServiceDeps {
  store: GreylistStore;
  config: PolicyConfig;
  /** A getter so a SIGHUP reload takes effect without rebuilding the service. */
  whitelists: () => Whitelists;
  /** Real time in milliseconds since the epoch. */
  clock: () => number;
  /** Privacy: maps a clear key to its keyed hash (HMAC-SHA-256). Absent = keys stored in clear. */
  hashKey?: (clear: string) => string;
}

export interface DecisionService {
  check(request: PolicyRequest): Promise<Decision>;
}

export function createDecisionService(deps: DecisionServiceDeps): DecisionService {
  const { store, config, whitelists, clock, hashKey } = deps;
  return {
    async check(request) {
      const listed = whitelistDecision(request, whitelists(), config);
      if (listed) return listed;
      const realNow = Math.floor(clock() / 1000);
      // Postgrey's test hook: `policy_test_time` replaces "now" for the decision, not for %d.
      const now = request.policyTestTime ?? realNow;
      const keys = decisionKeys(request, config, hashKey);
      return store.runDecision(keys, now, (state) => decide(request, state, { config, now, realNow }));
    },
  };
}
