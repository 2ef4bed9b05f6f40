// A whitelist regex that backtracks, a sender that picks its own PTR name: `greygate serve` as a
// process (the start-up settings of its entry file are part of what is tested) answers the hostile
// request at once and every other client meanwhile.

import { afterEach, describe, expect, it } from 'vitest';
import { PolicyClient, examplePolicyRequest } from '../support/policy-client.ts';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startServeProcess, type ServeProcess } from '../support/serve-process.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const BACKTRACKING_CLIENT = '/^([a-z0-9-]+\\.?)+\\.example\\.com$/';
const BACKTRACKING_RECIPIENT = '/^([a-z0-9-]+\\.?)+@lists\\.example\\.org$/';
/** The default engine needs minutes for this many letters against the regexes above. */
const HOSTILE_LABEL = 'a'.repeat(40);
/**
 * The server's own time for such an answer is a few milliseconds; the bound leaves room for a
 * shared, busy test machine and is still far below what a backtracking match takes.
 */
const ANSWER_BOUND_MS = 500;

let serve: (ServeProcess & { dir: TempDir }) | undefined;
afterEach(async () => {
  // A stuck process may no longer act on SIGTERM: SIGKILL follows at once.
  await serve?.stop(0);
  await serve?.dir.cleanup();
  serve = undefined;
});

/** serve with `files` written into a temp dir first; `{dir}` in an argument stands for that dir. */
async function startWithFiles(args: string[], files: Record<string, string>): Promise<ServeProcess & { dir: TempDir }> {
  const dir = await makeTempDir('greygate-regex-serve-');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir.path, name), text);
  const started = await startServeProcess(['--dbdir', join(dir.path, 'db'), ...args.map((a) => a.replaceAll('{dir}', dir.path))]);
  return Object.assign(started, { dir });
}

interface SteadyResult {
  answers: number;
  slowestMs: number;
  /** Why the client gave up: a request not answered in time, for one. */
  failure?: string;
}

/** Requests from a well-behaved client, one every 20 ms until stopped. */
function steadyClient(address: string): { stop(): Promise<SteadyResult> } {
  let running = true;
  const done = (async (): Promise<SteadyResult> => {
    const result: SteadyResult = { answers: 0, slowestMs: 0 };
    let client: PolicyClient | undefined;
    try {
      client = await PolicyClient.connect(address, { timeoutMs: 3000 });
      for (let i = 0; running; i++) {
        const started = performance.now();
        await client.request(examplePolicyRequest({ client_name: 'mx1.partner.example', instance: `steady${i}`, sender: `n${i}@partner.example` }));
        result.slowestMs = Math.max(result.slowestMs, performance.now() - started);
        result.answers += 1;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    } catch (error) {
      result.failure = (error as Error).message;
    } finally {
      client?.destroy();
    }
    return result;
  })();
  return {
    async stop() {
      running = false;
      return done;
    },
  };
}

async function timed(client: PolicyClient, attrs: Record<string, string>): Promise<{ answer: string; ms: number }> {
  const started = performance.now();
  const answer = await client.request(attrs);
  return { answer, ms: performance.now() - started };
}

describe('greygate serve with backtracking whitelist regexes', () => {
  it('answers a hostile client_name or recipient at once, and other clients are not delayed', async () => {
    // Prepare
    serve = await startWithFiles(
      ['--delay', '2', '--whitelist-clients', '{dir}/clients', '--whitelist-recipients', '{dir}/recipients'],
      { clients: `# partners\n${BACKTRACKING_CLIENT}\n`, recipients: `${BACKTRACKING_RECIPIENT}\n` },
    );
    const attacker = await PolicyClient.connect(serve.policyAddress, { timeoutMs: 3000 });
    // The regexes still whitelist what they were written for, in any case.
    expect(await attacker.request(examplePolicyRequest({ client_name: 'Mail.Out.EXAMPLE.com', instance: 'w1' }))).toBe('DUNNO');
    expect(await attacker.request(examplePolicyRequest({ recipient: 'Sales@Lists.example.org', instance: 'w2' }))).toBe('DUNNO');
    const steady = steadyClient(serve.policyAddress);
    await new Promise((resolve) => setTimeout(resolve, 100));

    // Act
    const hostile: Array<{ answer: string; ms: number }> = [];
    let others: SteadyResult;
    try {
      hostile.push(await timed(attacker, examplePolicyRequest({ client_name: `${HOSTILE_LABEL}.attacker.net`, instance: 'h1' })));
      hostile.push(await timed(attacker, examplePolicyRequest({ recipient: `${HOSTILE_LABEL}@attacker.net`, instance: 'h2' })));
      hostile.push(await timed(attacker, examplePolicyRequest({ client_name: `${'a'.repeat(250)}.attacker.net`, instance: 'h3' })));
      await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      attacker.destroy();
      others = await steady.stop();
    }

    // Assess: greylisted as any unknown client, in a few milliseconds
    expect(hostile.map((h) => h.answer)).toEqual(Array(3).fill('DEFER_IF_PERMIT 4.2.0 Greylisted, please retry in 2 seconds'));
    expect(Math.max(...hostile.map((h) => h.ms))).toBeLessThan(ANSWER_BOUND_MS);
    expect(others.failure).toBeUndefined();
    expect(others.answers).toBeGreaterThanOrEqual(5);
    expect(others.slowestMs).toBeLessThan(ANSWER_BOUND_MS);
  });

  it('refuses at start-up a regex only the backtracking engine can run, naming file and line', async () => {
    // Prepare: a backreference, which the linear-time engine cannot run
    const refused = '/^(mx|mail)\\1\\.partner\\.net$/';
    const clients = `partner.example\n${refused}\n${BACKTRACKING_CLIENT}\n`;

    // Act
    serve = await startWithFiles(['--whitelist-clients', '{dir}/clients'], { clients });
    const client = await PolicyClient.connect(serve.policyAddress, { timeoutMs: 3000 });
    const answers = [
      await client.request(examplePolicyRequest({ client_name: 'mxmx.partner.net', instance: 'r1' })),
      await client.request(examplePolicyRequest({ client_name: 'a.partner.example', instance: 'r2' })),
      await client.request(examplePolicyRequest({ client_name: 'relay.example.com', instance: 'r3' })),
    ];
    client.destroy();

    // Assess: the refused line is skipped, the rest of the file works
    expect(serve.logLines().join('\n')).toContain(`${serve.dir.path}/clients line 2: ${JSON.stringify(refused)} could take seconds to match a hostile name`);
    expect(answers[0]).toMatch(/^DEFER_IF_PERMIT/);
    expect(answers.slice(1)).toEqual(['DUNNO', 'DUNNO']);
  });
});
