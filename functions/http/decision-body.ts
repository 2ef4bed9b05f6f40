// A decision as the HTTP API answers it: snake_case keys, optional ones only when present.

import type { Decision } from '../core/types.ts';
import type { Signal } from '../core/signals.ts';

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
