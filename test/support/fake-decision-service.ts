// A DecisionService that decides nothing: it records each PolicyRequest the HTTP app hands it and
// answers what the test told it to, or throws what the test told it to. With it, test/http checks
// the HTTP contract (the request mapping, the answer's shape, the error codes) without a store.

import type { Decision, PolicyRequest } from '../../functions/core/types.ts';
import type { DecisionService } from '../../functions/service/decision-service.ts';

/** A first sighting as the core answers it with the default 300 s delay. */
export const GREYLIST_DECISION: Decision = {
  verdict: 'greylist',
  reason: 'new',
  action: 'DEFER_IF_PERMIT Greylisted, please retry in 300 seconds',
  retryAfterSeconds: 300,
  writes: {},
  events: [],
};

export interface FakeDecisionService extends DecisionService {
  /** Every request `check` was called with, in order. */
  readonly requests: PolicyRequest[];
  /** Answer this decision from now on. */
  answer(decision: Decision): void;
  /** Throw this error from now on, as a failing store would. */
  fail(err: Error): void;
}

export function fakeDecisionService(): FakeDecisionService {
  const requests: PolicyRequest[] = [];
  let outcome: { decision: Decision } | { error: Error } = { decision: GREYLIST_DECISION };
  return {
    requests,
    answer(decision) {
      outcome = { decision };
    },
    fail(error) {
      outcome = { error };
    },
    async check(request) {
      requests.push(request);
      if ('error' in outcome) throw outcome.error;
      return outcome.decision;
    },
  };
}
