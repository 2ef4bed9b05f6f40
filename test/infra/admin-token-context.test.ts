// The CDK stack takes admin token hashes as it takes check token hashes: a context key, checked at
// synth time, handed to the function as GREYGATE_ADMIN_TOKEN_SHA256, which the Lambda reads.

import { describe, expect, it } from 'vitest';
import { parseLambdaConfig } from '../../functions/config/lambda-config.ts';
import { settingsEnvironment } from '../../infra/lib/function-environment.ts';
import { GreygateContextError, parseGreygateContext } from '../../infra/lib/greygate-context.ts';

const CHECK = 'c0ffee'.repeat(10) + 'c0ff';
const ADMIN_A = 'a'.repeat(64);
const ADMIN_B = 'B'.repeat(64);

describe('greygate:adminTokenSha256', () => {
  it('reaches the function environment, and the Lambda reads it', () => {
    const settings = parseGreygateContext({ 'greygate:tokenSha256': CHECK, 'greygate:adminTokenSha256': `${ADMIN_A}, ${ADMIN_B}` });
    expect(settings.adminTokenSha256).toEqual([ADMIN_A, ADMIN_B.toLowerCase()]);
    const env = settingsEnvironment(settings);
    expect(env.GREYGATE_ADMIN_TOKEN_SHA256).toBe(`${ADMIN_A},${ADMIN_B.toLowerCase()}`);
    const config = parseLambdaConfig({ ...env, GREYGATE_TABLE: 't-able', AWS_REGION: 'eu-west-1', GREYGATE_PRIVACY: 'false' });
    expect(config.adminTokenSha256).toEqual([ADMIN_A, ADMIN_B.toLowerCase()]);
  });

  it('is absent from the environment when not given, and refused when not a digest', () => {
    expect(settingsEnvironment(parseGreygateContext({ 'greygate:tokenSha256': CHECK })).GREYGATE_ADMIN_TOKEN_SHA256).toBeUndefined();
    expect(() => parseGreygateContext({ 'greygate:tokenSha256': CHECK, 'greygate:adminTokenSha256': 'plain-token' })).toThrow(GreygateContextError);
    expect(() => parseGreygateContext({ 'greygate:tokenSha256': CHECK, 'greygate:adminTokenSha256': 'plain-token' })).toThrow(/greygate:adminTokenSha256/);
  });
});
