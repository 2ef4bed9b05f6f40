// `greygate serve` while another process holds its SQLite file's write lock (an admin's sqlite3
// shell in a transaction, a backup): answers that need no store (a whitelisted client) go out at
// once, a decision waits for the lock without holding up anything else, and is stored once the lock
// is released, or answered DUNNO (fail open) once it has waited its bound; nothing stored is lost.

import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { PolicyClient, examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { runSupportScript, type SupportChild } from '../support/sqlite-child-process.ts';
import { startServeProcess, type ServeProcess } from '../support/serve-process.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

/** How long the other process holds the lock: longer than serve waits for it. */
const HOLD_MS = 6000;
/** Generous for a shared two-core machine; a request stuck behind the lock waits seconds. */
const AT_ONCE_MS = 500;
const WHITELISTED = '198.51.100.7';

let dir: TempDir | undefined;
let serve: ServeProcess | undefined;
let holder: SupportChild | undefined;

afterEach(async () => {
  if (holder && holder.process.exitCode === null) holder.process.kill('SIGKILL');
  await holder?.exited.catch(() => {});
  holder = undefined;
  await serve?.stop(1000);
  serve = undefined;
  await dir?.cleanup();
  dir = undefined;
});

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function timed(client: PolicyClient, attrs: Record<string, string>): Promise<{ answer: string; ms: number; at: number }> {
  const started = performance.now();
  const answer = await client.request(attrs);
  return { answer, ms: performance.now() - started, at: performance.now() };
}

describe('greygate serve while another process holds the database write lock', () => {
  it('answers whitelisted clients at once, and stores or fails open the decisions that wait for the lock', async () => {
    // Prepare
    dir = await makeTempDir('greygate-lock-');
    const clients = join(dir.path, 'clients');
    const recipients = join(dir.path, 'recipients');
    writeFileSync(clients, `${WHITELISTED}\n`);
    writeFileSync(recipients, '');
    const dbdir = join(dir.path, 'db');
    serve = await startServeProcess(['--dbdir', dbdir, '--delay', '1', '--whitelist-clients', clients, '--whitelist-recipients', recipients]);
    const before = [1, 2, 3].map((i) => examplePolicyRequest({ sender: `before${i}@example.net`, instance: `before.${i}` }));
    const storedBefore = await sendPolicyRequests(serve.policyAddress, before);
    const [whitelistedClient, firstClient, secondClient] = await Promise.all(
      [0, 1, 2].map(() => PolicyClient.connect((serve as ServeProcess).policyAddress, { timeoutMs: 15_000 })),
    );
    if (!whitelistedClient || !firstClient || !secondClient) throw new Error('no connection');

    // Act: the lock is taken; a decision comes at once, another halfway, whitelisted mail throughout
    holder = runSupportScript('./sqlite-lock-holder.ts', [join(dbdir, 'greygate.sqlite'), String(HOLD_MS)]);
    await holder.waitFor('locked');
    const lockedAt = performance.now();
    const first = timed(firstClient, examplePolicyRequest({ sender: 'first@example.net', instance: 'first' }));
    const second = sleep(HOLD_MS / 2).then(() =>
      timed(secondClient, examplePolicyRequest({ sender: 'second@example.net', instance: 'second' })),
    );
    const whitelisted: Array<{ answer: string; ms: number }> = [];
    for (let i = 0; performance.now() - lockedAt < HOLD_MS + 300; i += 1) {
      whitelisted.push(await timed(whitelistedClient, examplePolicyRequest({ client_address: WHITELISTED, sender: `w${i}@example.net` })));
      await sleep(100);
    }
    await holder.exited;
    const [firstDone, secondDone] = await Promise.all([first, second]);
    await sleep(1100);
    const retried = await sendPolicyRequests(serve.policyAddress, [
      ...before,
      examplePolicyRequest({ sender: 'second@example.net', instance: 'second.retry' }),
    ]);
    for (const client of [whitelistedClient, firstClient, secondClient]) await client.close();

    // Assess: whitelisted mail never waited for the lock
    expect(storedBefore.every((a) => a.startsWith('DEFER_IF_PERMIT'))).toBe(true);
    expect(whitelisted.length).toBeGreaterThan(20);
    expect(whitelisted.every((w) => w.answer === 'DUNNO')).toBe(true);
    expect(Math.max(...whitelisted.map((w) => w.ms))).toBeLessThan(AT_ONCE_MS);
    // the first decision waited its bound (5 s), under the hold, then failed open with a reason
    expect(firstDone.answer).toBe('DUNNO');
    expect(firstDone.ms).toBeGreaterThan(4000);
    expect(firstDone.at - lockedAt).toBeLessThan(HOLD_MS + 1000);
    expect(serve.logLines().some((l) => l.startsWith('ERROR: decision failed, answering DUNNO:') && l.includes('locked'))).toBe(true);
    // the second one was stored once the lock was released
    expect(secondDone.answer).toMatch(/^DEFER_IF_PERMIT/);
    // nothing stored before (or while waiting) is lost: their retries pass
    expect(retried.every((a) => a.startsWith('PREPEND X-Greylist: delayed'))).toBe(true);
  });
});
