// The hook between the decision service and what watches it (the statistics, the Prometheus
// metrics): a wrapper around DecisionService.check that tells each observer about every decision
// answered, with its latency, and every failure. The decision service itself stays unaware.

import type { Decision } from '../core/types.ts';
import type { DecisionService } from '../service/decision-service.ts';

export interface DecisionObserver {
  decided(decision: Decision, latencySeconds: number): void;
  failed?(error: unknown): void;
}

export function observeDecisions(service: DecisionService, observers: readonly DecisionObserver[]): DecisionService {
  if (observers.length === 0) return service;
  const decided = (decision: Decision, started: number): Decision => {
    const latency = (performance.now() - started) / 1000;
    for (const o of observers) o.decided(decision, latency);
    return decision;
  };
  const failed = (error: unknown): never => {
    for (const o of observers) o.failed?.(error);
    throw error;
  };
  // A plain then() rather than an async wrapper: one promise per decision instead of several.
  return {
    check(request) {
      const started = performance.now();
      return service.check(request).then((decision) => decided(decision, started), failed);
    },
  };
}
