// The option table is the one truth about options: what each runtime accepts and refuses, what
// `--help` prints and what the docs' tables say all come from it, so they cannot drift apart.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { OPTION_DOCS } from '../../build/docs-options.ts';
import { REPO_ROOT } from '../../build/bundle-options.ts';
import { parseBridgeConfig } from '../../bridge/bridge-config.ts';
import { BRIDGE_HELP } from '../../bridge/bridge-help.ts';
import { parseLambdaConfig } from '../../functions/config/lambda-config.ts';
import { DOC_TABLE_MARKER, regenerateDocTables, renderDocTable } from '../../functions/config/option-help.ts';
import { OPTION_ROWS, OPTIONS } from '../../functions/config/option-table.ts';
import { parseServeConfig } from '../../functions/config/serve-config.ts';
import { policyPropsWithoutOption } from '../../infra/lib/function-environment.ts';
import { CONTEXT_KEYS, parseGreygateContext } from '../../infra/lib/greygate-context.ts';
import { SERVE_HELP } from '../../functions/runtime/cli-help.ts';

const LAMBDA_ENV = {
  GREYGATE_TABLE: 'greylist',
  GREYGATE_TOKEN_SHA256: 'a'.repeat(64),
  GREYGATE_PRIVACY: 'false',
  AWS_REGION: 'eu-west-1',
};

describe('the option table', () => {
  it('names each row after its key, once, with the variable of the same name', () => {
    // Act
    const names = OPTION_ROWS.map((r) => r.name);

    // Assess
    expect(Object.entries(OPTIONS).filter(([key, row]) => key !== row.name)).toEqual([]);
    expect(new Set(names).size).toBe(names.length);
    const envs = OPTION_ROWS.flatMap((r) => (r.env ? [r.env] : []));
    expect(new Set(envs).size).toBe(envs.length);
    expect(OPTION_ROWS.filter((r) => r.env !== null && r.env !== `GREYGATE_${r.name.toUpperCase().replace(/-/g, '_')}`)).toEqual([]);
  });

  it('gives a CDK context key exactly to the rows the CDK app takes', () => {
    // Act
    const mismatched = OPTION_ROWS.filter((r) => r.runtimes.includes('cdk') !== (r.cdk !== undefined)).map((r) => r.name);

    // Assess
    expect(mismatched).toEqual([]);
    expect(CONTEXT_KEYS).toEqual(OPTION_ROWS.flatMap((r) => (r.cdk ? [r.cdk.key] : [])));
  });

  it('lists in --help every flag that serve and the bridge take', () => {
    // Prepare
    const flagged = (runtime: 'serve' | 'bridge') =>
      OPTION_ROWS.filter((r) => r.flag && r.runtimes.includes(runtime) && r.refusal === undefined).map((r) => `--${r.name}`);

    // Act
    const missingServe = flagged('serve').filter((flag) => !SERVE_HELP.includes(flag));
    const missingBridge = flagged('bridge').filter((flag) => !BRIDGE_HELP.includes(flag));

    // Assess
    expect(missingServe).toEqual([]);
    expect(missingBridge).toEqual([]);
  });

  it("lists every option a runtime takes in that runtime's docs", () => {
    // Prepare
    const docs = { serve: 'docs/configuration.md', bridge: 'docs/bridge.md', lambda: 'docs/http-api.md', cdk: 'docs/deploy.md' } as const;

    // Act
    const missing = Object.entries(docs).flatMap(([runtime, doc]) => {
      const text = readFileSync(join(REPO_ROOT, doc), 'utf8');
      return OPTION_ROWS.filter((r) => r.runtimes.includes(runtime as keyof typeof docs) && r.group !== 'meta' && r.refusal === undefined)
        .filter((r) => !text.includes(runtime === 'cdk' ? `\`${r.cdk?.key}\`` : `\`${r.env ?? `--${r.name}`}\``))
        .map((r) => `${doc}: ${r.name}`);
    });

    // Assess
    expect(missing).toEqual([]);
    expect(renderDocTable('cdk').split('\n').length).toBe(2 + OPTION_ROWS.filter((r) => r.cdk).length);
  });

  it("fills every one of the CDK stack's policy settings from a row", () => {
    expect(policyPropsWithoutOption()).toEqual([]);
  });

  it.each(OPTION_DOCS)('keeps the option tables of %s as the table writes them (npm run docs:options)', (doc) => {
    // Prepare
    const text = readFileSync(join(REPO_ROOT, doc), 'utf8');

    // Act
    const regenerated = regenerateDocTables(text);

    // Assess
    expect([...text.matchAll(DOC_TABLE_MARKER)].length).toBeGreaterThan(0);
    expect(regenerated).toBe(text);
  });
});

describe('what a runtime does not take', () => {
  it('takes the last of a repeated option, as Postgrey (Getopt::Long) does', () => {
    // Act
    const { config } = parseServeConfig(['--delay', '60', '--delay', '120', '--log-format=json', '--log-format=text']);

    // Assess
    expect(config.policy.delaySeconds).toBe(120);
    expect(config.logFormat).toBe('text');
  });

  it('refuses on the Lambda a variable only serve or the bridge reads, naming it', () => {
    // Act
    const refuse = (extra: Record<string, string>) => () => parseLambdaConfig({ ...LAMBDA_ENV, ...extra });

    // Assess
    expect(() => parseLambdaConfig(LAMBDA_ENV)).not.toThrow();
    expect(refuse({ GREYGATE_INET: '10023' })).toThrow(/^GREYGATE_INET is not used by the Lambda function \(it is an option of greygate serve and greygate-bridge\)/);
    expect(refuse({ GREYGATE_STORE: 'dynamodb' })).toThrow(/^GREYGATE_STORE is not used by the Lambda function/);
    expect(refuse({ GREYGATE_DELAYS: '60' })).toThrow(/^GREYGATE_DELAYS is not a greygate variable; did you mean GREYGATE_DELAY\?/);
  });

  it('refuses a flag or variable of another runtime in serve and in the bridge', () => {
    // Assess
    expect(() => parseServeConfig(['--timeout-ms', '500'])).toThrow(/^--timeout-ms is not an option of greygate serve \(it is one of greygate-bridge; see --help\)/);
    expect(() => parseServeConfig([], { GREYGATE_API: 'https://api.example.net' })).toThrow(/^GREYGATE_API is not used by greygate serve/);
    expect(() => parseBridgeConfig(['--api', 'https://api.example.net', '--delay', '60'], {})).toThrow(/^--delay is not an option of greygate-bridge/);
    expect(() => parseBridgeConfig(['--api', 'https://api.example.net'], { GREYGATE_MAX_AGE: '10' })).toThrow(/^GREYGATE_MAX_AGE is not used by greygate-bridge/);
  });

  it('prints --help whatever else is wrong on the line or in the environment', () => {
    // Act
    const serve = parseServeConfig(['--help', '--delay', 'soon'], { GREYGATE_API: 'https://x.example' });
    const bridge = parseBridgeConfig(['--help', '--timeout-ms', 'x'], { GREYGATE_DELAY: '5' });

    // Assess
    expect(serve.help).toBe(true);
    expect(serve.config.policy.delaySeconds).toBe(300);
    expect(bridge.help).toBe(true);
  });

  it("takes short options bundled or with their value attached, as the bridge's parseArgs did", () => {
    // Act
    const parsed = parseBridgeConfig(['--api', 'https://api.example.net', '-vq', '-i10030', '-u/run/gg.sock'], {});

    // Assess
    expect(parsed.help).toBe(false);
    if (parsed.help) return;
    expect(parsed.config).toMatchObject({ verbose: true, quiet: true });
    expect(parsed.config.listen).toEqual([
      { kind: 'inet', host: '127.0.0.1', port: 10030 },
      { kind: 'unix', path: '/run/gg.sock', mode: 0o666 },
    ]);
    expect(() => parseBridgeConfig(['--api', 'https://api.example.net', '-vx'], {})).toThrow(/unknown option -x in -vx/);
  });

  it("lets Postgrey's refused flags through when a variable turns them off, and counts a blank variable as unset", () => {
    // Act
    const serve = parseServeConfig([], { GREYGATE_DAEMONIZE: 'false', GREYGATE_DELAY: '  ' });
    const lambda = parseLambdaConfig({ ...LAMBDA_ENV, GREYGATE_WHITELIST_CLIENTS: '  ', GREYGATE_HOSTNAME: ' ', AWS_LAMBDA_FUNCTION_NAME: 'fn' });

    // Assess
    expect(serve.config.policy.delaySeconds).toBe(300);
    expect(() => parseServeConfig([], { GREYGATE_DAEMONIZE: 'true' })).toThrow(/^GREYGATE_DAEMONIZE is not supported: run greygate under systemd/);
    expect(lambda.whitelistFiles.clients).toBeNull();
    expect(lambda.policy.hostname).toBe('fn');
  });

  it('refuses a blank or padded CloudWatch namespace in the CDK context, which the alarms would watch as given', () => {
    // Assess
    expect(() => parseGreygateContext({ 'greygate:metricsNamespace': '' })).toThrow(/^greygate:metricsNamespace: "" is not a CloudWatch namespace/);
    expect(() => parseGreygateContext({ 'greygate:metricsNamespace': ' Greygate ' })).toThrow(/^greygate:metricsNamespace: " Greygate " has spaces around it/);
  });

  it('refuses a --hostname with a line break, which would reach the X-Greylist header of HTTP answers', () => {
    // Assess
    expect(() => parseServeConfig(['--hostname', 'mx.example\r\nX-Evil: 1'])).toThrow(/^--hostname: the text must be a single line/);
    expect(() => parseLambdaConfig({ ...LAMBDA_ENV, GREYGATE_HOSTNAME: 'mx\nX-Evil: 1' })).toThrow(/^GREYGATE_HOSTNAME: the text must be a single line/);
  });
});
