// CloudWatch metrics written as Embedded Metric Format (EMF) log lines: the Lambda prints one JSON
// object per line on stdout and CloudWatch Logs turns it into metrics, so a decision costs no
// PutMetricData call, no SDK client and no extra latency. Dependency-free on purpose (the bundle
// stays small and the cold start short).
//
// One document per (verdict, reason) group and one per store error code, for example:
//
//   {"_aws":{"Timestamp":1767225600000,"CloudWatchMetrics":[
//      {"Namespace":"Greygate","Dimensions":[["Verdict"],["Verdict","Reason"]],"Metrics":[{"Name":"Decisions","Unit":"Count"}]},
//      {"Namespace":"Greygate","Dimensions":[[]],"Metrics":[{"Name":"DecisionLatency","Unit":"Milliseconds"}]}]},
//    "Verdict":"greylist","Reason":"new","Decisions":1,"DecisionLatency":12.5}
//
// Why these dimension sets: the dashboard graphs greylisted vs passed (Verdict alone), operators
// drill into reasons (Verdict+Reason), and latency has a single, dimensionless series so its p99
// alarm watches every decision. Each distinct dimension combination is a billed custom metric;
// verdicts, reasons and store error codes are closed sets, so the count stays around a dozen.
//
// The infra (alarms, dashboard) imports the names below, so the emitter and the watchers cannot
// drift apart.

import type { Reason, Verdict } from '../core/types.ts';
import type { StoreErrorCode } from '../store/store-port.ts';
import { DEFAULT_METRICS_NAMESPACE } from '../config/option-table.ts';

export { DEFAULT_METRICS_NAMESPACE };

export const METRIC = Object.freeze({
  decisions: 'Decisions',
  decisionLatency: 'DecisionLatency',
  storeErrors: 'StoreErrors',
  /**
   * Seconds a triplet waited before its first pass (the statistics' delay histogram, as raw values):
   * CloudWatch gives its percentiles, and its sample count is the number of first passes.
   */
  delayUntilPass: 'DelayUntilPass',
} as const);

export const DIMENSION = Object.freeze({
  verdict: 'Verdict',
  reason: 'Reason',
  code: 'Code',
} as const);

/** EMF caps a metric's value array at 100 entries; a fuller group is flushed early. */
export const MAX_VALUES_PER_DOCUMENT = 100;

export interface MetricsOptions {
  namespace?: string;
  /** Receives one complete JSON document per call, without a trailing newline. */
  write: (line: string) => void;
  /** Milliseconds since the epoch (`Date.now` shape). */
  clock?: () => number;
}

export interface DecisionSample {
  verdict: Verdict;
  reason: Reason;
  /** Time spent deciding (request parsed → answer ready), in milliseconds. */
  latencyMs: number;
  /** On a triplet's first pass: seconds it was greylisted (Decision.delayedSeconds). */
  delayedSeconds?: number;
}

export interface Metrics {
  recordDecision(sample: DecisionSample): void;
  recordStoreError(code: StoreErrorCode): void;
  /**
   * Writes everything recorded since the last flush and empties the buffer. The Lambda calls it
   * once at the end of each invocation (one line per invocation on the common path); a long-lived
   * server may call it on a timer to batch.
   */
  flush(): void;
}

interface DecisionGroup {
  verdict: Verdict;
  reason: Reason;
  timestamp: number;
  count: number;
  latencies: number[];
  delays: number[];
}

interface StoreErrorGroup {
  code: StoreErrorCode;
  timestamp: number;
  count: number;
}

interface MetricDirective {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit: 'Count' | 'Milliseconds' | 'Seconds' }[];
}

export function createMetrics(options: MetricsOptions): Metrics {
  const namespace = options.namespace ?? DEFAULT_METRICS_NAMESPACE;
  const { write } = options;
  const clock = options.clock ?? Date.now;
  const decisions = new Map<string, DecisionGroup>();
  const storeErrors = new Map<StoreErrorCode, StoreErrorGroup>();

  const document = (timestamp: number, directives: MetricDirective[], members: Record<string, unknown>): string =>
    JSON.stringify({ _aws: { Timestamp: timestamp, CloudWatchMetrics: directives }, ...members });

  const writeDecisions = (group: DecisionGroup): void => {
    const directives: MetricDirective[] = [
      {
        Namespace: namespace,
        Dimensions: [[DIMENSION.verdict], [DIMENSION.verdict, DIMENSION.reason]],
        Metrics: [{ Name: METRIC.decisions, Unit: 'Count' }],
      },
    ];
    const members: Record<string, unknown> = {
      [DIMENSION.verdict]: group.verdict,
      [DIMENSION.reason]: group.reason,
      [METRIC.decisions]: group.count,
    };
    if (group.latencies.length > 0) {
      directives.push({ Namespace: namespace, Dimensions: [[]], Metrics: [{ Name: METRIC.decisionLatency, Unit: 'Milliseconds' }] });
      members[METRIC.decisionLatency] = group.latencies.length === 1 ? group.latencies[0] : group.latencies;
    }
    if (group.delays.length > 0) {
      directives.push({ Namespace: namespace, Dimensions: [[]], Metrics: [{ Name: METRIC.delayUntilPass, Unit: 'Seconds' }] });
      members[METRIC.delayUntilPass] = group.delays.length === 1 ? group.delays[0] : group.delays;
    }
    write(document(group.timestamp, directives, members));
  };

  return {
    recordDecision({ verdict, reason, latencyMs, delayedSeconds }) {
      const key = `${verdict}\u0000${reason}`;
      let group = decisions.get(key);
      if (!group) {
        group = { verdict, reason, timestamp: clock(), count: 0, latencies: [], delays: [] };
        decisions.set(key, group);
      }
      group.count += 1;
      // A clock step backwards must not publish a negative latency; the decision still counts.
      if (Number.isFinite(latencyMs) && latencyMs >= 0) group.latencies.push(latencyMs);
      if (delayedSeconds !== undefined && Number.isFinite(delayedSeconds) && delayedSeconds >= 0) group.delays.push(delayedSeconds);
      if (group.latencies.length >= MAX_VALUES_PER_DOCUMENT || group.delays.length >= MAX_VALUES_PER_DOCUMENT) {
        decisions.delete(key);
        writeDecisions(group);
      }
    },

    recordStoreError(code) {
      const group = storeErrors.get(code);
      if (group) group.count += 1;
      else storeErrors.set(code, { code, timestamp: clock(), count: 1 });
    },

    flush() {
      for (const group of decisions.values()) writeDecisions(group);
      decisions.clear();
      for (const group of storeErrors.values()) {
        const directive: MetricDirective = {
          Namespace: namespace,
          Dimensions: [[DIMENSION.code]],
          Metrics: [{ Name: METRIC.storeErrors, Unit: 'Count' }],
        };
        write(document(group.timestamp, [directive], { [DIMENSION.code]: group.code, [METRIC.storeErrors]: group.count }));
      }
      storeErrors.clear();
    },
  };
}
