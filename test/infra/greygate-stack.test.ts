// The synthesized CloudFormation template, checked the way an operator reviewing the deployment
// would: what is stored where, what the function may do, how it is reached, what pages whom.
// Synthesis is offline (no credentials, no Docker); the Lambda bundle is built once per file.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Token } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { buildSync } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lambdaEsbuildOptions, REPO_ROOT } from '../../build/bundle-options.ts';
import { parseLambdaConfig } from '../../functions/config/lambda-config.ts';
import { readGreygateContext } from '../../infra/lib/greygate-context.ts';
import { GreygateStack } from '../../infra/lib/greygate-stack.ts';
import { lambdaBundleDir } from '../../infra/lib/lambda-asset.ts';

const TOKEN_A = 'a1'.repeat(32);
const TOKEN_B = 'b2'.repeat(32);

/** What an operator passes with -c on the command line: all strings. */
const CONTEXT = {
  'greygate:tokenSha256': `${TOKEN_A},${TOKEN_B}`,
  'greygate:delay': '120',
  'greygate:maxAge': '20',
  'greygate:retryWindow': '12h',
  'greygate:autoWhitelistClients': '3',
  'greygate:greylistAction': '451',
  'greygate:greylistText': 'Greylisted by example.org, come back in %s seconds',
  'greygate:xGreylistHeader': 'X-Greylist: delayed %t seconds at %h',
  'greygate:ipv6cidr': '56',
  'greygate:logRetentionDays': '14',
  'greygate:metricsNamespace': 'Greygate/test',
  'greygate:alarmEmail': 'postmaster@example.org',
};

/** The recommended feature flags the real app runs with (cdk.json), so the tests see the same template. */
const FEATURE_FLAGS = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

interface CfnResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown }>;
}
interface Synthesized {
  app: App;
  stack: GreygateStack;
  template: Template;
  json: CfnTemplate;
}

// Every cloud assembly of this file goes under one temp directory, removed at the end.
const OUT_ROOT = mkdtempSync(join(tmpdir(), 'greygate-cdk-test-'));
afterAll(() => rmSync(OUT_ROOT, { recursive: true, force: true }));

function synth(context: Record<string, unknown>): Synthesized {
  const app = new App({ context: { ...FEATURE_FLAGS, ...context }, outdir: mkdtempSync(join(OUT_ROOT, 'out-')) });
  const stack = new GreygateStack(app, 'Greygate', { settings: readGreygateContext(app.node) });
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as CfnTemplate };
}

/**
 * The shared settings applied to lambda.ts by esbuild directly, independently of the stack: each
 * output file (index.mjs, chunks/…) by its path in the asset.
 */
function referenceBundle(): Map<string, Buffer> {
  const outdir = join(OUT_ROOT, 'reference');
  const result = buildSync({
    ...lambdaEsbuildOptions(),
    entryPoints: [{ in: join(REPO_ROOT, 'functions/runtime/lambda.ts'), out: 'index' }],
    outdir,
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    absWorkingDir: REPO_ROOT,
    write: false,
    metafile: false,
  });
  return new Map(result.outputFiles.map((f) => [relative(outdir, f.path), Buffer.from(f.contents)]));
}

/** Every file below `dir`, by its path relative to it. */
function filesBelow(dir: string): Map<string, Buffer> {
  const files = readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
  return new Map(files.map((e) => [relative(dir, join(e.parentPath, e.name)), readFileSync(join(e.parentPath, e.name))]));
}

// The stack's bundle (built once per process) and the reference are built back to back, before
// the synthesis, so that a colleague saving a source file meanwhile (one shared checkout) has
// the smallest window to make them differ.
let main: (Synthesized & { reference: Map<string, Buffer> }) | undefined;
function mainStack(): Synthesized & { reference: Map<string, Buffer> } {
  if (!main) {
    lambdaBundleDir();
    const reference = referenceBundle();
    main = { ...synth(CONTEXT), reference };
  }
  return main;
}

// A second deployment shape, shared by two tests to keep the file quick: privacy off, no token.
let bare: Synthesized | undefined;
const bareStack = (): Synthesized => (bare ??= synth({ 'greygate:privacy': 'false' }));

function only(json: CfnTemplate, type: string): [string, CfnResource] {
  const found = Object.entries(json.Resources).filter(([, r]) => r.Type === type);
  expect(found, `exactly one ${type}`).toHaveLength(1);
  return found[0] as [string, CfnResource];
}

function props(resource: CfnResource): Record<string, unknown> {
  return resource.Properties ?? {};
}

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

function statements(json: CfnTemplate): Statement[] {
  return Object.values(json.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Policy')
    .flatMap((r) => (props(r).PolicyDocument as { Statement: Statement[] }).Statement);
}

const asList = (value: string | string[]): string[] => (Array.isArray(value) ? value : [value]);

// lib-dynamodb's document commands and the DynamoDB action each one calls.
const DOCUMENT_COMMAND_ACTIONS: Record<string, string> = {
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
  Delete: 'DeleteItem',
  Query: 'Query',
  Scan: 'Scan',
  BatchGet: 'BatchGetItem',
  BatchWrite: 'BatchWriteItem',
  TransactGet: 'TransactGetItems',
  TransactWrite: 'TransactWriteItems',
};

/**
 * The IAM actions the adapter's code sends, read from its modules (functions/store/dynamodb-*.ts):
 * `new XxxCommand(` → dynamodb:Xxx. dynamodb-table.ts is `greygate create-table`'s, not the
 * function's: the stack owns the table.
 */
function adapterActions(): string[] {
  const dir = join(REPO_ROOT, 'functions/store');
  const modules = readdirSync(dir).filter((name) => /^dynamodb-.*\.ts$/.test(name) && name !== 'dynamodb-table.ts');
  const source = modules.map((name) => readFileSync(join(dir, name), 'utf8')).join('\n');
  const names = [...source.matchAll(/\bnew\s+([A-Z][A-Za-z]*)Command\s*\(/g)].map((m) => m[1] ?? '');
  expect(names.length, 'the adapter sends at least one command').toBeGreaterThan(0);
  return [...new Set(names.map((name) => `dynamodb:${DOCUMENT_COMMAND_ACTIONS[name] ?? name}`))].sort();
}

interface AlarmMetric {
  namespace: unknown;
  name: unknown;
  dimensions: Record<string, unknown>;
  stat: unknown;
}

/** The metrics an alarm watches, whether CloudFormation holds them flat or as a Metrics list. */
function alarmMetrics(alarm: Record<string, unknown>): AlarmMetric[] {
  const dims = (list: unknown): Record<string, unknown> =>
    Object.fromEntries(((list as { Name: string; Value: unknown }[] | undefined) ?? []).map((d) => [d.Name, d.Value]));
  if (alarm.MetricName !== undefined) {
    return [{ namespace: alarm.Namespace, name: alarm.MetricName, dimensions: dims(alarm.Dimensions), stat: alarm.Statistic ?? alarm.ExtendedStatistic }];
  }
  type Query = { MetricStat?: { Metric: { Namespace: unknown; MetricName: unknown; Dimensions?: unknown }; Stat: unknown } };
  return ((alarm.Metrics as Query[] | undefined) ?? [])
    .filter((q) => q.MetricStat !== undefined)
    .map((q) => ({
      namespace: q.MetricStat?.Metric.Namespace,
      name: q.MetricStat?.Metric.MetricName,
      dimensions: dims(q.MetricStat?.Metric.Dimensions),
      stat: q.MetricStat?.Stat,
    }));
}

/** A Fn::Join of strings and references, with each reference replaced by a placeholder. */
function joined(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (!join) throw new Error(`not a string or Fn::Join: ${JSON.stringify(value)}`);
  return join[1].map((part) => (typeof part === 'string' ? part : 'REF')).join(join[0]);
}

describe('greygate stack', () => {
  // Two esbuild runs and a synthesis: slow on a busy machine, so not inside the first test's budget.
  beforeAll(() => {
    mainStack();
  }, 120_000);

  it('keeps the greylist in one on-demand table keyed by pk with TTL on expires_at, PITR, deletion protection, retained on delete', () => {
    // Act
    const { template, json } = mainStack();

    // Assess
    const [, table] = only(json, 'AWS::DynamoDB::Table');
    expect(props(table)).toMatchObject({
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
      TimeToLiveSpecification: { AttributeName: 'expires_at', Enabled: true },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      DeletionProtectionEnabled: true,
    });
    expect(props(table).TableName).toBeUndefined();
    template.hasResource('AWS::DynamoDB::Table', { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' });
  });

  it('runs the function on nodejs22.x, arm64, 1024 MB, 5 s, logging to its own group with the chosen retention', () => {
    // Act
    const { json } = mainStack();

    // Assess
    const [logGroupId, logGroup] = only(json, 'AWS::Logs::LogGroup');
    const [, fn] = only(json, 'AWS::Lambda::Function');
    expect(props(fn)).toMatchObject({
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 1024,
      Timeout: 5,
      LoggingConfig: { LogGroup: { Ref: logGroupId } },
    });
    expect(props(logGroup).RetentionInDays).toBe(14);
  });

  it('configures the function with GREYGATE_* variables from the context values', () => {
    // Act
    const { json } = mainStack();

    // Assess
    const [tableId] = only(json, 'AWS::DynamoDB::Table');
    const [secretId] = only(json, 'AWS::SecretsManager::Secret');
    const [, fn] = only(json, 'AWS::Lambda::Function');
    expect((props(fn).Environment as { Variables: unknown }).Variables).toEqual({
      GREYGATE_TABLE: { Ref: tableId },
      GREYGATE_TOKEN_SHA256: `${TOKEN_A},${TOKEN_B}`,
      GREYGATE_DELAY: '120',
      GREYGATE_MAX_AGE: '20',
      GREYGATE_RETRY_WINDOW: '12h',
      GREYGATE_AUTO_WHITELIST_CLIENTS: '3',
      GREYGATE_GREYLIST_ACTION: '451',
      GREYGATE_GREYLIST_TEXT: 'Greylisted by example.org, come back in %s seconds',
      GREYGATE_X_GREYLIST_HEADER: 'X-Greylist: delayed %t seconds at %h',
      GREYGATE_IPV6CIDR: '56',
      GREYGATE_PRIVACY: 'true',
      GREYGATE_PRIVACY_KEY: { 'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']] },
      GREYGATE_METRICS_NAMESPACE: 'Greygate/test',
    });
  });

  it('gives the function an environment that its own configuration parser accepts with the same meaning', () => {
    // Prepare: CloudFormation replaces the table reference and the secret's dynamic reference.
    const { json } = mainStack();
    const [, fn] = only(json, 'AWS::Lambda::Function');
    const variables = (props(fn).Environment as { Variables: Record<string, unknown> }).Variables;
    const deployed: Record<string, string> = { AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'Greygate-Decisions' };
    for (const [name, value] of Object.entries(variables)) deployed[name] = typeof value === 'string' ? value : 'REF';
    deployed.GREYGATE_TABLE = 'Greygate-GreylistTable-1ABC';
    deployed.GREYGATE_PRIVACY_KEY = '0123456789abcdef'.repeat(4);

    // Act
    const config = parseLambdaConfig(deployed);

    // Assess
    expect(config.table).toBe('Greygate-GreylistTable-1ABC');
    expect(config.tokenSha256).toEqual([TOKEN_A, TOKEN_B]);
    expect(config.privacyKeyHex).toBe('0123456789abcdef'.repeat(4));
    expect(config.policy).toMatchObject({
      delaySeconds: 120,
      maxAgeDays: 20,
      retryWindowSeconds: 12 * 3600,
      autoWhitelistClients: 3,
      greylistAction: '451',
      greylistText: 'Greylisted by example.org, come back in %s seconds',
      xGreylistHeader: 'X-Greylist: delayed %t seconds at %h',
      ipv6Cidr: 56,
      lookupByHost: false,
    });
  });

  it('generates a 64-hex-digit privacy key in Secrets Manager, retains it, and needs no runtime permission to read it', () => {
    // Act
    const { json } = mainStack();

    // Assess
    const [, secret] = only(json, 'AWS::SecretsManager::Secret');
    expect(secret.DeletionPolicy).toBe('Retain');
    const generate = props(secret).GenerateSecretString as {
      PasswordLength: number;
      ExcludeCharacters?: string;
      ExcludeUppercase?: boolean;
      ExcludePunctuation?: boolean;
      ExcludeNumbers?: boolean;
      ExcludeLowercase?: boolean;
      IncludeSpace?: boolean;
    };
    expect(generate.PasswordLength).toBe(64);
    // The alphabet Secrets Manager draws from, after the exclusions: must be exactly hex.
    const alphabet = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~ ']
      .filter((c) => !(generate.ExcludeCharacters ?? '').includes(c))
      .filter((c) => !(generate.ExcludeUppercase && /[A-Z]/.test(c)))
      .filter((c) => !(generate.ExcludeLowercase && /[a-z]/.test(c)))
      .filter((c) => !(generate.ExcludeNumbers && /[0-9]/.test(c)))
      .filter((c) => !(generate.ExcludePunctuation && /[^A-Za-z0-9 ]/.test(c)))
      .filter((c) => !(c === ' ' && !generate.IncludeSpace))
      .join('');
    expect(alphabet).toBe('abcdef0123456789');
    expect(statements(json).flatMap((s) => asList(s.Action)).filter((a) => a.startsWith('secretsmanager:') || a.startsWith('kms:'))).toEqual([]);
  });

  it('creates no secret and tells the function so when privacy is turned off', () => {
    // Act
    const { template, json } = bareStack();

    // Assess
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    const [, fn] = only(json, 'AWS::Lambda::Function');
    const variables = (props(fn).Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables.GREYGATE_PRIVACY).toBe('false');
    expect(variables).not.toHaveProperty('GREYGATE_PRIVACY_KEY');
  });

  it('lets the role do exactly the DynamoDB actions the adapter sends, on the table ARN only', () => {
    // Prepare
    const expected = adapterActions();
    const { json } = mainStack();
    const [tableId] = only(json, 'AWS::DynamoDB::Table');

    // Act
    const dynamo = statements(json).filter((s) => asList(s.Action).some((a) => a.startsWith('dynamodb:')));

    // Assess
    expect(dynamo).toHaveLength(1);
    expect(asList(dynamo[0]?.Action ?? []).sort()).toEqual(expected);
    expect(dynamo[0]?.Resource).toEqual({ 'Fn::GetAtt': [tableId, 'Arn'] });
  });

  it('grants nothing on "*": only the table and the function\'s own log group, and no managed policy', () => {
    // Act
    const { json } = mainStack();

    // Assess
    const [tableId] = only(json, 'AWS::DynamoDB::Table');
    const [logGroupId] = only(json, 'AWS::Logs::LogGroup');
    const [, role] = only(json, 'AWS::IAM::Role');
    expect(props(role).ManagedPolicyArns).toBeUndefined();
    expect(props(role).Policies).toBeUndefined();
    const all = statements(json);
    expect(all.map((s) => s.Resource)).not.toContainEqual('*');
    expect(all.every((s) => s.Effect === 'Allow')).toBe(true);
    expect(new Set(all.map((s) => JSON.stringify(s.Resource)))).toEqual(
      new Set([JSON.stringify({ 'Fn::GetAtt': [tableId, 'Arn'] }), JSON.stringify({ 'Fn::GetAtt': [logGroupId, 'Arn'] })]),
    );
  });

  it('is reached through a Function URL (bearer token checked by the app) and outputs the URL and the table name', () => {
    // Act
    const { template, json } = mainStack();

    // Assess
    const [urlId, url] = only(json, 'AWS::Lambda::Url');
    const [fnId] = only(json, 'AWS::Lambda::Function');
    const [tableId] = only(json, 'AWS::DynamoDB::Table');
    expect(props(url)).toMatchObject({ AuthType: 'NONE', TargetFunctionArn: { 'Fn::GetAtt': [fnId, 'Arn'] } });
    expect(props(url).Cors).toBeUndefined();
    template.hasResourceProperties('AWS::Lambda::Permission', { Action: 'lambda:InvokeFunctionUrl', FunctionUrlAuthType: 'NONE', Principal: '*' });
    expect(json.Outputs?.ApiUrl?.Value).toEqual({ 'Fn::GetAtt': [urlId, 'FunctionUrl'] });
    expect(json.Outputs?.TableName?.Value).toEqual({ Ref: tableId });
  });

  it('alarms on function errors, throttles, DynamoDB throttling, store-unavailable answers and p99 latency, all to one topic', () => {
    // Prepare
    const { template, json } = mainStack();
    const [fnId] = only(json, 'AWS::Lambda::Function');
    const [tableId] = only(json, 'AWS::DynamoDB::Table');
    const [topicId] = only(json, 'AWS::SNS::Topic');

    // Act
    const alarms = Object.values(json.Resources)
      .filter((r) => r.Type === 'AWS::CloudWatch::Alarm')
      .map((r) => ({ props: props(r), metrics: alarmMetrics(props(r)) }));
    const find = (name: string) => alarms.filter((a) => a.metrics.some((m) => m.name === name));

    // Assess
    expect(alarms).toHaveLength(5);
    for (const alarm of alarms) {
      expect(alarm.props.AlarmActions).toEqual([{ Ref: topicId }]);
      expect(alarm.props.OKActions).toEqual([{ Ref: topicId }]);
      expect(alarm.props.TreatMissingData).toBe('notBreaching');
      expect(alarm.props.AlarmDescription).toMatch(/^greygate: /);
    }
    const fnDims = { FunctionName: { Ref: fnId } };
    expect(find('Errors')[0]?.metrics).toEqual([{ namespace: 'AWS/Lambda', name: 'Errors', dimensions: fnDims, stat: 'Sum' }]);
    expect(find('Errors')[0]?.props.Threshold).toBe(1);
    expect(find('Throttles')[0]?.metrics).toEqual([{ namespace: 'AWS/Lambda', name: 'Throttles', dimensions: fnDims, stat: 'Sum' }]);
    const tableThrottles = find('ThrottledRequests')[0];
    expect(tableThrottles?.metrics.map((m) => m.dimensions.Operation).sort()).toEqual(adapterActions().map((a) => a.replace('dynamodb:', '')));
    expect(tableThrottles?.metrics.every((m) => m.namespace === 'AWS/DynamoDB' && JSON.stringify(m.dimensions.TableName) === JSON.stringify({ Ref: tableId }))).toBe(true);
    expect(find('StoreErrors')[0]?.metrics).toEqual([
      { namespace: 'Greygate/test', name: 'StoreErrors', dimensions: { Code: 'store-unavailable' }, stat: 'Sum' },
    ]);
    expect(find('Duration')[0]?.metrics).toEqual([{ namespace: 'AWS/Lambda', name: 'Duration', dimensions: fnDims, stat: 'p99' }]);
    expect(find('Duration')[0]?.props).toMatchObject({ Threshold: 1000, EvaluationPeriods: 3, DatapointsToAlarm: 3 });
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'postmaster@example.org', TopicArn: { Ref: topicId } });
  });

  it('has a dashboard whose first widget graphs greylisted vs passed decisions over time', () => {
    // Prepare
    const { json } = mainStack();
    const [, dashboard] = only(json, 'AWS::CloudWatch::Dashboard');

    // Act
    const body = JSON.parse(joined(props(dashboard).DashboardBody)) as {
      widgets: { type: string; properties: { title?: string; view?: string; metrics?: unknown[][]; alarms?: unknown[] } }[];
    };

    // Assess
    const first = body.widgets[0];
    expect(first?.type).toBe('metric');
    expect(first?.properties.title).toBe('Decisions: greylisted vs passed');
    expect(first?.properties.view).toBe('timeSeries');
    expect(first?.properties.metrics).toEqual([
      ['Greygate/test', 'Decisions', 'Verdict', 'greylist', expect.objectContaining({ label: 'greylisted', stat: 'Sum' })],
      ['Greygate/test', 'Decisions', 'Verdict', 'pass', expect.objectContaining({ label: 'passed', stat: 'Sum' })],
    ]);
    expect(body.widgets.find((w) => w.type === 'alarm')?.properties.alarms).toHaveLength(5);
  });

  it('warns at synth time when no token hash is configured (the function would refuse every request)', () => {
    // Act
    const { stack, template } = bareStack();

    // Assess
    Annotations.fromStack(stack).hasWarning('/Greygate/Default', Match.stringLikeRegexp('no greygate:tokenSha256'));
    template.resourceCountIs('AWS::Lambda::Function', 1);
    expect(Annotations.fromStack(mainStack().stack).findWarning('*', Match.stringLikeRegexp('tokenSha256'))).toEqual([]);
  });

  it('is environment-agnostic: no account, no region, no lookups in the template', () => {
    // Act
    const { stack, json } = mainStack();

    // Assess
    expect(Token.isUnresolved(stack.account)).toBe(true);
    expect(Token.isUnresolved(stack.region)).toBe(true);
    const text = JSON.stringify(json);
    expect(text).not.toMatch(/\b(us|eu|ap|sa|ca|me|af|il|mx)-(north|south|east|west|central|northeast|southeast)-\d\b/);
    expect(text).not.toMatch(/\b\d{12}\b/);
  });

  it('packages functions/runtime/lambda.ts built with the shared bundle settings, as index.mjs exporting handler and its chunks', () => {
    // Prepare
    const { app, json, reference } = mainStack();
    const [, fn] = only(json, 'AWS::Lambda::Function');
    const key = (props(fn).Code as { S3Key: string }).S3Key;
    const assetDir = join(app.synth().directory, `asset.${key.replace(/\.zip$/, '')}`);

    // Act
    const imported = spawnSync(
      process.execPath,
      ['--input-type=module', '-e', `const m = await import(${JSON.stringify(pathToFileURL(join(assetDir, 'index.mjs')).href)}); console.log(typeof m.handler);`],
      { encoding: 'utf8', timeout: 20_000, env: { PATH: process.env.PATH ?? '' } },
    );

    // Assess
    const asset = filesBelow(assetDir);
    expect([...asset.keys()].sort()).toEqual([...reference.keys()].sort());
    expect(asset.has('index.mjs')).toBe(true);
    for (const [path, bytes] of reference) {
      expect(asset.get(path)?.equals(bytes), `${path}: the asset is esbuild(lambda.ts, shared options)`).toBe(true);
    }
    expect(imported.stderr, 'importing the bundle in a bare Node process').toBe('');
    expect(imported.stdout.trim()).toBe('function');
  });
});
