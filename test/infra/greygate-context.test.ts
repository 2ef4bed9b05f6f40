import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GreygateContextError, parseGreygateContext } from '../../infra/lib/greygate-context.ts';
import { settingsEnvironment } from '../../infra/lib/function-environment.ts';

const TOKEN = 'c0ffee'.repeat(10) + 'c0ff';

function contextError(context: Record<string, unknown>): GreygateContextError {
  try {
    parseGreygateContext(context);
  } catch (err) {
    if (err instanceof GreygateContextError) return err;
    throw err;
  }
  throw new Error('expected a GreygateContextError');
}

describe('greygate CDK context', () => {
  it('turns command-line strings into typed settings', () => {
    // Prepare
    const context = {
      'greygate:tokenSha256': ` ${TOKEN.toUpperCase()} , ${'1'.repeat(64)} `,
      'greygate:delay': '120',
      'greygate:maxAge': '20',
      'greygate:retryWindow': '12h',
      'greygate:autoWhitelistClients': '0',
      'greygate:greylistAction': '451',
      'greygate:lookupByHost': 'true',
      'greygate:privacy': 'false',
      'greygate:logRetentionDays': '90',
      'greygate:metricsNamespace': 'Greygate/prod',
      'some-other-tool:key': 'ignored',
    };

    // Act
    const settings = parseGreygateContext(context);

    // Assess
    expect(settings).toEqual({
      policy: {
        delaySeconds: 120,
        maxAgeDays: 20,
        retryWindowHours: 12,
        autoWhitelistClients: 0,
        greylistAction: '451',
        lookupByHost: true,
      },
      tokenSha256: [TOKEN, '1'.repeat(64)],
      privacy: false,
      logRetentionDays: 90,
      metricsNamespace: 'Greygate/prod',
    });
  });

  it('carries the selective-greylisting settings to the function, checked like the runtime checks them', () => {
    // Prepare
    const base = { 'greygate:tokenSha256': TOKEN };

    // Act
    const settings = parseGreygateContext({ ...base, 'greygate:selective': 'score', 'greygate:dnsbl': 'zen.example=2', 'greygate:greylistScore': '2' });

    // Assess
    expect(settings.policy).toEqual({ selective: 'score', dnsbl: 'zen.example=2', greylistScore: 2 });
    expect(() => parseGreygateContext({ ...base, 'greygate:selective': 'sometimes' })).toThrow(/greygate:selective/);
  });

  it('accepts cdk.json JSON values (numbers, booleans, arrays) as well', () => {
    // Prepare
    const context = {
      'greygate:tokenSha256': [TOKEN],
      'greygate:delay': 60,
      'greygate:retryWindow': 2,
      'greygate:greylistAction': 451,
      'greygate:privacy': true,
    };

    // Act
    const settings = parseGreygateContext(context);

    // Assess
    expect(settings.policy).toEqual({ delaySeconds: 60, retryWindowHours: 48, greylistAction: '451' });
    expect(settings.tokenSha256).toEqual([TOKEN]);
    expect(settings.privacy).toBe(true);
  });

  it('defaults to privacy on, 30 days of logs and the Greygate namespace, leaving policy to the runtime', () => {
    // Act
    const settings = parseGreygateContext({});

    // Assess
    expect(settings).toEqual({ policy: {}, tokenSha256: [], privacy: true, logRetentionDays: 30, metricsNamespace: 'Greygate' });
    expect(settingsEnvironment(settings)).toEqual({ GREYGATE_PRIVACY: 'true' });
  });

  it.each([
    [{ 'greygate:delay': 'soon' }, /^greygate:delay: expected a whole number, got "soon"/],
    [{ 'greygate:delay': -5 }, /^greygate:delay: expected a whole number/],
    [{ 'greygate:maxAge': '0' }, /^greygate:maxAge: 0 is out of range; expected days/],
    [{ 'greygate:ipv4cidr': '33' }, /^greygate:ipv4cidr: 33 is out of range/],
    [{ 'greygate:retryWindow': '2w' }, /^greygate:retryWindow: "2w" is not valid; expected N \(days\) or Nh \(hours\)/],
    [{ 'greygate:greylistAction': 'DEFER IF PERMIT' }, /^greygate:greylistAction: .*expected one word/],
    [{ 'greygate:greylistText': 'two\nlines' }, /^greygate:greylistText: the text must be a single line/],
    [{ 'greygate:tokenSha256': 'secret-token' }, /^greygate:tokenSha256: "secret-token" is not a SHA-256 hex digest/],
    [{ 'greygate:privacy': 'maybe' }, /^greygate:privacy: expected true or false/],
    [{ 'greygate:logRetentionDays': '31' }, /^greygate:logRetentionDays: 31 is not a CloudWatch retention; expected one of 1, 3, 5, 7, 14, 30/],
    [{ 'greygate:metricsNamespace': 'AWS/Lambda' }, /^greygate:metricsNamespace: "AWS\/Lambda" is not a CloudWatch namespace/],
    [{ 'greygate:alarmEmail': 'postmaster' }, /^greygate:alarmEmail: "postmaster" is not an e-mail address/],
    [{ 'greygate:maxage': '20' }, /^greygate:maxage: unknown context key; did you mean greygate:maxAge\?/],
  ])('refuses %j with a message naming the context key', (context, message) => {
    // Act
    const err = contextError(context);

    // Assess
    expect(err.message).toMatch(message);
    expect(err.message).not.toMatch(/GREYGATE_/);
    expect(err.code).toBe('greygate-context');
  });

  it('stops the CDK app with the message alone (no stack trace) when a context value is bad', () => {
    // Prepare: the CLI hands context to the app in CDK_CONTEXT_JSON.
    const env: NodeJS.ProcessEnv = { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ 'greygate:delay': 'soon' }) };
    delete env.CDK_OUTDIR;

    // Act
    const run = spawnSync(process.execPath, ['--import', 'tsx', join('infra', 'bin', 'greygate.ts')], { env, encoding: 'utf8', timeout: 30_000 });

    // Assess
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toMatch(/^greygate: greygate:delay: expected a whole number, got "soon" \(set it with -c greygate:delay=VALUE/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });
});
