import { describe, expect, it } from 'vitest';
import { createMetrics, DEFAULT_METRICS_NAMESPACE, MAX_VALUES_PER_DOCUMENT } from '../../functions/runtime/emf-metrics.ts';

const NOW = Date.UTC(2026, 0, 1, 12, 0, 0);

interface Directive {
  Namespace: string;
  Dimensions: string[][];
  Metrics: { Name: string; Unit: string }[];
}

type EmfDocument = Record<string, unknown> & { _aws: { Timestamp: number; CloudWatchMetrics: Directive[] } };

/** Checks a line against the EMF specification's MUSTs and returns it parsed. */
function parseEmf(line: string): EmfDocument {
  expect(line).not.toContain('\n');
  const doc = JSON.parse(line) as EmfDocument;
  expect(Number.isInteger(doc._aws.Timestamp)).toBe(true);
  expect(doc._aws.CloudWatchMetrics.length).toBeGreaterThan(0);
  for (const directive of doc._aws.CloudWatchMetrics) {
    expect(directive.Namespace).toMatch(/\S/);
    for (const dimensionSet of directive.Dimensions) {
      expect(dimensionSet.length).toBeLessThanOrEqual(30);
      for (const key of dimensionSet) expect(typeof doc[key]).toBe('string');
    }
    expect(directive.Metrics.length).toBeLessThanOrEqual(100);
    for (const metric of directive.Metrics) {
      expect(['Count', 'Milliseconds']).toContain(metric.Unit);
      const value = doc[metric.Name];
      const values = Array.isArray(value) ? value : [value];
      expect(values.length).toBeLessThanOrEqual(100);
      for (const v of values) expect(typeof v).toBe('number');
    }
  }
  return doc;
}

function recorder(): { lines: string[]; write: (line: string) => void } {
  const lines: string[] = [];
  return { lines, write: (line) => lines.push(line) };
}

describe('EMF metrics', () => {
  it('writes one valid EMF document for one decision, with its verdict, reason, count and latency', () => {
    // Prepare
    const out = recorder();
    const metrics = createMetrics({ namespace: 'Greygate/test', write: out.write, clock: () => NOW });

    // Act
    metrics.recordDecision({ verdict: 'greylist', reason: 'new', latencyMs: 12.5 });
    metrics.flush();

    // Assess
    expect(out.lines).toHaveLength(1);
    const doc = parseEmf(out.lines[0] ?? '');
    expect(doc._aws.Timestamp).toBe(NOW);
    expect(doc._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'Greygate/test', Dimensions: [['Verdict'], ['Verdict', 'Reason']], Metrics: [{ Name: 'Decisions', Unit: 'Count' }] },
      { Namespace: 'Greygate/test', Dimensions: [[]], Metrics: [{ Name: 'DecisionLatency', Unit: 'Milliseconds' }] },
    ]);
    expect(doc).toMatchObject({ Verdict: 'greylist', Reason: 'new', Decisions: 1, DecisionLatency: 12.5 });
  });

  it('uses the Greygate namespace and the real clock when none is given', () => {
    // Prepare
    const out = recorder();
    const metrics = createMetrics({ write: out.write });
    const before = Date.now();

    // Act
    metrics.recordDecision({ verdict: 'pass', reason: 'triplet-found', latencyMs: 3 });
    metrics.flush();

    // Assess
    const doc = parseEmf(out.lines[0] ?? '');
    expect(DEFAULT_METRICS_NAMESPACE).toBe('Greygate');
    expect(doc._aws.CloudWatchMetrics.map((d) => d.Namespace)).toEqual(['Greygate', 'Greygate']);
    expect(doc._aws.Timestamp).toBeGreaterThanOrEqual(before);
    expect(doc._aws.Timestamp).toBeLessThanOrEqual(Date.now());
  });

  it('batches decisions into one document per verdict and reason', () => {
    // Prepare
    const out = recorder();
    const metrics = createMetrics({ write: out.write, clock: () => NOW });

    // Act
    metrics.recordDecision({ verdict: 'greylist', reason: 'new', latencyMs: 10 });
    metrics.recordDecision({ verdict: 'pass', reason: 'triplet-found', latencyMs: 4 });
    metrics.recordDecision({ verdict: 'greylist', reason: 'new', latencyMs: 11 });
    metrics.recordDecision({ verdict: 'greylist', reason: 'new', latencyMs: 12 });
    metrics.flush();

    // Assess
    const docs = out.lines.map(parseEmf);
    expect(docs).toHaveLength(2);
    expect(docs.find((d) => d.Reason === 'new')).toMatchObject({ Verdict: 'greylist', Decisions: 3, DecisionLatency: [10, 11, 12] });
    expect(docs.find((d) => d.Reason === 'triplet-found')).toMatchObject({ Verdict: 'pass', Decisions: 1, DecisionLatency: 4 });
  });

  it('counts store errors by code in their own document', () => {
    // Prepare
    const out = recorder();
    const metrics = createMetrics({ write: out.write, clock: () => NOW });

    // Act
    metrics.recordStoreError('store-unavailable');
    metrics.recordStoreError('store-unavailable');
    metrics.recordStoreError('store-misconfigured');
    metrics.flush();

    // Assess
    const docs = out.lines.map(parseEmf);
    expect(docs).toHaveLength(2);
    expect(docs[0]?._aws.CloudWatchMetrics).toEqual([
      { Namespace: 'Greygate', Dimensions: [['Code']], Metrics: [{ Name: 'StoreErrors', Unit: 'Count' }] },
    ]);
    expect(docs.map((d) => [d.Code, d.StoreErrors])).toEqual([
      ['store-unavailable', 2],
      ['store-misconfigured', 1],
    ]);
  });

  it('writes nothing when nothing was recorded, and a flush empties the buffer', () => {
    // Prepare
    const out = recorder();
    const metrics = createMetrics({ write: out.write, clock: () => NOW });

    // Act
    metrics.flush();
    metrics.recordDecision({ verdict: 'pass', reason: 'client-awl', latencyMs: 2 });
    metrics.flush();
    metrics.flush();

    // Assess
    expect(out.lines).toHaveLength(1);
  });

  it('never puts more than 100 latency values in one document', () => {
    // Prepare
    const out = recorder();
    const metrics = createMetrics({ write: out.write, clock: () => NOW });

    // Act
    for (let i = 0; i < MAX_VALUES_PER_DOCUMENT + 50; i++) {
      metrics.recordDecision({ verdict: 'pass', reason: 'triplet-found', latencyMs: i });
    }
    const beforeFlush = out.lines.length;
    metrics.flush();

    // Assess
    expect(beforeFlush).toBe(1);
    const docs = out.lines.map(parseEmf);
    expect(docs.map((d) => d.Decisions)).toEqual([100, 50]);
    expect(docs.map((d) => (d.DecisionLatency as number[]).length)).toEqual([100, 50]);
  });

  it('counts a decision with an impossible latency but does not publish the latency', () => {
    // Prepare
    const out = recorder();
    const metrics = createMetrics({ write: out.write, clock: () => NOW });

    // Act
    metrics.recordDecision({ verdict: 'greylist', reason: 'early-retry', latencyMs: -5 });
    metrics.recordDecision({ verdict: 'greylist', reason: 'early-retry', latencyMs: Number.NaN });
    metrics.flush();

    // Assess
    const doc = parseEmf(out.lines[0] ?? '');
    expect(doc.Decisions).toBe(2);
    expect(doc).not.toHaveProperty('DecisionLatency');
    expect(doc._aws.CloudWatchMetrics.flatMap((d) => d.Metrics.map((m) => m.Name))).toEqual(['Decisions']);
  });
});
