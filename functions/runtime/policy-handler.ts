// Connects the policy-protocol listener to the decision service inside `greygate serve`: parses
// the attributes, asks the service, applies the per-message X-Greylist de-duplication, logs the
// Postgrey line and returns the action. Bad input is answered DUNNO and never reaches the store.
// A decision that fails (the store cannot be read or written) is answered DUNNO too: an internal
// fault must never block mail. Its error line is rate-limited, since a full disk fails them all;
// the store's state change is logged once, by the health tracker (service/store-health.ts).

import type { InstanceMemory } from '../../policy/instance-memory.ts';
import type { PolicyHandler } from '../../policy/policy-server.ts';
import { parsePolicyRequest } from '../core/index.ts';
import type { Decision } from '../core/types.ts';
import type { Logger } from '../../policy/logger.ts';
import { logDecision } from '../service/decision-log.ts';
import type { DecisionService } from '../service/decision-service.ts';
import { createBoundedErrorLog } from '../../policy/bounded-error-log.ts';
import { StoreError } from '../store/store-port.ts';

/**
 * One X-Greylist header per message: a message to several recipients passes several triplets,
 * each a "first pass"; only the first one seen for a Postfix `instance` keeps its header
 * (Postgrey's is_new_instance, with a larger memory).
 */
export function dedupeHeader(decision: Decision, instance: string | undefined, instances: InstanceMemory): Decision {
  if (decision.header === undefined || instances.claimHeader(instance)) return decision;
  const { header: _header, delayedSeconds: _delayed, ...rest } = decision;
  return { ...rest, action: 'DUNNO' };
}

export function createServePolicyHandler(deps: {
  service: DecisionService;
  logger: Logger;
  instances: InstanceMemory;
  /** Milliseconds; the failure lines' rate limit runs on it. Default Date.now. */
  clock?: () => number;
}): PolicyHandler {
  const { service, logger, instances } = deps;
  const logFailure = createBoundedErrorLog(logger, { what: 'failed decision(s)', linesPerWindow: 10, windowMs: 60_000, ...(deps.clock ? { clock: deps.clock } : {}) });
  return async (attrs) => {
    const parsed = parsePolicyRequest(attrs);
    if (!parsed.ok) {
      if (parsed.code === 'missing-attribute') logger.warn(`attribute missing: ${parsed.field}`);
      else logger.warn(`${parsed.message}; answering DUNNO`, { field: parsed.field });
      return 'DUNNO';
    }
    let checked: Decision;
    try {
      checked = await service.check(parsed.request);
    } catch (err) {
      const code = err instanceof StoreError ? err.code : 'internal';
      logFailure(`decision failed, answering DUNNO: ${err instanceof Error ? err.message : String(err)}`, { code });
      return 'DUNNO';
    }
    const decision = dedupeHeader(checked, parsed.request.instance, instances);
    logDecision(logger, parsed.request, decision);
    return decision.action;
  };
}
