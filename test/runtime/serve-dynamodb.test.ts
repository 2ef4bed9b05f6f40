// The fleet's store driven from a single host: `greygate create-table` then `greygate serve --store
// dynamodb` against dynalite, as an operator would try the DynamoDB path before deploying.

import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseServeConfig } from '../../functions/config/serve-config.ts';
import { startServe, type RunningServe } from '../../functions/runtime/serve.ts';
import { examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { RecordingLogger } from '../support/serve-harness.ts';
import { startDynalite, type RunningDynalite } from '../support/dynalite.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const T0 = 1_795_832_317;

let dynalite: RunningDynalite;
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterAll(async () => {
  await dynalite.stop();
});

describe('greygate serve --store dynamodb', () => {
  it('creates the table with create-table, idempotently, then greylists and passes through it', async () => {
    // Prepare
    const env = { ...process.env, AWS_ACCESS_KEY_ID: '', AWS_REGION: '', NODE_NO_WARNINGS: '1' };
    const cli = ['--import', 'tsx', join(root, 'functions/runtime/cli.ts'), 'create-table', '--table', 'greygate-test', '--dynamodb-endpoint', dynalite.endpoint];
    const created = await run(process.execPath, cli, { cwd: root, env });
    const again = await run(process.execPath, cli, { cwd: root, env });
    const { config } = parseServeConfig([
      '--store', 'dynamodb', '--table', 'greygate-test', '--dynamodb-endpoint', dynalite.endpoint,
      '--inet', '127.0.0.1:0', '--no-http', '--delay', '2', '--hostname', 'mx.test',
      '--whitelist-clients', '/dev/null', '--whitelist-recipients', '/dev/null',
    ]);
    const logger = new RecordingLogger();
    const serve: RunningServe = await startServe(config, { logger, env: {} });

    // Act
    const at = (t: number) => examplePolicyRequest({ policy_test_time: String(t), instance: `i${t}` });
    const answers = await sendPolicyRequests(serve.policyAddresses()[0] as string, [at(T0), at(T0 + 3), at(T0 + 4)]);
    const records = await serve.store.countRecords(T0 + 4);
    await serve.close({ drainTimeoutMs: 100 });

    // Assess
    expect(logger.messages('error')).toEqual([]);
    expect(created.stdout).toContain('created table greygate-test');
    expect(again.stdout).toContain('already exists');
    expect(answers[0]).toBe('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds');
    expect(answers[1]).toMatch(/^PREPEND X-Greylist: delayed 3 seconds/);
    expect(answers[2]).toBe('DUNNO');
    expect(records.triplets).toBe(1);
  });

  it('refuses to start against a missing table with a message naming it', async () => {
    const { config } = parseServeConfig([
      '--store', 'dynamodb', '--table', 'no-such-table', '--dynamodb-endpoint', dynalite.endpoint,
      '--inet', '127.0.0.1:0', '--no-http', '--whitelist-clients', '/dev/null', '--whitelist-recipients', '/dev/null',
    ]);
    const serve = await startServe(config, { logger: new RecordingLogger(), env: {} });
    const answers = await sendPolicyRequests(serve.policyAddresses()[0] as string, [examplePolicyRequest()]);
    await expect(serve.store.ping()).rejects.toThrow(/no-such-table/);
    await serve.close({ drainTimeoutMs: 100 });
    // A store fault never defers mail by itself: the policy server answers DUNNO.
    expect(answers[0]).toBe('DUNNO');
  });
});
