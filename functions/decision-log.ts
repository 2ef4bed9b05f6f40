// Writes a decision the way Postgrey does, so existing log tooling keeps working: the per-request
// line (`action=greylist, reason=new, …`) and the side events (`whitelisted: name[ip]`).
// With JSON logs the same line becomes `msg` and the fields are added as keys.

import { formatLogLine, formatWhitelistedLine, logFields } from './core/index.ts';
import type { Signal } from './core/selective.ts';
import type { Decision, PolicyRequest } from './core/types.ts';

/** Structural logger: bridge/logger.ts's createLogger() satisfies it; tests may pass a recorder. */
export interface Logger {
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  /** False when info lines are dropped (`-q`): the per-request line is then not even built. */
  infoEnabled?: boolean;
  /** False when the format writes the message alone (text logs): the fields are then not built. */
  fieldsEnabled?: boolean;
}

export function logDecision(logger: Logger, request: PolicyRequest, decision: Decision): void {
  for (const event of decision.events) {
    if (event.kind === 'client-whitelisted') {
      logger.info(formatWhitelistedLine(request), { event: 'client-whitelisted', count: event.count, client_address: request.clientAddress });
    } else if (event.kind === 'corrected-future-first-seen') {
      logger.warn('correcting date for first seen in the future!', { event: 'corrected-future-first-seen', client_address: request.clientAddress });
    }
  }
  if (logger.infoEnabled === false) return;
  logger.info(formatLogLine(request, decision), logger.fieldsEnabled === false ? undefined : logFields(request, decision));
}

/** A decision as the HTTP API returns it. */
export function decisionBody(decision: Decision): {
  action: string;
  verdict: Decision['verdict'];
  reason: Decision['reason'];
  retry_after_seconds?: number;
  header?: string;
  /** With selective greylisting on: `[{ "name": "s25r", "rule": 3 }, { "name": "dnsbl", "zone": "…" }]`. */
  signals?: Signal[];
} {
  return {
    action: decision.action,
    verdict: decision.verdict,
    reason: decision.reason,
    ...(decision.retryAfterSeconds !== undefined ? { retry_after_seconds: decision.retryAfterSeconds } : {}),
    ...(decision.header !== undefined ? { header: decision.header } : {}),
    ...(decision.signals !== undefined ? { signals: decision.signals } : {}),
  };
}
