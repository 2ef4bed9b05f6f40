// `greygate serve` when its decisions cannot be stored, as a monitor and an admin see it: /healthz
// answers 503 although the store still answers reads, the log says so in one line (not one per
// mail), and once the store can be written again /healthz answers 200 and the log says that once
// too. Real processes on real files: a full disk (a small tmpfs, filled; mounting needs root) and
// a database file whose B-tree interior pages are overwritten.

import { execFileSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { openSqliteStore } from '../../functions/store/sqlite-store.ts';
import { examplePolicyRequest, sendPolicyRequests, type PolicyAttributes } from '../support/policy-client.ts';
import { startServeProcess, type ServeProcess } from '../support/serve-process.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const DOWN = 'store: decisions cannot be stored';
const UP = 'store: decisions are stored again';
const PAGE = 4096;

let dir: TempDir | undefined;
let serve: ServeProcess | undefined;
let mounted: string | undefined;

afterEach(async () => {
  await serve?.stop(1000);
  serve = undefined;
  if (mounted !== undefined) {
    try {
      execFileSync('umount', [mounted]);
    } catch {
      execFileSync('umount', ['-l', mounted]);
    }
    mounted = undefined;
  }
  await dir?.cleanup();
  dir = undefined;
});

/** Distinct triplets, so that each one is a new decision with a write. */
function requests(tag: string, count: number): PolicyAttributes[] {
  return Array.from({ length: count }, (_, i) =>
    examplePolicyRequest({ client_address: `198.51.100.${i % 250}`, sender: `${tag}${i}@example.net`, instance: `${tag}.${i}` }),
  );
}

async function health(s: ServeProcess): Promise<{ status: number; body: string }> {
  const res = await fetch(`${s.httpUrl}/healthz`);
  return { status: res.status, body: await res.text() };
}

async function httpCheck(s: ServeProcess, sender: string): Promise<number> {
  const res = await fetch(`${s.httpUrl}/v1/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ client_address: '203.0.113.9', sender, recipient: 'bob@example.org' }),
  });
  await res.arrayBuffer();
  return res.status;
}

function linesWith(s: ServeProcess, text: string): string[] {
  return s.logLines().filter((line) => line.includes(text));
}

/** Writes zeros into `path` until the file system is full. */
function fillUp(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (const size of [1024 * 1024, 64 * 1024, PAGE, 512]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          writeSync(fd, chunk);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
}

async function emptyWhitelists(path: string): Promise<string[]> {
  writeFileSync(join(path, 'clients'), '');
  writeFileSync(join(path, 'recipients'), '');
  return ['--whitelist-clients', join(path, 'clients'), '--whitelist-recipients', join(path, 'recipients')];
}

describe('greygate serve: /healthz and the log when decisions cannot be stored', () => {
  it('on a full disk: 503 and one line; space freed: 200 and one line; nothing stored before is lost', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('mounting the small tmpfs that this test fills needs root (the CI runs as root)');
    // Prepare: the dbdir on a 4 MiB tmpfs, and three triplets stored while there is space
    dir = await makeTempDir('greygate-full-disk-');
    const mnt = join(dir.path, 'mnt');
    mkdirSync(mnt);
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m,mode=0700', 'tmpfs', mnt], { stdio: 'pipe' });
    } catch (err) {
      ctx.skip(`this root cannot mount a tmpfs here (no CAP_SYS_ADMIN?): ${err instanceof Error ? err.message : String(err)}`);
    }
    mounted = mnt;
    serve = await startServeProcess(['--dbdir', join(mnt, 'db'), '--delay', '1', ...(await emptyWhitelists(dir.path))]);
    const before = requests('before', 3);
    const storedBefore = await sendPolicyRequests(serve.policyAddress, before);
    const delayOver = new Promise((resolve) => setTimeout(resolve, 1100));
    const healthBefore = await health(serve);

    // Act: the disk fills up, and mail keeps coming (policy and HTTP)
    fillUp(join(mnt, 'filler'));
    const whileFull = await sendPolicyRequests(serve.policyAddress, requests('full', 60));
    const httpWhileFull = [await httpCheck(serve, 'h1@example.net'), await httpCheck(serve, 'h2@example.net')];
    const healthWhileFull = await health(serve);
    const downLines = linesWith(serve, DOWN);
    const errorLinesWhileFull = linesWith(serve, 'ERROR: ').length;

    // Act: space freed, mail keeps coming
    rmSync(join(mnt, 'filler'));
    const afterFreed = await sendPolicyRequests(serve.policyAddress, requests('freed', 10));
    const healthAfter = await health(serve);
    await delayOver;
    const retried = await sendPolicyRequests(serve.policyAddress, before);

    // Assess: while full, every decision failed open and /healthz said so
    expect(storedBefore.every((a) => a.startsWith('DEFER_IF_PERMIT'))).toBe(true);
    expect(healthBefore.status).toBe(200);
    expect(whileFull).toEqual(Array(60).fill('DUNNO'));
    expect(httpWhileFull).toEqual([503, 503]);
    expect(healthWhileFull).toEqual({ status: 503, body: '{"status":"unavailable"}' });
    expect(downLines).toHaveLength(1);
    expect(downLines[0]).toMatch(/^ERROR: store: decisions cannot be stored \(\d+ of the last \d+ failed, the last with: .*SQLITE_FULL/);
    // the change, and examples of the 62 failures at a bounded rate (policy and HTTP each)
    expect(errorLinesWhileFull).toBeLessThanOrEqual(1 + 10 + 10);
    // Assess: once freed, decisions are stored again, and what was stored before the disk filled is kept
    expect(afterFreed.every((a) => a.startsWith('DEFER_IF_PERMIT'))).toBe(true);
    expect(healthAfter).toEqual({ status: 200, body: '{"status":"ok"}' });
    expect(linesWith(serve, DOWN)).toHaveLength(1);
    expect(linesWith(serve, UP)).toHaveLength(1);
    expect(retried.every((a) => a.startsWith('PREPEND X-Greylist: delayed'))).toBe(true);
  });

  it('on a database with corrupt interior pages: 503 and one line; repaired and restarted: 200, no record lost', async () => {
    // Prepare: a database of 20,000 triplets, closed cleanly (its WAL copied into the file)
    dir = await makeTempDir('greygate-corrupt-');
    const dbdir = join(dir.path, 'db');
    const file = join(dbdir, 'greygate.sqlite');
    const store = openSqliteStore({ dbdir });
    const now = Math.floor(Date.now() / 1000);
    await Promise.all(
      Array.from({ length: 20_000 }, (_, i) =>
        store.runDecision({ triplet: `existing/${i}/198.51.100.0/sender@example.net/bob@example.org`, client: null }, now, () => ({
          writes: { triplet: { firstSeen: now, lastSeen: now, expiresAt: now + 86_400 } },
        })),
      ),
    );
    await store.close();
    const reader = new Database(file, { readonly: true });
    const interior = reader
      .prepare<[], number>("SELECT pageno FROM dbstat WHERE name = 'triplets' AND pagetype = 'internal'")
      .pluck()
      .all();
    reader.close();
    expect(interior.length).toBeGreaterThanOrEqual(2);
    // Act: overwrite them, keeping the originals for the repair
    const originals = overwritePages(file, interior, Buffer.alloc(PAGE, 0xa5));
    const whitelists = await emptyWhitelists(dir.path);
    serve = await startServeProcess(['--dbdir', dbdir, ...whitelists]);
    const answers = await sendPolicyRequests(serve.policyAddress, requests('corrupt', 40));
    const httpStatus = await httpCheck(serve, 'h@example.net');
    const healthCorrupt = await health(serve);
    const downLines = linesWith(serve, DOWN);
    const errorLines = linesWith(serve, 'ERROR: ').length;
    await serve.stop();

    // Act: the admin's repair (here: the pages as they were), and a restart
    overwritePages(file, interior, originals);
    serve = await startServeProcess(['--dbdir', dbdir, ...whitelists]);
    const afterRepair = await sendPolicyRequests(serve.policyAddress, requests('repaired', 5));
    const healthRepaired = await health(serve);
    await serve.stop();
    const counted = new Database(file, { readonly: true });
    const triplets = counted.prepare<[], number>('SELECT count(*) FROM triplets').pluck().get();
    counted.close();

    // Assess
    expect(answers).toEqual(Array(40).fill('DUNNO'));
    expect(httpStatus).toBe(500);
    expect(healthCorrupt).toEqual({ status: 503, body: '{"status":"unavailable"}' });
    expect(downLines).toHaveLength(1);
    expect(downLines[0]).toMatch(/^ERROR: store: decisions cannot be stored \(\d+ of the last \d+ failed, the last with: .*is corrupt/);
    expect(errorLines).toBeLessThanOrEqual(1 + 10 + 10);
    expect(afterRepair.every((a) => a.startsWith('DEFER_IF_PERMIT'))).toBe(true);
    expect(healthRepaired.status).toBe(200);
    expect(triplets).toBe(20_000 + 5);
  });
});

/** Writes `pages` (1-based numbers) of `file` with `content` (one page, or one page each); returns what they held. */
function overwritePages(file: string, pages: number[], content: Buffer | Buffer[]): Buffer[] {
  const fd = openSync(file, 'r+');
  try {
    return pages.map((page, i) => {
      const offset = (page - 1) * PAGE;
      const old = Buffer.alloc(PAGE);
      readSync(fd, old, 0, PAGE, offset);
      writeSync(fd, Array.isArray(content) ? (content[i] as Buffer) : content, 0, PAGE, offset);
      return old;
    });
  } finally {
    closeSync(fd);
  }
}
