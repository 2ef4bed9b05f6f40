// `--preset=recommended`: one switch for the configuration the effectiveness bench measures best,
// printed in full by `--print-config`, with every option an admin gives winning over it — in serve,
// in the Lambda's environment and in the CDK context alike.

import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { parseLambdaConfig } from '../../functions/config/lambda-config.ts';
import { PRESETS } from '../../functions/config/presets.ts';
import { parseServeConfig } from '../../functions/config/serve-config.ts';
import { settingsEnvironment } from '../../infra/lib/function-environment.ts';
import { parseGreygateContext } from '../../infra/lib/greygate-context.ts';

const RECOMMENDED_WEIGHTS = { 'no-verified-name': 0, 'helo-ip-literal': 1, 'helo-localhost': 1, 'helo-bare-word': 1, 'helo-other-org': 1 };

describe('--preset=recommended', () => {
  it('turns on organisation identity and whitelisting, and score mode with the HELO signals weighed', () => {
    const { config } = parseServeConfig(['--preset=recommended']);
    expect(config.policy.clientIdentity).toBe('org');
    expect(config.policy.autoWhitelistOrgs).toBe(5);
    expect(config.selective.mode).toBe('score');
    expect(config.selective.signalWeights).toEqual(RECOMMENDED_WEIGHTS);
  });

  it('leaves Postgrey\'s defaults alone without it, or with --preset none', () => {
    for (const argv of [[], ['--preset', 'none']]) {
      const { config } = parseServeConfig(argv);
      expect(config.policy.clientIdentity).toBe('net');
      expect(config.policy.autoWhitelistOrgs).toBe(0);
      expect(config.selective.mode).toBe('off');
    }
  });

  it('gives way to every option the admin sets, by flag or by variable', () => {
    const byFlag = parseServeConfig(['--preset=recommended', '--selective', 's25r']).config;
    expect(byFlag.selective.mode).toBe('s25r');
    expect(byFlag.policy.clientIdentity).toBe('org');
    const byVariable = parseServeConfig([], { GREYGATE_PRESET: 'recommended', GREYGATE_CLIENT_IDENTITY: 'net', GREYGATE_SIGNAL_WEIGHT: 'helo-bare-word=3' }).config;
    expect(byVariable.policy.clientIdentity).toBe('net');
    expect(byVariable.selective.signalWeights).toEqual({ ...RECOMMENDED_WEIGHTS, 'helo-ip-literal': 0, 'helo-localhost': 0, 'helo-other-org': 0, 'helo-bare-word': 3 });
  });

  it('refuses a preset it does not know, naming the choices', () => {
    expect(() => parseServeConfig(['--preset', 'fast'])).toThrow(/--preset.*none or recommended/);
  });

  it('is printed in full, with where each value came from, by greygate serve --print-config', () => {
    const run = spawnSync(process.execPath, ['--import', 'tsx', 'functions/runtime/cli.ts', 'serve', '--preset=recommended', '--delay', '60', '--print-config'], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines).toContain('GREYGATE_DELAY=60'.padEnd(48) + '  # --delay');
    expect(lines).toContain('GREYGATE_CLIENT_IDENTITY=org'.padEnd(48) + '  # --preset=recommended');
    expect(lines).toContain('GREYGATE_SELECTIVE=score'.padEnd(48) + '  # --preset=recommended');
    expect(lines).toContain(`GREYGATE_SIGNAL_WEIGHT=${PRESETS.recommended['signal-weight']?.join(',')}  # --preset=recommended`);
    expect(lines).toContain('# GREYGATE_MAX_AGE=35');
  });

  it('configures the Lambda from GREYGATE_PRESET, and the stack from greygate:preset', () => {
    const env = { GREYGATE_TABLE: 't', GREYGATE_TOKEN_SHA256: 'a'.repeat(64), GREYGATE_PRIVACY: 'false', AWS_REGION: 'eu-west-1', GREYGATE_PRESET: 'recommended' };
    const lambda = parseLambdaConfig(env);
    expect(lambda.policy.clientIdentity).toBe('org');
    expect(lambda.selective.signalWeights).toEqual(RECOMMENDED_WEIGHTS);
    const settings = parseGreygateContext({ 'greygate:tokenSha256': 'a'.repeat(64), 'greygate:preset': 'recommended' });
    expect(settingsEnvironment(settings)).toMatchObject({ GREYGATE_PRESET: 'recommended' });
  });
});
