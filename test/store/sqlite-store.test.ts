// The SQLite adapter: the shared store contract, then what an admin of `greygate serve` relies on
// about the file itself: where and how it is created, what it refuses, and that an answered
// decision survives kill -9.

import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GREYGATE_APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../functions/store/sqlite-schema.ts';
import { openSqliteStore } from '../../functions/store/sqlite-store.ts';
import type { SqliteStore } from '../../functions/store/sqlite-store.ts';
import {
  StoreError,
  StoreMisconfiguredError,
  StoreUnavailableError,
} from '../../functions/store/store-port.ts';
import { runSupportScript } from '../support/sqlite-child-process.ts';
import { makeTempDir } from '../support/temp-dir.ts';
import type { TempDir } from '../support/temp-dir.ts';
import { describeStoreContract } from './store-contract.ts';

describeStoreContract('sqlite', async () => {
  const dir = await makeTempDir('greygate-sqlite-contract-');
  return {
    open: async () => openSqliteStore({ dbdir: dir.path }),
    cleanup: () => dir.cleanup(),
  };
});

const NOW = 1_700_000_000;
const DAY = 86_400;
const FILE_NAME = 'greygate.sqlite';

describe('sqlite store on disk', () => {
  let tmp: TempDir;
  let stores: SqliteStore[];

  beforeEach(async () => {
    tmp = await makeTempDir('greygate-sqlite-');
    stores = [];
  });

  afterEach(async () => {
    await Promise.allSettled(stores.map((store) => store.close()));
    await tmp.cleanup();
  });

  const open = (dbdir: string, busyTimeoutMs?: number): SqliteStore => {
    const store = openSqliteStore({ dbdir, busyTimeoutMs });
    stores.push(store);
    return store;
  };

  const openError = (dbdir: string): unknown => {
    try {
      open(dbdir);
    } catch (error) {
      return error;
    }
    throw new Error(`openSqliteStore(${dbdir}) succeeded`);
  };

  const writeTriplet = (store: SqliteStore, key: string, expiresAt = NOW + DAY) =>
    store.runDecision({ triplet: key, client: null }, NOW, () => ({
      writes: { triplet: { firstSeen: NOW, lastSeen: NOW, expiresAt } },
    }));

  describe('the files it creates', () => {
    it('creates a missing dbdir as 0700 and a WAL database readable by its owner only', async () => {
      // Prepare
      const dbdir = join(tmp.path, 'var', 'lib', 'greygate');

      // Act
      const store = open(dbdir);
      await writeTriplet(store, 't/1');

      // Assess
      const file = join(dbdir, FILE_NAME);
      expect(store.file).toBe(file);
      expect(statSync(dbdir).mode & 0o777).toBe(0o700);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(statSync(`${file}-wal`).mode & 0o777).toBe(0o600);
      const raw = new Database(file, { readonly: true });
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      raw.close();
    });

    it('records the schema version and marks the file as greygate’s', async () => {
      // Prepare
      const store = open(tmp.path);

      // Act
      await store.close();

      // Assess
      const raw = new Database(join(tmp.path, FILE_NAME), { readonly: true });
      expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(raw.pragma('application_id', { simple: true })).toBe(GREYGATE_APPLICATION_ID);
      raw.close();
    });
  });

  describe('migrating a file of an earlier schema', () => {
    it('drops the expires_at indexes of a version 1 file and keeps every record', async () => {
      // Prepare: a file as greygate's first schema made it, with a live and an expired triplet.
      const file = join(tmp.path, FILE_NAME);
      const raw = new Database(file);
      raw.exec(MIGRATIONS[0]?.sql ?? '');
      raw.pragma('user_version = 1');
      raw.pragma(`application_id = ${GREYGATE_APPLICATION_ID}`);
      raw.prepare("INSERT INTO meta (key, value) VALUES ('min_release', '0.1.0')").run();
      const insert = raw.prepare('INSERT INTO triplets (key, first_seen, last_seen, expires_at) VALUES (?, ?, ?, ?)');
      insert.run('t/live', NOW, NOW, NOW + DAY);
      insert.run('t/expired', NOW - DAY, NOW - DAY, NOW - 1);
      raw.close();

      // Act
      const store = open(tmp.path);
      const live = await store.peek({ triplet: 't/live', client: null }, NOW);
      const purged = await store.purgeExpired(NOW, 10);

      // Assess
      expect(live.triplet).toEqual({ firstSeen: NOW, lastSeen: NOW, expiresAt: NOW + DAY });
      expect(purged).toBe(1);
      expect(await store.countRecords(NOW)).toEqual({ triplets: 1, clients: 0 });
      const after = new Database(file, { readonly: true });
      expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
      expect(after.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE '%expires_at'").all()).toEqual([]);
      after.close();
    });
  });

  describe('what it refuses to open', () => {
    it('refuses a file written by a newer greygate, telling which release it needs', async () => {
      // Prepare
      await open(tmp.path).close();
      const file = join(tmp.path, FILE_NAME);
      const raw = new Database(file);
      raw.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
      raw.prepare("UPDATE meta SET value = '9.9.0' WHERE key = 'min_release'").run();
      raw.close();

      // Act
      const error = openError(tmp.path);

      // Assess
      expect(error).toBeInstanceOf(StoreMisconfiguredError);
      expect((error as Error).message).toContain(file);
      expect((error as Error).message).toContain('greygate 9.9.0 or later');
      expect((error as Error).message).toContain('downgraded');
      const after = new Database(file, { readonly: true });
      expect(after.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION + 1);
      after.close();
    });

    it('refuses a file that is not a SQLite database, naming it and leaving it as it was', () => {
      // Prepare
      const file = join(tmp.path, FILE_NAME);
      const content = 'these are not the records you are looking for\n'.repeat(200);
      writeFileSync(file, content);

      // Act
      const error = openError(tmp.path);

      // Assess
      expect(error).toBeInstanceOf(StoreMisconfiguredError);
      expect((error as Error).message).toContain(`${file} is not a greygate database`);
      expect((error as Error).message).toContain('Move it away');
      expect(readFileSync(file, 'utf8')).toBe(content);
    });

    it('refuses a SQLite database of another program without adding tables to it', () => {
      // Prepare
      const file = join(tmp.path, FILE_NAME);
      const foreign = new Database(file);
      foreign.exec('CREATE TABLE mailboxes (name TEXT)');
      foreign.close();

      // Act
      const error = openError(tmp.path);

      // Assess
      expect(error).toBeInstanceOf(StoreMisconfiguredError);
      expect((error as Error).message).toContain('another program');
      const raw = new Database(file, { readonly: true });
      const tables = raw.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all();
      const journalMode = raw.pragma('journal_mode', { simple: true });
      raw.close();
      expect(tables).toEqual(['mailboxes']);
      expect(journalMode).toBe('delete');
    });

    it('refuses a dbdir that is a regular file, naming it', () => {
      // Prepare
      const dbdir = join(tmp.path, 'dbdir');
      writeFileSync(dbdir, 'oops\n');

      // Act
      const error = openError(dbdir);

      // Assess
      expect(error).toBeInstanceOf(StoreMisconfiguredError);
      expect((error as Error).message).toContain(dbdir);
      expect((error as Error).message).toContain('not a directory');
    });

    // root writes anywhere, so this case only exists for the unprivileged user greygate runs as.
    it.skipIf(process.getuid?.() === 0)('refuses a dbdir it may not write, naming it and the permission problem', () => {
      // Prepare
      const dbdir = join(tmp.path, 'readonly');
      mkdirSync(dbdir, { mode: 0o500 });
      chmodSync(dbdir, 0o500);

      // Act
      const error = openError(dbdir);

      // Assess
      expect(error).toBeInstanceOf(StoreMisconfiguredError);
      expect((error as Error).message).toContain(dbdir);
      expect((error as Error).message).toContain('not writable');
    });
  });

  describe('at run time', () => {
    it('reports a database held locked by another connection as unavailable, then recovers', async () => {
      // Prepare
      const store = open(tmp.path, 50);
      const other = new Database(join(tmp.path, FILE_NAME));
      other.exec('BEGIN IMMEDIATE');

      // Act
      const whileLocked = writeTriplet(store, 't/locked');
      await expect(whileLocked).rejects.toBeInstanceOf(StoreUnavailableError);
      other.exec('COMMIT');
      other.close();
      const afterwards = writeTriplet(store, 't/locked');

      // Assess
      await expect(afterwards).resolves.toBeDefined();
      expect(await store.countRecords(NOW)).toEqual({ triplets: 1, clients: 0 });
    });

    it('refuses to store a time that is not a whole number of seconds, writing nothing', async () => {
      // Prepare
      const store = open(tmp.path);

      // Act
      const attempt = store.runDecision({ triplet: 't/frac', client: 'c/frac' }, NOW, () => ({
        writes: {
          triplet: { firstSeen: NOW, lastSeen: NOW, expiresAt: NOW + DAY },
          client: { count: 1, lastSeen: NOW + 0.5, expiresAt: NOW + DAY },
        },
      }));

      // Assess
      await expect(attempt).rejects.toThrow(/client\.lastSeen = 1700000000\.5/);
      await expect(attempt).rejects.toBeInstanceOf(StoreError);
      expect(await store.countRecords(NOW)).toEqual({ triplets: 0, clients: 0 });
    });

    it('rejects a negative purge limit instead of purging everything', async () => {
      // Prepare
      const store = open(tmp.path);
      await writeTriplet(store, 't/expired', NOW - 1);

      // Act
      const attempt = store.purgeExpired(NOW, -1);

      // Assess
      await expect(attempt).rejects.toBeInstanceOf(StoreError);
      expect(await store.purgeExpired(NOW, 10)).toBe(1);
    });

    it('purges expired triplets before expired clients within one batch', async () => {
      // Prepare
      const store = open(tmp.path);
      for (const i of [1, 2]) {
        await store.runDecision({ triplet: `t/${i}`, client: `c/${i}` }, NOW, () => ({
          writes: {
            triplet: { firstSeen: NOW, lastSeen: NOW, expiresAt: NOW },
            client: { count: 1, lastSeen: NOW, expiresAt: NOW },
          },
        }));
      }

      // Act
      const deleted = await store.purgeExpired(NOW, 3);

      // Assess: read at an earlier time, when whatever was not purged would still be live.
      expect(deleted).toBe(3);
      expect(await store.countRecords(NOW - 1)).toEqual({ triplets: 0, clients: 1 });
    });
  });

  describe('several processes and kill -9', () => {
    it('lets several processes share one database without losing an update', async () => {
      // Prepare
      const children = Array.from({ length: 3 }, () =>
        runSupportScript('./sqlite-increment-loop.ts', [tmp.path, '200']),
      );
      await Promise.all(children.map((child) => child.waitFor('ready\n')));

      // Act
      for (const child of children) child.process.stdin.end('go\n');
      const exits = await Promise.all(children.map((child) => child.exited));

      // Assess
      expect(children.map((child) => child.stderr())).toEqual(['', '', '']);
      expect(exits).toEqual(Array.from({ length: 3 }, () => ({ code: 0, signal: null })));
      const state = await open(tmp.path).peek({ triplet: 'shared/triplet', client: 'shared/client' }, NOW);
      expect(state.client?.count).toBe(600);
      expect(state.triplet?.lastSeen).toBe(NOW + 600);
    });

    it('keeps every decision it answered when the process is killed with SIGKILL mid-load', async () => {
      // Prepare
      const child = runSupportScript('./sqlite-commit-loop.ts', [tmp.path]);

      // Act
      await child.waitFor('kill9/300\n');
      child.process.kill('SIGKILL');
      const exit = await child.exited;

      // Assess
      expect({ ...exit, stderr: child.stderr() }).toEqual({ code: null, signal: 'SIGKILL', stderr: '' });
      const answered = child.stdout().split('\n').slice(0, -1); // the last piece may be half a line
      expect(answered.length).toBeGreaterThan(300);
      const store = open(tmp.path);
      const missing: string[] = [];
      for (const key of answered) {
        const state = await store.peek({ triplet: key, client: null }, NOW);
        if (state.triplet === null) missing.push(key);
      }
      expect(missing).toEqual([]);
      const raw = new Database(join(tmp.path, FILE_NAME), { readonly: true });
      expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
      raw.close();
    });
  });
});
