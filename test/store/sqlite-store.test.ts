// The SQLite adapter: the shared store contract, then what an admin of `greygate serve` relies on
// about the file itself: where and how it is created, what it refuses, and that an answered
// decision survives kill -9.

import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GREYGATE_APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../functions/store/sqlite-schema.ts';
import { startPurger } from '../../functions/store/purge-scheduler.ts';
import { openSqliteStore, SWEEP_STEP_ROWS } from '../../functions/store/sqlite-store.ts';
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

describe('sqlite purge and count over many steps', () => {
  let tmp: TempDir;
  let store: SqliteStore;
  const ROWS = 3 * SWEEP_STEP_ROWS + 123;

  beforeEach(async () => {
    tmp = await makeTempDir('greygate-sqlite-sweep-');
    store = openSqliteStore({ dbdir: tmp.path });
    // Every third triplet and every fifth client expired, spread over the whole key range.
    const raw = new Database(join(tmp.path, FILE_NAME));
    const triplet = raw.prepare('INSERT INTO triplets (key, first_seen, last_seen, expires_at) VALUES (?, ?, ?, ?)');
    const client = raw.prepare('INSERT INTO clients (key, count, last_seen, expires_at) VALUES (?, ?, ?, ?)');
    raw.transaction(() => {
      for (let i = 0; i < ROWS; i++) {
        triplet.run(`t/${i}`, NOW, NOW, i % 3 === 0 ? NOW - 1 : NOW + DAY);
        client.run(`c/${i}`, 1, NOW, i % 5 === 0 ? NOW : NOW + DAY);
      }
    })();
    raw.close();
  });

  afterEach(async () => {
    await store.close();
    await tmp.cleanup();
  });

  const expiredTriplets = Math.ceil(ROWS / 3);
  const expiredClients = Math.ceil(ROWS / 5);

  it('counts live records across steps', async () => {
    // Act
    const counts = await store.countRecords(NOW);

    // Assess
    expect(counts).toEqual({ triplets: ROWS - expiredTriplets, clients: ROWS - expiredClients });
  });

  it('purges every expired record and no live one, in calls of at most the limit', async () => {
    // Act: as the purge scheduler calls it, until a call deletes fewer than the limit.
    const limit = 700;
    const perCall: number[] = [];
    for (;;) {
      const deleted = await store.purgeExpired(NOW, limit);
      perCall.push(deleted);
      if (deleted < limit) break;
    }

    // Assess
    expect(perCall.slice(0, -1).every((deleted) => deleted === limit)).toBe(true);
    expect(perCall.reduce((sum, deleted) => sum + deleted, 0)).toBe(expiredTriplets + expiredClients);
    expect(await store.countRecords(NOW - 2)).toEqual({ triplets: ROWS - expiredTriplets, clients: ROWS - expiredClients });
    expect(await store.purgeExpired(NOW, limit)).toBe(0);
  });

  it('answers decisions while a purge call is under way', async () => {
    // Act: one call that has to walk every step, and a decision asked for just after it starts.
    const order: string[] = [];
    const purge = store.purgeExpired(NOW, 10 * ROWS).then(() => order.push('purge'));
    const decision = store
      .runDecision({ triplet: 't/new', client: null }, NOW, () => ({
        writes: { triplet: { firstSeen: NOW, lastSeen: NOW, expiresAt: NOW + DAY } },
      }))
      .then(() => order.push('decision'));
    await Promise.all([purge, decision]);

    // Assess
    expect(order).toEqual(['decision', 'purge']);
    expect((await store.peek({ triplet: 't/new', client: null }, NOW)).triplet).not.toBeNull();
  });

  it('starts a purge run with another `now` from the beginning, so nothing expired before the cursor is left', async () => {
    // Prepare: a first run stopped by its limit part-way through the triplets...
    const firstRun = await store.purgeExpired(NOW, 100);
    // ...and, before where it stopped, a triplet that expires before the next run's `now`.
    await store.runDecision({ triplet: 't/0-late', client: null }, NOW, () => ({
      writes: { triplet: { firstSeen: NOW, lastSeen: NOW, expiresAt: NOW + 5 } },
    }));

    // Act
    let secondRun = 0;
    for (;;) {
      const deleted = await store.purgeExpired(NOW + 10, 700);
      secondRun += deleted;
      if (deleted < 700) break;
    }

    // Assess
    expect(firstRun).toBe(100);
    expect(secondRun).toBe(expiredTriplets + expiredClients - 100 + 1);
    expect((await store.peek({ triplet: 't/0-late', client: null }, NOW)).triplet).toBeNull();
  });

  it('stops a purge run between two steps when its purger is stopped, without counting or warning', async () => {
    // Prepare
    const warnings: string[] = [];
    const purger = startPurger(store, {
      clock: () => NOW,
      batchSize: 10 * ROWS,
      logger: { info: () => {}, warn: (msg) => warnings.push(msg) },
    });

    // Act
    const run = purger.runOnce();
    await new Promise((resolve) => setImmediate(resolve));
    await purger.stop();
    const deleted = await run;

    // Assess
    expect(deleted).toBeGreaterThan(0);
    expect(deleted).toBeLessThan(expiredTriplets + expiredClients);
    expect(warnings).toEqual([]);
  });

  it('rejects a count whose signal has fired', async () => {
    // Act
    const counting = store.countRecords(NOW, AbortSignal.abort(new Error('shutting down')));

    // Assess
    await expect(counting).rejects.toThrow('shutting down');
  });

  it('stops a purge under way when the store is closed, keeping what it deleted', async () => {
    // Act
    const purge = store.purgeExpired(NOW, 10 * ROWS);
    await new Promise((resolve) => setImmediate(resolve));
    await store.close();
    const deleted = await purge;

    // Assess
    expect(deleted).toBeGreaterThan(0);
    expect(deleted).toBeLessThan(expiredTriplets + expiredClients);
    const reopened = openSqliteStore({ dbdir: tmp.path });
    const counts = await reopened.countRecords(NOW - 2);
    await reopened.close();
    expect(2 * ROWS - counts.triplets - counts.clients).toBe(deleted);
  });
});

describe('sqlite group commit', () => {
  it('commits decisions that arrive together in one transaction, each isolated from a failing neighbour', async () => {
    // Prepare
    const dir = await makeTempDir();
    const store = openSqliteStore({ dbdir: dir.path });
    const now = 1_800_000_000;
    const write = (key: string) => () => ({ writes: { triplet: { firstSeen: now, lastSeen: now, expiresAt: now + 60 } }, key });

    // Act: three decisions queued in the same turn of the event loop, the middle one throws
    const results = await Promise.allSettled([
      store.runDecision({ triplet: 'a', client: null }, now, write('a')),
      store.runDecision({ triplet: 'b', client: null }, now, () => {
        throw new Error('decide failed for b');
      }),
      store.runDecision({ triplet: 'c', client: null }, now, write('c')),
    ]);
    const counts = await store.countRecords(now);
    await store.close();
    await dir.cleanup();

    // Assess
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('decide failed for b'));
    expect(counts).toEqual({ triplets: 2, clients: 0 });
  });

  it('undoes the triplet write of a decision whose client write fails, and only that decision', async () => {
    // Prepare: a trigger (from a second connection) refuses one client key, as a full disk would
    const dir = await makeTempDir();
    const store = openSqliteStore({ dbdir: dir.path });
    const admin = new Database(join(dir.path, FILE_NAME));
    admin.exec(
      "CREATE TRIGGER refuse_client BEFORE INSERT ON clients WHEN NEW.key = 'bad-client' " +
        "BEGIN SELECT RAISE(ABORT, 'client write refused'); END",
    );
    admin.close();
    const now = 1_800_000_000;
    const both = () => ({
      writes: {
        triplet: { firstSeen: now, lastSeen: now, expiresAt: now + 60 },
        client: { count: 1, lastSeen: now, expiresAt: now + 60 },
      },
    });

    // Act: two decisions with two writes each, in one batch
    const results = await Promise.allSettled([
      store.runDecision({ triplet: 'refused', client: 'bad-client' }, now, both),
      store.runDecision({ triplet: 'accepted', client: 'good-client' }, now, both),
    ]);
    const refused = await store.peek({ triplet: 'refused', client: 'bad-client' }, now);
    const accepted = await store.peek({ triplet: 'accepted', client: 'good-client' }, now);
    await store.close();
    await dir.cleanup();

    // Assess
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toContain('client write refused');
    expect(refused).toEqual({ triplet: null, client: null });
    expect(accepted.triplet).not.toBeNull();
    expect(accepted.client).not.toBeNull();
  });

  it('sees, within one batch, what an earlier decision on the same key wrote', async () => {
    // Prepare
    const dir = await makeTempDir();
    const store = openSqliteStore({ dbdir: dir.path });
    const now = 1_800_000_000;
    const bump = store.runDecision.bind(store);

    // Act: 20 increments of one client record, all queued before the first commit
    await Promise.all(
      Array.from({ length: 20 }, () =>
        bump({ triplet: 't', client: 'c' }, now, (state) => ({
          writes: { client: { count: (state.client?.count ?? 0) + 1, lastSeen: now, expiresAt: now + 60 } },
        })),
      ),
    );
    const state = await store.peek({ triplet: 't', client: 'c' }, now);
    await store.close();
    await dir.cleanup();

    // Assess
    expect(state.client?.count).toBe(20);
  });
});

describe('sqlite WAL under sustained writes', () => {
  it.each([
    ['the checkpoint worker', true],
    ['SQLite’s automatic checkpoint', false],
  ])('starts the WAL over with %s while decisions keep coming, and loses nothing', async (_, checkpointWorker) => {
    // Prepare
    const dir = await makeTempDir();
    const store = openSqliteStore({ dbdir: dir.path, checkpointWorker, checkpointEveryRows: 1000 });
    const now = 1_800_000_000;
    const decideAt = (key: string) =>
      store.runDecision({ triplet: key, client: null }, now, () => ({
        writes: { triplet: { firstSeen: now, lastSeen: now, expiresAt: now + 60 } },
      }));
    // Frames in use, from the WAL index header in the -shm file (SQLite's documented format:
    // mxFrame, a native-endian u32 at byte 16), read without touching the database.
    const walFrames = (): number => readFileSync(join(dir.path, 'greygate.sqlite-shm')).readUInt32LE(16);

    // Act: about 30 MiB of WAL if it never started over, written without pauses
    let peakFrames = 0;
    for (let batch = 0; batch < 60; batch++) {
      await Promise.all(Array.from({ length: 500 }, (_, i) => decideAt(`k${batch}-${i}-${'x'.repeat(400)}`)));
      peakFrames = Math.max(peakFrames, walFrames());
    }
    // The cycle asked for by the last rows may still be under way: a few more decisions follow it.
    const deadline = Date.now() + 10_000;
    for (let i = 0; walFrames() > 100 && Date.now() < deadline; i++) {
      await decideAt(`tail-${i}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const settledFrames = walFrames();
    await store.close();
    const reopened = openSqliteStore({ dbdir: dir.path });
    const afterReopen = await reopened.countRecords(now);
    await reopened.close();
    await dir.cleanup();

    // Assess: the WAL started over during the writes (never starting over, it reached ~10,000
    // frames) and after them, and every row is in the file
    expect(peakFrames).toBeLessThan(5000);
    expect(settledFrames).toBeLessThanOrEqual(100);
    expect(afterReopen.triplets).toBeGreaterThanOrEqual(30_000);
  });
});
