// Connects the policy-protocol listener to the decision service inside `greygate serve`: parses
// the attributes, asks the service, applies the per-message X-Greylist de-duplication, logs the
// Postgrey line and returns the action. Bad input is answered DUNNO and never reaches the store.

import type { InstanceMemory } from '../../policy/instance-memory.ts';
import type { PolicyHandler } from '../../policy/policy-server.ts';
import { parsePolicyRequest } from '../core/index.ts';
import type { Decision } from '../core/types.ts';
import type { Logger } from '../../policy/logger.ts';
import { logDecision } from '../service/decision-log.ts';
import type { DecisionService } from '../service/decision-service.ts';

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
}): PolicyHandler {
  const { service, logger, instances } = deps;
  return async (attrs) => {
    const parsed = parsePolicyRequest(attrs);
    if (!parsed.ok) {
      if (parsed.code === 'missing-attribute') logger.warn(`attribute missing: ${parsed.field}`);
      else logger.warn(`${parsed.message}; answering DUNNO`, { field: parsed.field });
      return 'DUNNO';
    }
    const decision = dedupeHeader(await service.check(parsed.request), parsed.request.instance, instances);
    logDecision(logger, parsed.request, decision);
    return decision.action;
  };
}
