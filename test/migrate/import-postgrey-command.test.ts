// `greygate import-postgrey` as an admin runs it, on Berkeley DB files written by Berkeley DB's own
// db_load in Postgrey's layout (db-util, installed by .ci/run): what it prints, what it stores,
// what it refuses, and that a second run or a dry run changes nothing.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_CONFIG, decisionKeys, type PolicyRequest } from '../../functions/core/index.ts';
import { createKeyHasher, PRIVACY_KEY_FILE } from '../../functions/runtime/privacy-key.ts';
import { DEFAULT_SQLITE_FILE_NAME, openSqliteStore } from '../../functions/store/sqlite-store.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';
import { runGreygate } from './run-greygate.ts';

const dbLoad = ['db_load', 'db5.3_load'].find((name) => {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`]);
    return true;
  } catch {
    return false;
  }
});

const NOW = Math.floor(Date.now() / 1000);
const DAY = 86_400;

/** Writes `entries` as Postgrey does (a Btree file), with db_load reading `-T` text: key line, value line. */
function writeBerkeleyDb(file: string, entries: Array<[string, string]>): void {
  execFileSync(dbLoad ?? 'db_load', ['-T', '-t', 'btree', file], { input: entries.map(([k, v]) => `${k}\n${v}\n`).join('') });
}

/** A Postgrey database directory: two passed triplets, one pending, one expired, one malformed; two clients. */
function postgreyDir(root: string): string {
  const dir = join(root, 'postgrey');
  mkdirSync(dir);
  writeBerkeleyDb(join(dir, 'postgrey.db'), [
    ['192.0.2.0/alice@example.net/bob@example.org', `${NOW - 2 * DAY},${NOW - DAY}`],
    ['198.51.100.0/carol@example.net/bob@example.org', `${NOW - 3 * DAY},${NOW - 3 * DAY + 600}`],
    ['203.0.113.0/pending@example.net/bob@example.org', `${NOW - 3600},${NOW - 3600}`],
    ['192.0.2.0/old@example.net/bob@example.org', `${NOW - 90 * DAY},${NOW - 80 * DAY}`],
    ['192.0.2.0/broken@example.net/bob@example.org', 'not-a-time'],
  ]);
  writeBerkeleyDb(join(dir, 'postgrey_clients.db'), [
    ['192.0.2.10', `7,${NOW - DAY}`],
    ['198.51.100.7', `2,${NOW - 2 * DAY}`],
  ]);
  return dir;
}

const request = (clientAddress: string, sender: string): PolicyRequest => ({
  clientAddress,
  clientName: 'unknown',
  sender,
  recipient: 'bob@example.org',
  etrnDomainPresent: false,
});

describe.skipIf(dbLoad === undefined)('greygate import-postgrey', () => {
  let tmp: TempDir;
  let from: string;
  let dbdir: string;

  beforeEach(async () => {
    tmp = await makeTempDir();
    from = postgreyDir(tmp.path);
    dbdir = join(tmp.path, 'greygate');
  });
  afterEach(async () => tmp.cleanup());

  /** The records serve would find for `req`, read from the SQLite file. */
  async function stored(req: PolicyRequest, hashKey?: (clear: string) => string) {
    const store = openSqliteStore({ dbdir });
    try {
      return await store.peek(decisionKeys(req, DEFAULT_POLICY_CONFIG, hashKey), NOW);
    } finally {
      await store.close();
    }
  }

  it('imports triplets and clients under the keys serve looks up, saying what it skipped and why', async () => {
    const run = await runGreygate(['import-postgrey', '--from', from, '--dbdir', dbdir]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('skipped triplet 192.0.2.0/old@example.net/bob@example.org: expired');
    expect(run.stdout).toContain('skipped triplet 192.0.2.0/broken@example.net/bob@example.org: malformed (value "not-a-time" is not "first,last")');
    expect(run.stdout).toContain('imported 3 triplets and 2 clients (already up to date: 0 triplets, 0 clients); skipped 2 (malformed 1, expired 1, in the future 0)');

    const passed = await stored(request('192.0.2.77', 'alice@example.net'));
    expect(passed.triplet).toMatchObject({ firstSeen: NOW - 2 * DAY, lastSeen: NOW - DAY });
    const client = await stored(request('192.0.2.10', 'anyone@example.net'));
    expect(client.client).toMatchObject({ count: 7, lastSeen: NOW - DAY });
    expect((await stored(request('192.0.2.1', 'old@example.net'))).triplet).toBeNull();
  });

  it('is safe to run twice: the second run finds everything up to date and writes nothing', async () => {
    expect((await runGreygate(['import-postgrey', '--from', from, '--dbdir', dbdir])).code).toBe(0);
    const file = join(dbdir, DEFAULT_SQLITE_FILE_NAME);
    const before = await stored(request('192.0.2.77', 'alice@example.net'));
    const again = await runGreygate(['import-postgrey', '--from', from, '--dbdir', dbdir]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('imported 0 triplets and 0 clients (already up to date: 3 triplets, 2 clients)');
    expect(await stored(request('192.0.2.77', 'alice@example.net'))).toEqual(before);
    expect(existsSync(file)).toBe(true);
  });

  it('with --dry-run prints what it would import and creates no database', async () => {
    const run = await runGreygate(['import-postgrey', '--from', from, '--dbdir', dbdir, '--dry-run']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`would import triplet 192.0.2.0/alice@example.net/bob@example.org first=${NOW - 2 * DAY} last=${NOW - DAY}`);
    expect(run.stdout).toContain(`would import client 192.0.2.10 count=7 last=${NOW - DAY}`);
    expect(run.stdout).toContain('would import 3 triplets and 2 clients; skipped 2');
    expect(existsSync(dbdir)).toBe(false);
  });

  it('with --privacy stores the keys hashed under serve\'s own privacy key, so serve --privacy finds them', async () => {
    const run = await runGreygate(['import-postgrey', '--from', from, '--dbdir', dbdir, '--privacy']);
    expect(run.code).toBe(0);
    const hashKey = createKeyHasher(readFileSync(join(dbdir, PRIVACY_KEY_FILE), 'utf8').trim());
    expect((await stored(request('192.0.2.77', 'alice@example.net'), hashKey)).triplet).toMatchObject({ lastSeen: NOW - DAY });
    expect((await stored(request('192.0.2.10', 'x@example.net'), hashKey)).client).toMatchObject({ count: 7 });
    // Nothing under the clear keys.
    expect((await stored(request('192.0.2.77', 'alice@example.net'))).triplet).toBeNull();
  });

  it('refuses a Postgrey --privacy database, explaining why, and writes nothing', async () => {
    const hashed = join(tmp.path, 'hashed');
    mkdirSync(hashed);
    const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');
    writeBerkeleyDb(join(hashed, 'postgrey.db'), [[sha1('192.0.2.0/a@example.net/b@example.org'), `${NOW - DAY},${NOW - DAY + 600}`]]);
    const run = await runGreygate(['import-postgrey', '--from', hashed, '--dbdir', dbdir]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Postgrey --privacy database: its keys are SHA-1 digests/);
    expect(existsSync(join(dbdir, DEFAULT_SQLITE_FILE_NAME))).toBe(false);
  });

  it('names the directory when it holds no Postgrey database, and says how to get db_dump when it is missing', async () => {
    const empty = join(tmp.path, 'empty');
    mkdirSync(empty);
    const run = await runGreygate(['import-postgrey', '--from', empty, '--dbdir', dbdir]);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`${join(empty, 'postgrey.db')} not found: --from names Postgrey's database directory`);

    const noTools = join(tmp.path, 'no-tools');
    mkdirSync(noTools);
    const blind = await runGreygate(['import-postgrey', '--from', from, '--dbdir', dbdir], { PATH: noTools });
    expect(blind.code).not.toBe(0);
    expect(blind.stderr).toContain('db_dump is not installed');
    expect(blind.stderr).toContain('apt-get install db-util');
  });

  it('refuses --privacy on DynamoDB without the Lambda\'s key, naming the variable', async () => {
    const run = await runGreygate(['import-postgrey', '--from', from, '--store', 'dynamodb', '--table', 'greygate', '--privacy']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('GREYGATE_PRIVACY_KEY');
  });
});
