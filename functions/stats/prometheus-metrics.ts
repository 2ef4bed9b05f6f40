// `serve`'s Prometheus metrics (GET /metrics), with prom-client: this process's decisions by verdict
// and reason, their latency, how long passed mail waited, store errors, open policy connections,
// whitelist entries loaded, the purge's progress, and Node's process metrics. These are the
// process's own counters since it started, as Prometheus expects (rate() and sum() across
// instances do the rest); the fleet-wide, stored picture is the statistics' (stats-recorder.ts).
//
// One registry per serve instance (never prom-client's global one), so two instances in one
// process (tests) do not count into each other. Per decision: one labelled counter increment
// (the child for each verdict/reason pair is looked up once and kept) and one or two histogram
// observations; everything else is read when Prometheus scrapes.

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Decision } from '../core/types.ts';
import { StoreError } from '../store/store-port.ts';
import type { DecisionObserver } from './observed-service.ts';
import { DELAY_BUCKETS_SECONDS } from './stats-model.ts';

export interface MetricsSources {
  /** Open policy-protocol connections right now. */
  policyConnections?: () => number;
  /** Whitelist entries loaded (changes on SIGHUP). */
  whitelistEntries?: () => { clients: number; recipients: number };
}

export interface PurgeProgress {
  /** A store call of the purge deleted `n` records. */
  deleted(n: number): void;
  /** A purge run ended (successfully or not) at `epochSeconds`. */
  finished(epochSeconds: number, ok: boolean): void;
}

export interface GreygateMetrics {
  readonly registry: Registry;
  readonly observer: DecisionObserver;
  readonly purge: PurgeProgress;
  /** The exposition text and its content type. */
  render(): Promise<{ body: string; contentType: string }>;
}

/** Decision latency: a SQLite decision takes well under a millisecond, a DynamoDB one a few. */
const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createMetrics(sources: MetricsSources = {}): GreygateMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  const decisions = new Counter({
    name: 'greygate_decisions_total',
    help: 'Decisions answered by this process, by verdict (greylist|pass) and reason',
    labelNames: ['verdict', 'reason'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'greygate_decision_duration_seconds',
    help: 'Time from request to decision, store included',
    buckets: LATENCY_BUCKETS_SECONDS,
    registers: [registry],
  });
  const delay = new Histogram({
    name: 'greygate_delay_until_pass_seconds',
    help: "How long a triplet was greylisted before its first pass (Postgrey's delay=)",
    buckets: [...DELAY_BUCKETS_SECONDS],
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: 'greygate_store_errors_total',
    help: 'Decisions the store could not take, by error code (store-unavailable, store-misconfigured, ...)',
    labelNames: ['code'] as const,
    registers: [registry],
  });
  const purged = new Counter({
    name: 'greygate_purge_deleted_total',
    help: 'Expired records the purge deleted',
    registers: [registry],
  });
  const purgeRuns = new Counter({
    name: 'greygate_purge_runs_total',
    help: 'Purge runs finished, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const purgeLast = new Gauge({
    name: 'greygate_purge_last_run_timestamp_seconds',
    help: 'When the last purge run finished successfully (epoch seconds); 0 before the first',
    registers: [registry],
  });
  const { policyConnections, whitelistEntries } = sources;
  if (policyConnections) {
    new Gauge({
      name: 'greygate_policy_connections_open',
      help: 'Open policy-protocol connections (Postfix smtpd processes holding one)',
      registers: [registry],
      collect() {
        this.set(policyConnections());
      },
    });
  }
  if (whitelistEntries) {
    new Gauge({
      name: 'greygate_whitelist_entries',
      help: 'Whitelist entries loaded, by kind (client|recipient)',
      labelNames: ['kind'] as const,
      registers: [registry],
      collect() {
        const counts = whitelistEntries();
        this.set({ kind: 'client' }, counts.clients);
        this.set({ kind: 'recipient' }, counts.recipients);
      },
    });
  }

  const children = new Map<string, Counter.Internal>();
  const decisionCounter = (decision: Decision): Counter.Internal => {
    const key = `${decision.verdict}\n${decision.reason}`;
    let child = children.get(key);
    if (child === undefined) {
      child = decisions.labels({ verdict: decision.verdict, reason: decision.reason });
      children.set(key, child);
    }
    return child;
  };

  return {
    registry,
    observer: {
      decided(decision, latencySeconds) {
        decisionCounter(decision).inc();
        latency.observe(latencySeconds);
        if (decision.delayedSeconds !== undefined) delay.observe(decision.delayedSeconds);
      },
      failed(error) {
        if (error instanceof StoreError) storeErrors.inc({ code: error.code });
      },
    },
    purge: {
      deleted: (n) => purged.inc(n),
      finished(epochSeconds, ok) {
        purgeRuns.inc({ outcome: ok ? 'ok' : 'failed' });
        if (ok) purgeLast.set(epochSeconds);
      },
    },
    async render() {
      return { body: await registry.metrics(), contentType: registry.contentType };
    },
  };
}
