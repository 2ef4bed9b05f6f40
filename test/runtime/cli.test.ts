// `greygate serve` as a process: flags, signals, and a kill -9 in the middle of traffic.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decisionKeys, parsePolicyRequest } from '../../functions/core/index.ts';
import { DEFAULT_POLICY_CONFIG } from '../../functions/core/policy-config.ts';
import { openSqliteStore } from '../../functions/store/sqlite-store.ts';
import { freePort, waitForPort } from '../../bench/processes.ts';
import { PolicyClient, examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const root = new URL('../..', import.meta.url).pathname;
const cli = join(root, 'functions/runtime/cli.ts');

interface Proc {
  child: ChildProcessWithoutNullStreams;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function run(args: string[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { cwd: root, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, stderr: () => err, exited };
}

let dir: TempDir | undefined;
let proc: Proc | undefined;
afterEach(async () => {
  if (proc && proc.child.exitCode === null && proc.child.signalCode === null) {
    proc.child.kill('SIGKILL');
    await proc.exited;
  }
  proc = undefined;
  await dir?.cleanup();
  dir = undefined;
});

async function startServe(extra: string[] = []): Promise<{ port: number; dbdir: string }> {
  dir = await makeTempDir('greygate-cli-');
  const port = await freePort();
  const dbdir = join(dir.path, 'db');
  proc = run(['serve', '--inet', `127.0.0.1:${port}`, '--no-http', '--dbdir', dbdir, ...extra]);
  await waitForPort(port, 20_000, proc.child);
  return { port, dbdir };
}

async function waitFor(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('greygate serve as a process', () => {
  it('stops at start-up on a bad flag value, naming the flag and the accepted form', async () => {
    // Act
    proc = run(['serve', '--delay', 'five']);
    const { code } = await proc.exited;

    // Assess
    expect(code).toBe(2);
    expect(proc.stderr()).toContain('--delay: "five" is not valid; expected seconds');
  });

  it('reloads whitelists on SIGHUP and drains then exits 0 on SIGTERM', async () => {
    // Prepare
    const { port } = await startServe(['--delay=2']);
    const running = proc as Proc;
    const client = await PolicyClient.connect(`127.0.0.1:${port}`);
    expect(await client.request(examplePolicyRequest())).toMatch(/^DEFER_IF_PERMIT 4\.2\.0 Greylisted, please retry in 2 seconds$/);

    // Act
    running.child.kill('SIGHUP');
    await waitFor(() => running.stderr().includes('HUP received: reloading whitelists...'));
    const stillServing = await client.request(examplePolicyRequest({ recipient: 'other@example.org' }));
    running.child.kill('SIGTERM');
    const exit = await running.exited;

    // Assess
    expect(stillServing).toMatch(/^DEFER_IF_PERMIT/);
    expect(exit.code).toBe(0);
    expect(running.stderr()).toContain('action=greylist, reason=new, client_name=mail.example.net, client_address=192.0.2.10, sender=alice@example.net, recipient=bob@example.org');
  });

  it('loses no answered decision when killed with SIGKILL under load', async () => {
    // Prepare
    const { port, dbdir } = await startServe();
    const answered: Array<Record<string, string>> = [];
    let stop = false;
    const workers = Array.from({ length: 4 }, async (_, w) => {
      const client = await PolicyClient.connect(`127.0.0.1:${port}`, { timeoutMs: 2000 });
      for (let i = 0; !stop; i++) {
        const attrs = examplePolicyRequest({ client_address: `198.51.${w}.${i % 250}`, sender: `s${w}x${i}@example.net`, instance: `${w}.${i}` });
        try {
          await client.request(attrs);
        } catch {
          return;
        }
        answered.push(attrs);
      }
      client.destroy();
    });

    // Act
    await waitFor(() => answered.length >= 300, 15_000);
    (proc as Proc).child.kill('SIGKILL');
    await (proc as Proc).exited;
    stop = true;
    await Promise.all(workers);

    // Assess: every answer the client received is a committed record
    const store = openSqliteStore({ dbdir });
    const now = Math.floor(Date.now() / 1000);
    let missing = 0;
    for (const attrs of answered) {
      const parsed = parsePolicyRequest(new Map(Object.entries(attrs)));
      if (!parsed.ok) throw new Error(parsed.message);
      const state = await store.peek(decisionKeys(parsed.request, DEFAULT_POLICY_CONFIG), now);
      if (state.triplet === null) missing++;
    }
    await store.close();
    expect(answered.length).toBeGreaterThanOrEqual(300);
    expect(missing).toBe(0);
  });

  it('survives 1,000 connections opened and abandoned, then answers normally', async () => {
    // Prepare
    const { port } = await startServe();
    const { connect } = await import('node:net');

    // Act
    const sockets = await Promise.all(
      Array.from(
        { length: 1000 },
        (_, i) =>
          new Promise<import('node:net').Socket>((resolve) => {
            const s = connect(port, '127.0.0.1');
            s.on('error', () => {});
            s.once('connect', () => {
              if (i % 2 === 0) s.write('request=smtpd_access_policy\nclient_address=192.0.2.1\n');
              resolve(s);
            });
            s.once('close', () => resolve(s));
          }),
      ),
    );
    for (const s of sockets) s.destroy();
    const answers = await sendPolicyRequests(`127.0.0.1:${port}`, [examplePolicyRequest()]);

    // Assess
    expect(answers[0]).toMatch(/^DEFER_IF_PERMIT/);
    expect((proc as Proc).child.exitCode).toBeNull();
  });
});
