// A decision as the HTTP API answers it: snake_case keys, optional ones only when present.

import type { Decision } from '../core/types.ts';
import type { Signal } from '../core/signals.ts';

/** A decision as the HTTP API returns it. */
export interface DecisionBody {
  action: string;
  verdict: Decision['verdict'];
  reason: Decision['reason'];
  retry_after_seconds?: number;
  header?: string;
  /** With selective greylisting on: `[{ "name": "s25r", "rule": 3 }, { "name": "dnsbl", "zone": "…" }]`. */
  signals?: Signal[];
  /**
   * Report-only mode: the answer greygate would have given. The body's own `verdict` is then
   * `pass` and its `action` `DUNNO`, so a caller that reads either lets the mail through.
   */
  report_only?: { verdict: Decision['verdict']; action: string; retry_after_seconds?: number };
}

export function decisionBody(decision: Decision): DecisionBody {
  const retry = decision.retryAfterSeconds !== undefined ? { retry_after_seconds: decision.retryAfterSeconds } : {};
  const signals = decision.signals !== undefined ? { signals: decision.signals } : {};
  if (decision.reportOnly !== undefined) {
    return {
      action: decision.action,
      verdict: 'pass',
      reason: decision.reason,
      ...signals,
      report_only: { verdict: decision.verdict, action: decision.reportOnly.action, ...retry },
    };
  }
  return {
    action: decision.action,
    verdict: decision.verdict,
    reason: decision.reason,
    ...retry,
    ...(decision.header !== undefined ? { header: decision.header } : {}),
    ...signals,
  };
}
