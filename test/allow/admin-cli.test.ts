// `greygate allow|explain|pending|release` on real stores (a SQLite file, a DynamoDB table on
// dynalite), next to a running `serve` answering /v1/check over real HTTP: an entry added by the
// CLI is honoured by serve within the interval, explain writes nothing and agrees with the check
// that follows, release makes the next attempt pass and leaves the others alone, bad input names
// its flag and writes nothing.

import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseServeConfig, UsageError } from '../../functions/config/serve-config.ts';
import { runAdminCommand } from '../../functions/runtime/admin-commands.ts';
import { startServe, type RunningServe } from '../../functions/runtime/serve.ts';
import { createTable } from '../../functions/store/dynamodb-table.ts';
import { MAX_STALE_MS } from '../../functions/allow/allow-cache.ts';
import { RecordingLogger } from '../support/serve-harness.ts';
import { startDynalite, type RunningDynalite } from '../support/dynalite.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const T0 = 1_800_000_000;
const root = new URL('../..', import.meta.url).pathname;
const run = promisify(execFile);

interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** One CLI command, in process, on `clock`; a UsageError is exit status 2, as the entry file makes it. */
async function cli(args: string[], clock: { ms: number }, stdin = ''): Promise<CliResult> {
  let out = '';
  let err = '';
  const [command = '', ...rest] = args;
  try {
    const code = await runAdminCommand(command, rest, {
      env: {},
      stdout: (t) => (out += t),
      stderr: (t) => (err += t),
      readStdin: async () => stdin,
      clock: () => clock.ms,
    });
    return { code, out, err };
  } catch (error) {
    if (error instanceof UsageError) return { code: 2, out, err: err + error.message };
    throw error;
  }
}

interface Instance {
  serve: RunningServe;
  logger: RecordingLogger;
  check(body: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }>;
}

async function startInstance(storeArgs: string[], clock: { ms: number }): Promise<Instance> {
  const { config } = parseServeConfig([
    ...storeArgs, '--inet', '127.0.0.1:0', '--http', '127.0.0.1:0', '--hostname', 'mx.test',
    '--whitelist-clients', '/dev/null', '--whitelist-recipients', '/dev/null',
  ]);
  const logger = new RecordingLogger();
  const serve = await startServe(config, { logger, env: {}, clock: () => clock.ms });
  const http = serve.httpAddress();
  return {
    serve,
    logger,
    async check(body) {
      const res = await fetch(`http://${http?.host}:${http?.port}/v1/check`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
  };
}

const REQ = { client_address: '203.0.113.9', client_name: 'unknown', sender: 'reset@bank.example', recipient: 'user@example.org' };

function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Every file of the dbdir with its checksum: the main file and its WAL. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) if (!name.endsWith('-shm')) out[name] = sha256(join(dir, name));
  return out;
}

let dynalite: RunningDynalite;
let tmp: TempDir;
const running: Instance[] = [];
beforeAll(async () => {
  dynalite = await startDynalite();
});
afterEach(async () => {
  for (const i of running.splice(0)) await i.serve.close({ drainTimeoutMs: 0 });
  await tmp?.cleanup();
});
afterAll(async () => {
  await dynalite.stop();
});

let tables = 0;
const stores: Array<[string, () => Promise<string[]>]> = [
  [
    'sqlite',
    async () => {
      tmp = await makeTempDir();
      return ['--dbdir', join(tmp.path, 'db')];
    },
  ],
  [
    'dynamodb',
    async () => {
      tables += 1;
      const table = `admin-cli-${tables}`;
      await createTable(dynalite.client(), table);
      return ['--store=dynamodb', `--table=${table}`, `--dynamodb-endpoint=${dynalite.endpoint}`];
    },
  ],
];

describe.each(stores)('the admin commands on %s', (kind, setup) => {
  it('allow add on one instance is honoured by a running serve within the interval; list and remove', async () => {
    const store = await setup();
    const clock = { ms: T0 * 1000 };
    const serve = await startInstance(store, clock);
    running.push(serve);
    expect((await serve.check(REQ)).body.reason).toBe('new');

    const added = await cli(['allow', 'add', '--client=203.0.113.0/24', '--comment=bank reset mails', '--by=alice', '--expires=7d', ...store], clock);
    expect(added).toMatchObject({ code: 0 });
    expect(added.out).toContain('client:203.0.113.0/24');
    expect(added.err).toContain('allow entry added: client:203.0.113.0/24 by alice');

    clock.ms += MAX_STALE_MS + 1_000;
    const answer = await serve.check(REQ);
    expect(answer.body).toMatchObject({ verdict: 'pass', reason: 'allow-entry', signals: [{ name: 'allow-entry', entry: 'client:203.0.113.0/24' }] });
    expect(serve.logger.messages().some((m) => m.includes('signals=allow-entry:client:203.0.113.0/24'))).toBe(true);

    const listed = await cli(['allow', 'list', '--json', ...store], clock);
    const entries = (JSON.parse(listed.out) as { entries: Array<Record<string, unknown>> }).entries;
    expect(entries).toEqual([expect.objectContaining({ id: 'client:203.0.113.0/24', comment: 'bank reset mails', addedBy: 'alice', live: true, expiresAt: T0 + 7 * 86_400 })]);

    expect((await cli(['allow', 'remove', '--id=client:203.0.113.0/24', ...store], clock)).code).toBe(0);
    expect((await cli(['allow', 'remove', '--id=client:203.0.113.0/24', ...store], clock)).code).toBe(1);
    clock.ms += MAX_STALE_MS + 1_000;
    expect((await serve.check(REQ)).body.reason).not.toBe('allow-entry');
  });

  it('explain writes nothing and agrees with the /v1/check that follows', async () => {
    const store = await setup();
    const clock = { ms: T0 * 1000 };
    const serve = await startInstance(store, clock);
    running.push(serve);
    const other = { ...REQ, sender: 'other@bank.example' };
    await serve.check(other);
    await serve.serve.close({ drainTimeoutMs: 0 });
    running.pop();

    // The store at rest, then explained three ways (new, early retry, pass) with nothing written.
    const state = async (): Promise<unknown> => {
      if (kind === 'sqlite') return snapshot(store[1] as string);
      const table = (store[1] as string).slice('--table='.length);
      const scan = await dynalite.client().send(new ScanCommand({ TableName: table, ConsistentRead: true }));
      return (scan.Items ?? []).map((i) => JSON.stringify(i)).sort();
    };
    const before = await state();
    clock.ms += 10_000;
    const explained = await cli(['explain', '--json', '--client-address=203.0.113.9', '--sender=other@bank.example', '--recipient=user@example.org', ...store], clock);
    expect(explained.code).toBe(0);
    const body = JSON.parse(explained.out) as Record<string, unknown>;
    expect(body).toMatchObject({ verdict: 'greylist', reason: 'early-retry', written: false, keys: { triplet: { clear: '203.0.113.0/other@bank.example/user@example.org' } } });
    expect(body.records).toMatchObject({ triplet: { first_seen: T0 } });
    // A policy request on stdin, as Postfix sends it.
    const fromStdin = await cli(['explain', '--json', ...store], clock, 'request=smtpd_access_policy\nclient_address=203.0.113.9\nclient_name=unknown\nsender=other@bank.example\nrecipient=user@example.org\n\n');
    expect(JSON.parse(fromStdin.out)).toMatchObject({ reason: 'early-retry' });
    expect(await state()).toEqual(before);

    const again = await startInstance(store, clock);
    running.push(again);
    const checked = await again.check(other);
    expect(checked.body).toMatchObject({ verdict: body.verdict, reason: body.reason, action: body.action, retry_after_seconds: body.retry_after_seconds });
  });

  it('pending lists the waiting triplets; release makes the next attempt of the matching ones pass and leaves the others alone', async () => {
    const store = await setup();
    const clock = { ms: T0 * 1000 };
    const serve = await startInstance(store, clock);
    running.push(serve);
    const a = { ...REQ, sender: 'a@bank.example' };
    const b = { ...REQ, client_address: '198.51.100.3', sender: 'b@shop.example' };
    await serve.check(a);
    await serve.check(b);
    clock.ms += 30_000;
    await serve.check(a);

    const pending = await cli(['pending', '--json', ...store], clock);
    const triplets = (JSON.parse(pending.out) as { triplets: Array<Record<string, unknown>> }).triplets;
    // Oldest first (then by key): both were first seen at T0.
    expect(triplets).toEqual([
      expect.objectContaining({ key: '198.51.100.0/b@shop.example/user@example.org', firstSeen: T0, lastSeen: T0 }),
      expect.objectContaining({ key: '203.0.113.0/a@bank.example/user@example.org', client: '203.0.113.0', firstSeen: T0, lastSeen: T0 + 30 }),
    ]);
    const onlyA = await cli(['pending', '--json', '--client=203.0.113.77', ...store], clock);
    expect((JSON.parse(onlyA.out) as { triplets: unknown[] }).triplets).toHaveLength(1);

    const released = await cli(['release', '--client=203.0.113.9', '--by=bob', ...store], clock);
    expect(released.code).toBe(0);
    expect(released.err).toContain('released: 203.0.113.0/a@bank.example/user@example.org by bob');

    clock.ms += 1_000;
    const passed = await serve.check(a);
    expect(passed.body).toMatchObject({ verdict: 'pass', reason: 'triplet-found' });
    expect(String(passed.body.header)).toMatch(/^X-Greylist: delayed \d+ seconds by greygate-/);
    expect((await serve.check(b)).body).toMatchObject({ verdict: 'greylist', reason: 'early-retry' });
    // Passed now: no longer pending; b still is.
    const left = JSON.parse((await cli(['pending', '--json', ...store], clock)).out) as { triplets: Array<{ key: string }> };
    expect(left.triplets.map((t) => t.key)).toEqual(['198.51.100.0/b@shop.example/user@example.org']);
  });

  it('refuses bad input naming the flag, and writes nothing', async () => {
    const store = await setup();
    const clock = { ms: T0 * 1000 };
    const cases: Array<[string[], string]> = [
      [['allow', 'add', '--client=192.0.2.300'], '--client'],
      [['allow', 'add', '--recipient=a b@example.org'], '--recipient'],
      [['allow', 'add', '--host=mx.example.net', '--expires=yesterday'], '--expires'],
      [['allow', 'add', '--host=mx.example.net', '--comment=two\nlines'], '--comment'],
      [['allow', 'add'], '--client, --host, --org, --recipient'],
      [['allow', 'remove', '--id=nokind'], '--id'],
      [['explain', '--client-address=300.1.2.3', '--sender=a@b.example', '--recipient=c@d.example'], '--client-address'],
      [['explain', '--client-address=192.0.2.1', '--recipient=c@d.example'], '--sender'],
      [['pending', '--client=not an address'], '--client'],
      [['pending', '--limit=many'], '--limit'],
      [['release'], '--client'],
      [['release', '--recipient=a b'], '--recipient'],
    ];
    for (const [args, flag] of cases) {
      const result = await cli([...args, ...store], clock);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.err, args.join(' ')).toContain(flag);
    }
    if (kind === 'sqlite') expect(existsSync(store[1] as string)).toBe(false);
    else {
      const table = (store[1] as string).slice('--table='.length);
      const scan = await dynalite.client().send(new ScanCommand({ TableName: table }));
      expect(scan.Count).toBe(0);
    }
  });
});

describe('the admin commands with --privacy', () => {
  it('explain shows the clear and the stored key; pending and release find a triplet by all three parts; no key file is created', async () => {
    tmp = await makeTempDir();
    const clock = { ms: T0 * 1000 };
    const fresh = ['--privacy', '--dbdir', join(tmp.path, 'fresh')];
    const refused = await cli(['explain', '--client-address=203.0.113.9', '--sender=a@b.example', '--recipient=c@d.example', ...fresh], clock).catch((e: Error) => ({ code: 1, out: '', err: e.message }));
    expect(refused.err).toContain('privacy.key');
    expect(existsSync(join(tmp.path, 'fresh'))).toBe(false);

    const store = ['--privacy', '--dbdir', join(tmp.path, 'db')];
    const serve = await startInstance(store, clock);
    running.push(serve);
    await serve.check(REQ);
    clock.ms += 5_000;
    const explained = JSON.parse((await cli(['explain', '--json', '--client-address=203.0.113.9', '--sender=reset@bank.example', '--recipient=user@example.org', ...store], clock)).out) as {
      reason: string;
      keys: { triplet: { clear: string; stored: string } };
    };
    expect(explained.reason).toBe('early-retry');
    expect(explained.keys.triplet.clear).toBe('203.0.113.0/reset@bank.example/user@example.org');
    expect(explained.keys.triplet.stored).toMatch(/^[0-9a-f]{64}$/);

    const all = JSON.parse((await cli(['pending', '--json', ...store], clock)).out) as { triplets: Array<{ key: string; sender?: string }> };
    expect(all.triplets).toEqual([expect.objectContaining({ key: explained.keys.triplet.stored })]);
    expect(all.triplets[0]?.sender).toBeUndefined();
    const partial = await cli(['pending', '--client=203.0.113.9', ...store], clock);
    expect(partial.code).toBe(2);
    expect(partial.err).toContain('--sender');
    const released = await cli(['release', '--client=203.0.113.9', '--sender=reset@bank.example', '--recipient=user@example.org', ...store], clock);
    expect(released.out).toContain('released 1');
    clock.ms += 1_000;
    expect((await serve.check(REQ)).body).toMatchObject({ verdict: 'pass', reason: 'triplet-found' });
  });
});

describe('the entry file', () => {
  it('runs the admin commands and exits 2 on bad input', async () => {
    tmp = await makeTempDir();
    const env = { ...process.env, NODE_NO_WARNINGS: '1' };
    const cliPath = join(root, 'functions/runtime/cli.ts');
    const db = join(tmp.path, 'db');
    const ok = await run(process.execPath, ['--import', 'tsx', cliPath, 'allow', 'add', '--org=partner.example', '--dbdir', db], { cwd: root, env });
    expect(ok.stdout).toContain('org:partner.example');
    const bad = await run(process.execPath, ['--import', 'tsx', cliPath, 'allow', 'add', '--org=-bad-', '--dbdir', db], { cwd: root, env }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad).toMatchObject({ code: 2 });
    expect((bad as { stderr: string }).stderr).toContain('--org:');
  });
});
