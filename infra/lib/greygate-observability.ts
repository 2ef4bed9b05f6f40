// Alarms and the dashboard. The function's own metrics come from its EMF lines
// (functions/runtime/emf-metrics.ts, whose names are imported here so emitter and watchers agree);
// the rest are the standard AWS/Lambda and AWS/DynamoDB metrics.
//
// Every alarm notifies one SNS topic (and an e-mail address when greygate:alarmEmail is set), on
// ALARM and on OK. Missing data is "not breaching": a quiet night is not an outage.

import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  MathExpression,
  Metric,
  Stats,
  TreatMissingData,
  type IMetric,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { DIMENSION, METRIC } from '../../functions/runtime/emf-metrics.ts';
import type { StoreErrorCode } from '../../functions/store/store-port.ts';
import { dataPlaneOperations } from './dynamodb-actions.ts';
import { FUNCTION_TIMEOUT_SECONDS } from './greygate-function.ts';

const STORE_UNAVAILABLE: StoreErrorCode = 'store-unavailable';
const PERIOD = Duration.minutes(5);

/**
 * p99 above this for 15 minutes pages. Bridges give up after a few seconds and fail open; a p99
 * of one second means a slow tail is eating most of that budget (a warm decision takes tens of
 * ms; cold starts alone do not hold p99 there for three periods in a row).
 */
export const LATENCY_P99_ALARM_MS = 1000;
/**
 * 503 "store unavailable" answers per 5 minutes that page. The SDK already retries throttling
 * before the app gives up, so a few isolated 503s are noise; an outage produces far more.
 */
export const STORE_UNAVAILABLE_ALARM_COUNT = 5;

export interface GreygateObservabilityProps {
  fn: LambdaFunction;
  table: Table;
  metricsNamespace: string;
  /** Global to the account: unique per deployment and region (infra/lib/greygate.ts derives it). */
  dashboardName: string;
  alarmEmail?: string;
}

export interface GreygateAlarms {
  functionErrors: Alarm;
  functionThrottles: Alarm;
  tableThrottles: Alarm;
  storeUnavailable: Alarm;
  latencyP99: Alarm;
}

export class GreygateObservability extends Construct {
  readonly topic: Topic;
  readonly alarms: GreygateAlarms;
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: GreygateObservabilityProps) {
    super(scope, id);
    const { fn, table, metricsNamespace: namespace } = props;

    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'greygate alarms', enforceSSL: true });
    if (props.alarmEmail) this.topic.addSubscription(new EmailSubscription(props.alarmEmail));

    const decisions = (verdict: 'greylist' | 'pass', label: string): Metric =>
      new Metric({ namespace, metricName: METRIC.decisions, dimensionsMap: { [DIMENSION.verdict]: verdict }, statistic: Stats.SUM, period: PERIOD, label });
    const latency = (statistic: string): Metric =>
      new Metric({ namespace, metricName: METRIC.decisionLatency, statistic, period: PERIOD, label: `decision ${statistic}` });
    const storeUnavailable = new Metric({
      namespace,
      metricName: METRIC.storeErrors,
      dimensionsMap: { [DIMENSION.code]: STORE_UNAVAILABLE },
      statistic: Stats.SUM,
      period: PERIOD,
      label: '503 store unavailable',
    });
    // One series per dimension value, whatever values exist: new reasons and error codes appear
    // on the dashboard without a redeploy.
    // Names are quoted: a namespace such as Greygate/prod:eu would otherwise break the schema.
    const search = (dimensions: readonly string[], metricName: string): MathExpression =>
      new MathExpression({
        expression: `SEARCH('{${[namespace, ...dimensions].map((n) => `"${n}"`).join(',')}} MetricName="${metricName}"', 'Sum', ${PERIOD.toSeconds()})`,
        // A dynamic label per series ("greylist new"); without one every series shows the expression.
        label: dimensions.map((d) => `\${PROP('Dim.${d}')}`).join(' '),
        period: PERIOD,
      });
    // The statistics' figures (functions/stats/): percentiles of the delay until a first pass, and
    // of the day's new triplets, the share not matched by a first pass. A day's passes include
    // retries of the evening before, so it is the day's ratio, not a cohort's (`greygate report`
    // and the status page follow each triplet's cohort).
    const delay = (statistic: string): Metric =>
      new Metric({ namespace, metricName: METRIC.delayUntilPass, statistic, period: PERIOD, label: `delay ${statistic}` });
    const DAY = Duration.days(1);
    const neverRetried = new MathExpression({
      expression: '100 * (1 - FILL(passes, 0) / fresh)',
      usingMetrics: {
        passes: new Metric({ namespace, metricName: METRIC.delayUntilPass, statistic: Stats.SAMPLE_COUNT, period: DAY }),
        fresh: new Metric({
          namespace,
          metricName: METRIC.decisions,
          dimensionsMap: { [DIMENSION.verdict]: 'greylist', [DIMENSION.reason]: 'new' },
          statistic: Stats.SUM,
          period: DAY,
        }),
      },
      label: 'never retried (%)',
      period: DAY,
    });
    const tableThrottles = table.metricThrottledRequestsForOperations({ operations: dataPlaneOperations(), period: PERIOD });
    const duration = (statistic: string): Metric => fn.metricDuration({ statistic, period: PERIOD, label: `Lambda duration ${statistic}` });

    const alarm = (id: string, metric: IMetric, threshold: number, description: string, periods = 1): Alarm => {
      const created = new Alarm(this, id, {
        metric,
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: periods,
        datapointsToAlarm: periods,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      created.addAlarmAction(new SnsAction(this.topic));
      created.addOkAction(new SnsAction(this.topic));
      return created;
    };

    this.alarms = {
      functionErrors: alarm(
        'FunctionErrors',
        fn.metricErrors({ period: PERIOD, statistic: Stats.SUM }),
        1,
        'greygate: the function failed (crash, timeout or out of memory) instead of answering. Bridges fail open meanwhile. Read the function log group for the error.',
      ),
      functionThrottles: alarm(
        'FunctionThrottles',
        fn.metricThrottles({ period: PERIOD, statistic: Stats.SUM }),
        1,
        'greygate: Lambda refused invocations (concurrency limit reached); bridges got 429 and failed open. Raise the account concurrency quota or look for a request flood.',
      ),
      tableThrottles: alarm(
        'TableThrottles',
        tableThrottles,
        1,
        'greygate: DynamoDB throttled requests to the greylist table; after the SDK retries they become 503 answers. Look for a hot key or a traffic spike.',
      ),
      storeUnavailable: alarm(
        'StoreUnavailable',
        storeUnavailable,
        STORE_UNAVAILABLE_ALARM_COUNT,
        `greygate: ${STORE_UNAVAILABLE_ALARM_COUNT}+ answers were 503 "store unavailable" in 5 minutes; bridges failed open for them. Check DynamoDB health and throttling.`,
      ),
      latencyP99: alarm(
        'LatencyP99',
        duration(Stats.p(99)),
        LATENCY_P99_ALARM_MS,
        `greygate: p99 function duration at or above ${LATENCY_P99_ALARM_MS} ms for 15 minutes (timeout ${FUNCTION_TIMEOUT_SECONDS} s); bridges may time out and fail open. Check DynamoDB latency and cold starts.`,
        3,
      ),
    };

    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(1),
      widgets: [
        [
          // The first graph: is greylisting happening, and at what share of the traffic?
          new GraphWidget({
            title: 'Decisions: greylisted vs passed',
            left: [decisions('greylist', 'greylisted'), decisions('pass', 'passed')],
            width: 12,
            height: 6,
          }),
          new GraphWidget({ title: 'Decisions by reason', left: [search([DIMENSION.verdict, DIMENSION.reason], METRIC.decisions)], width: 12, height: 6 }),
        ],
        [
          new GraphWidget({
            title: 'Latency (ms)',
            left: [latency(Stats.p(50)), latency(Stats.p(99)), duration(Stats.p(99))],
            leftAnnotations: [{ value: LATENCY_P99_ALARM_MS, label: 'p99 alarm' }],
            width: 12,
            height: 6,
          }),
          new GraphWidget({
            title: 'Failures',
            left: [
              search([DIMENSION.code], METRIC.storeErrors),
              fn.metricErrors({ period: PERIOD, statistic: Stats.SUM, label: 'function errors' }),
              fn.metricThrottles({ period: PERIOD, statistic: Stats.SUM, label: 'function throttles' }),
            ],
            width: 12,
            height: 6,
          }),
        ],
        [
          new GraphWidget({
            title: 'DynamoDB',
            left: [
              table.metricConsumedWriteCapacityUnits({ period: PERIOD, label: 'write units' }),
              table.metricConsumedReadCapacityUnits({ period: PERIOD, label: 'read units' }),
            ],
            right: [tableThrottles],
            width: 12,
            height: 6,
          }),
          new GraphWidget({
            title: 'Lambda',
            left: [fn.metricInvocations({ period: PERIOD, label: 'invocations' })],
            right: [fn.metric('ConcurrentExecutions', { statistic: Stats.MAXIMUM, period: PERIOD, label: 'concurrency (max)' })],
            width: 12,
            height: 6,
          }),
        ],
        [
          // Is greylisting worth it: how long real mail waits, and how much never comes back.
          new GraphWidget({
            title: 'Delay until pass (s)',
            left: [delay(Stats.p(50)), delay(Stats.p(95))],
            width: 12,
            height: 6,
          }),
          new GraphWidget({
            title: 'Never-retried share (%, per day)',
            left: [neverRetried],
            leftYAxis: { min: 0, max: 100 },
            period: Duration.days(1),
            width: 12,
            height: 6,
          }),
        ],
        [new AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 3 })],
      ],
    });
  }
}
