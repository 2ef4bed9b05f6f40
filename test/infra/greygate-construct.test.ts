// The exported construct, used as a CDK user would: twice in one stack of their own, with
// different settings. Both must synthesize side by side with nothing colliding.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../build/bundle-options.ts';
import { DEFAULT_SETTINGS, Greygate, type GreygateSettings } from '../../infra/lib/index.ts';

const FEATURE_FLAGS = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;
const OUT = mkdtempSync(join(tmpdir(), 'greygate-construct-test-'));
afterAll(() => rmSync(OUT, { recursive: true, force: true }));

const mx: GreygateSettings = { ...DEFAULT_SETTINGS, policy: { delaySeconds: 60 }, tokenSha256: ['a1'.repeat(32)], metricsNamespace: 'Greygate/mx' };
const relay: GreygateSettings = {
  ...DEFAULT_SETTINGS,
  privacy: false,
  policy: { delaySeconds: 600, selective: 's25r' },
  tokenSha256: ['b2'.repeat(32)],
  metricsNamespace: 'Greygate/relay',
  logRetentionDays: 7,
};

function twoInOneStack(): Template {
  const app = new App({ context: FEATURE_FLAGS, outdir: OUT });
  const stack = new Stack(app, 'MailPlatform');
  new Greygate(stack, 'Mx', { settings: mx });
  new Greygate(stack, 'Relay', { settings: relay });
  return Template.fromStack(stack);
}

describe('Greygate construct', () => {
  it('goes twice into one stack with different settings: two tables, functions, URLs, dashboards, output sets', () => {
    const template = twoInOneStack();
    template.resourceCountIs('AWS::DynamoDB::Table', 2);
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.resourceCountIs('AWS::Lambda::Url', 2);
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);

    const functions = Object.values(template.findResources('AWS::Lambda::Function')) as Array<{ Properties: { Environment: { Variables: Record<string, unknown> } } }>;
    expect(functions.map((f) => f.Properties.Environment.Variables.GREYGATE_DELAY).sort()).toEqual(['60', '600']);

    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard')) as Array<{ Properties: { DashboardName: unknown } }>;
    const names = dashboards.map((d) => JSON.stringify(d.Properties.DashboardName));
    expect(names).toHaveLength(2);
    expect(new Set(names).size).toBe(2);
    expect(names.some((n) => n.includes('MailPlatform-Mx-'))).toBe(true);
    expect(names.some((n) => n.includes('MailPlatform-Relay-'))).toBe(true);

    const outputs = Object.keys(template.toJSON().Outputs as Record<string, unknown>);
    expect(outputs.filter((o) => o.startsWith('MxApiUrl'))).toHaveLength(1);
    expect(outputs.filter((o) => o.startsWith('RelayApiUrl'))).toHaveLength(1);
    // Privacy is on for Mx only, so only Mx outputs a secret.
    expect(outputs.filter((o) => o.includes('PrivacyKeySecretArn')).map((o) => o.slice(0, 2))).toEqual(['Mx']);
  }, 60_000);

  it('refuses bad settings given in code with the message the context would get', () => {
    const stack = new Stack(new App({ context: FEATURE_FLAGS, outdir: OUT }), 'Bad');
    expect(() => new Greygate(stack, 'Mx', { settings: { ...mx, logRetentionDays: 8 } })).toThrow(/greygate:logRetentionDays: 8 is not a CloudWatch retention/);
  });
});
