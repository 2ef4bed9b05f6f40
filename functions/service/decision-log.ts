// Writes a decision the way Postgrey does, so existing log tooling keeps working: the per-request
// line (`action=greylist, reason=new, …`) and the side events (`whitelisted: name[ip]`).
// With JSON logs the same line becomes `msg` and the fields are added as keys.

import { formatLogLine, formatWhitelistedLine, logFields } from '../core/index.ts';
import type { Decision, PolicyRequest } from '../core/types.ts';
import type { Logger } from '../../policy/logger.ts';

export function logDecision(logger: Logger, request: PolicyRequest, decision: Decision): void {
  for (const event of decision.events) {
    if (event.kind === 'client-whitelisted') {
      logger.info(formatWhitelistedLine(request), { event: 'client-whitelisted', count: event.count, client_address: request.clientAddress });
    } else if (event.kind === 'org-whitelisted') {
      logger.info(`whitelisted organisation: ${event.org} (${event.count} passes)`, { event: 'org-whitelisted', count: event.count, org: event.org });
    } else if (event.kind === 'corrected-future-first-seen') {
      logger.warn('correcting date for first seen in the future!', { event: 'corrected-future-first-seen', client_address: request.clientAddress });
    }
  }
  if (logger.infoEnabled === false) return;
  logger.info(formatLogLine(request, decision), logger.fieldsEnabled === false ? undefined : logFields(request, decision));
}
