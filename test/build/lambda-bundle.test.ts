// The deployable Lambda file, as Lambda runs it: built with the settings of build/bundle-options.ts
// into a temp dir (no node_modules anywhere above it, like /var/task), imported by a plain `node`
// (no tsx, no vitest) configured only by environment variables, and called with a Function URL
// event against dynalite.

import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleDefinitions, REPO_ROOT } from '../../build/bundle-options.ts';
import { buildBundle, type BuiltBundle } from '../../build/build.ts';
import { sha256Hex } from '../../functions/http/bearer-auth.ts';
import { createTable } from '../../functions/store/dynamodb-table.ts';
import { startDynalite, type RunningDynalite } from '../support/dynalite.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { functionUrlEvent } from '../support/function-url-event.ts';

const TOKEN = 'bundle-test-token';
const TABLE = 'greygate-bundle-test';
const REGION = 'eu-west-1';

// What the Lambda runtime does with `index.handler`: import the file, call the export with the event.
const INVOKE = `
const { handler } = await import(process.argv[1]);
const results = [];
for (const event of JSON.parse(process.env.EVENTS)) results.push(await handler(event));
process.stdout.write('\\n' + JSON.stringify(results));
`;

interface Result {
  statusCode: number;
  headers?: Record<string, string>;
  body: string;
}

/** A check as the bridge sends it through a Function URL, body base64-encoded as AWS may deliver it. */
function checkEvent(attrs: Record<string, unknown>): unknown {
  return functionUrlEvent({
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
    body: Buffer.from(JSON.stringify(attrs)).toString('base64'),
    isBase64Encoded: true,
  });
}

/** The handler's answers (the last stdout line), its EMF metric lines (the others) and its log. */
function invokeBundle(
  bundle: BuiltBundle,
  cwd: string,
  env: Record<string, string>,
  events: unknown[],
): Promise<{ results: Result[]; metrics: Array<Record<string, unknown>>; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', INVOKE, pathToFileURL(bundle.outfile).href],
      { cwd, env: { PATH: process.env.PATH ?? '', ...env, EVENTS: JSON.stringify(events) }, timeout: 15_000 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`node exited: ${err.message}\n${stderr}`));
        else {
          const lines = stdout.split('\n').filter((l) => l !== '');
          const results = JSON.parse(lines.pop() ?? '[]') as Result[];
          resolve({ results, metrics: lines.map((l) => JSON.parse(l) as Record<string, unknown>), stderr });
        }
      },
    );
  });
}

let dir: TempDir;
let dynalite: RunningDynalite;
let bundle: BuiltBundle;
let lambdaEnv: Record<string, string>;

beforeAll(async () => {
  dir = await makeTempDir('greygate-bundle-');
  dynalite = await startDynalite();
  const definition = bundleDefinitions().find((d) => d.name === 'lambda');
  if (!definition) throw new Error('no lambda bundle definition');
  [bundle] = await Promise.all([
    buildBundle(definition, dir.path),
    createTable(dynalite.client(), TABLE),
  ]);
  lambdaEnv = {
    AWS_REGION: REGION,
    AWS_ACCESS_KEY_ID: 'AKIDTESTTESTTEST',
    AWS_SECRET_ACCESS_KEY: 'test-secret',
    AWS_ENDPOINT_URL_DYNAMODB: dynalite.endpoint,
    AWS_LAMBDA_FUNCTION_NAME: 'greygate-api',
    GREYGATE_TABLE: TABLE,
    GREYGATE_TOKEN_SHA256: sha256Hex(TOKEN),
    GREYGATE_PRIVACY_KEY: 'c'.repeat(64),
  };
});

afterAll(async () => {
  await dynalite?.stop();
  await dir?.cleanup();
});

describe('the Lambda bundle (dist/lambda/index.mjs)', () => {
  it('answers a Function URL event in a plain node: greylist, then pass after the delay', async () => {
    // Prepare
    const attrs = { client_address: '192.0.2.77', sender: 'alice@example.net', recipient: 'bob@example.org' };
    const t0 = 1_767_225_600;

    // Act
    const { results, metrics, stderr } = await invokeBundle(bundle, dir.path, lambdaEnv, [
      checkEvent({ ...attrs, policy_test_time: t0 }),
      checkEvent({ ...attrs, policy_test_time: t0 + 301 }),
    ]);

    // Assess
    const [first, retry] = results.map((r) => ({ status: r.statusCode, body: JSON.parse(r.body) as Record<string, unknown> }));
    expect(first).toEqual({
      status: 200,
      body: { action: 'DEFER_IF_PERMIT Greylisted, please retry in 300 seconds', verdict: 'greylist', reason: 'new', retry_after_seconds: 300 },
    });
    expect(retry?.body).toMatchObject({ verdict: 'pass', reason: 'triplet-found' });
    // Node 20 adds the SDK's plain-text NodeVersionSupportWarning; the function's own lines are JSON.
    const logLines = stderr.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(logLines[0]).toMatchObject({ event: 'start', whitelists: 'bundled', privacy: true });
    expect(metrics.map((m) => [m.Verdict, m.Reason, m.Decisions])).toEqual([
      ['greylist', 'new', 1],
      ['pass', 'triplet-found', 1],
    ]);
  });

  it('carries the default whitelists inside the file', async () => {
    // Prepare: 40.92.0.0/15 (Microsoft's outbound pool) is in whitelists/clients.
    const attrs = { client_address: '40.92.1.2', sender: 'carol@example.net', recipient: 'bob@example.org' };

    // Act
    const { results } = await invokeBundle(bundle, dir.path, lambdaEnv, [checkEvent(attrs)]);

    // Assess
    expect(JSON.parse(results[0]?.body ?? '{}')).toEqual({ action: 'DUNNO', verdict: 'pass', reason: 'client-whitelist' });
  });

  it('loads the Public Suffix List from its chunk for organisation identity, and only then', async () => {
    // Prepare: a provider's pool host retries from another /24 (Google's are whitelisted already)
    const t0 = 1_767_225_600;
    const pool = (address: string, name: string, t: number) =>
      checkEvent({ client_address: address, client_name: name, sender: 'dave@mailer.example.com', recipient: 'bob@example.org', policy_test_time: t });
    const entry = await readFile(bundle.outfile, 'utf8');

    // Act
    const { results } = await invokeBundle(bundle, dir.path, { ...lambdaEnv, GREYGATE_CLIENT_IDENTITY: 'org' }, [
      pool('198.51.100.10', 'out-ab.mailer.example.com', t0),
      pool('203.0.113.20', 'out-cd.mailer.example.com', t0 + 400),
    ]);

    // Assess
    expect(results.map((r) => (JSON.parse(r.body) as { reason: string }).reason)).toEqual(['new', 'triplet-found']);
    expect(Object.keys(bundle.metafile.outputs).some((o) => /chunks\/public-suffix-list-[^/]*\.mjs$/.test(o))).toBe(true);
    expect(entry).not.toContain('tldts');
  });

  it('reads at a cold start neither the admin routes, the status page, zod nor the Public Suffix List', () => {
    // Prepare: the entry file and the chunks it imports statically
    const outputs = bundle.metafile.outputs;
    const entry = Object.keys(outputs).find((o) => resolve(REPO_ROOT, o) === bundle.outfile) ?? '';
    const atStart = new Set([entry]);
    for (const file of atStart) for (const i of outputs[file]?.imports ?? []) if (i.kind === 'import-statement' && outputs[i.path]) atStart.add(i.path);

    // Act
    const inputs = [...atStart].flatMap((file) => Object.keys(outputs[file]?.inputs ?? {}));

    // Assess: each loads on first use (app.ts, decision-service.ts)
    expect(inputs.length).toBeGreaterThan(100);
    expect(inputs.filter((i) => /http\/(admin-routes|status-page|openapi)\.ts$|node_modules\/(zod|tldts)\//.test(i))).toEqual([]);
  });

  it('contains neither better-sqlite3 nor the SQLite adapter', async () => {
    // Prepare
    const inputs = Object.keys(bundle.metafile.inputs);

    // Act
    const text = await readFile(bundle.outfile, 'utf8');

    // Assess
    expect(inputs.filter((i) => /better-sqlite3|functions\/store\/sqlite-/.test(i))).toEqual([]);
    expect(text).not.toContain('better-sqlite3');
    expect(text).not.toContain('better_sqlite3.node');
  });
});
