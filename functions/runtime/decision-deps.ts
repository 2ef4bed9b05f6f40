// What a runtime's decisions depend on, from its configuration and the parts it opened: one list
// for serve, the Lambda and `greygate explain`, so that explain decides exactly as they do.

import type { AllowEntries } from '../allow/allow-cache.ts';
import type { ParseDomain } from '../core/client-identity.ts';
import type { PolicyConfig } from '../core/policy-config.ts';
import type { Whitelists } from '../core/index.ts';
import type { SelectiveCheck } from '../selective/selective-check.ts';
import type { ExplainDeps } from '../allow/explain.ts';
import type { GreylistStore } from '../store/store-port.ts';

export interface DecisionParts {
  store: GreylistStore;
  whitelists: () => Whitelists;
  clock: () => number;
  hashKey?: ((clear: string) => string) | undefined;
  /** Built by the caller (selectiveCheckFor), before its store opens: a bad DNS setting fails first. */
  selective: SelectiveCheck | null;
  parseDomain?: ParseDomain | undefined;
  allowEntries?: AllowEntries | undefined;
}

/** Without store health: explain only reads, and a runtime adds its own tracker. */
export function decisionDeps(config: { policy: PolicyConfig; reportOnly: boolean }, parts: DecisionParts): ExplainDeps {
  const { store, whitelists, clock, hashKey, selective, parseDomain, allowEntries } = parts;
  return {
    store,
    config: config.policy,
    whitelists,
    clock,
    ...(hashKey ? { hashKey } : {}),
    selective,
    ...(parseDomain ? { parseDomain } : {}),
    reportOnly: config.reportOnly,
    ...(allowEntries ? { allowEntries } : {}),
  };
}
