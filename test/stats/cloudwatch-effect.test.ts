// What the CloudWatch side gains from the statistics: the Lambda's EMF lines carry each first
// pass's delay (DelayUntilPass, seconds), and the dashboard graphs its percentiles and the daily
// never-retried share computed from it and the `greylist/new` decisions.

import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AttributeType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { GreygateObservability } from '../../infra/lib/greygate-observability.ts';
import { createMetrics } from '../../functions/runtime/emf-metrics.ts';

describe('DelayUntilPass in the EMF lines', () => {
  it('is written with the first passes only, as raw seconds, and no line carries it otherwise', () => {
    const lines: string[] = [];
    const metrics = createMetrics({ namespace: 'Greygate/test', write: (l) => lines.push(l), clock: () => 1_767_225_600_000 });
    metrics.recordDecision({ verdict: 'pass', reason: 'triplet-found', latencyMs: 3, delayedSeconds: 420 });
    metrics.recordDecision({ verdict: 'pass', reason: 'triplet-found', latencyMs: 2 });
    metrics.recordDecision({ verdict: 'pass', reason: 'triplet-found', latencyMs: 4, delayedSeconds: 960 });
    metrics.recordDecision({ verdict: 'greylist', reason: 'new', latencyMs: 5 });
    metrics.flush();
    const docs = lines.map((l) => JSON.parse(l) as Record<string, unknown> & { _aws: { CloudWatchMetrics: Array<{ Metrics: Array<{ Name: string; Unit: string }> }> } });
    const passed = docs.find((d) => d.Reason === 'triplet-found');
    expect(passed?.DelayUntilPass).toEqual([420, 960]);
    expect(passed?.Decisions).toBe(3);
    expect(passed?._aws.CloudWatchMetrics.flatMap((m) => m.Metrics)).toContainEqual({ Name: 'DelayUntilPass', Unit: 'Seconds' });
    const fresh = docs.find((d) => d.Reason === 'new');
    expect(fresh).not.toHaveProperty('DelayUntilPass');
  });
});

describe('the dashboard', () => {
  it('graphs the delay percentiles and the daily never-retried share', () => {
    const stack = new Stack(new App(), 'T');
    const fn = new LambdaFunction(stack, 'Fn', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler=async()=>{}') });
    const table = new Table(stack, 'Table', { partitionKey: { name: 'pk', type: AttributeType.STRING } });
    new GreygateObservability(stack, 'Obs', { fn, table, metricsNamespace: 'Greygate/test', dashboardName: 'gg-test' });
    const dashboards = Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard');
    const [dashboard] = Object.values(dashboards) as Array<{ Properties: { DashboardBody: unknown } }>;
    const body = JSON.stringify(dashboard?.Properties.DashboardBody);
    const widgets = (JSON.parse(JSON.parse(body.replace(/\{"Ref":"[^"]+"\}/g, '"REF"').replace(/^\{"Fn::Join":\["",\[/, '[').replace(/\]\]\}$/, ']')).map(String).join('')) as {
      widgets: Array<{ properties: { title?: string; metrics?: unknown[][] } }>;
    }).widgets;
    const delay = widgets.find((w) => w.properties.title === 'Delay until pass (s)');
    expect(delay?.properties.metrics).toEqual([
      ['Greygate/test', 'DelayUntilPass', expect.objectContaining({ stat: 'p50' })],
      ['Greygate/test', 'DelayUntilPass', expect.objectContaining({ stat: 'p95' })],
    ]);
    const share = widgets.find((w) => w.properties.title === 'Never-retried share (%, per day)');
    expect(JSON.stringify(share?.properties.metrics)).toContain('100 * (1 - FILL(passes, 0) / fresh)');
    expect(share?.properties.metrics).toContainEqual(['Greygate/test', 'DelayUntilPass', expect.objectContaining({ id: 'passes', stat: 'SampleCount', period: 86400, visible: false })]);
    expect(share?.properties.metrics).toContainEqual(['Greygate/test', 'Decisions', 'Reason', 'new', 'Verdict', 'greylist', expect.objectContaining({ id: 'fresh', stat: 'Sum', period: 86400, visible: false })]);
  });
});
