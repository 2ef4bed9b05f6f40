// `greygate serve` with few file descriptors (ulimit -n 256), its HTTP listener flooded with
// connections that never finish their headers: the policy port must keep answering Postfix, and
// the log must say what is happening. A real process, because descriptors are per process.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import net from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, waitForPort } from '../../bench/processes.ts';
import { examplePolicyRequest, sendPolicyRequests } from '../support/policy-client.ts';
import { makeTempDir, type TempDir } from '../support/temp-dir.ts';

const root = new URL('../..', import.meta.url).pathname;
const cli = join(root, 'functions/runtime/cli.ts');
const FD_LIMIT = 256;
// Comfortably more than the descriptors the process has, so an uncapped listener runs out.
const SLOW_CONNECTIONS = 2 * FD_LIMIT;

let dir: TempDir | undefined;
let child: ChildProcessWithoutNullStreams | undefined;
const slow: net.Socket[] = [];
/** What the server sent on each slow connection, by socket. */
const received = new Map<net.Socket, string>();
afterEach(async () => {
  for (const socket of slow.splice(0)) socket.destroy();
  received.clear();
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((resolve) => child?.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }
  child = undefined;
  await dir?.cleanup();
  dir = undefined;
});

/** Opens a connection that sends a request line and one header, and never the blank line. */
function slowHeaders(port: number): Promise<void> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    slow.push(socket);
    socket.on('error', () => {}); // resets are what the flood provokes
    socket.on('data', (d: Buffer) => received.set(socket, (received.get(socket) ?? '') + d.toString()));
    socket.once('connect', () => {
      socket.write('GET /healthz HTTP/1.1\r\nHost: greygate.test\r\n');
      resolve();
    });
    socket.once('close', () => resolve());
  });
}

describe('greygate serve with a low open-file limit', () => {
  it('keeps answering on the policy port while slow-header connections pile up on the HTTP port, logs it, and times their headers out', { timeout: 60_000 }, async () => {
    // Prepare
    dir = await makeTempDir('greygate-fds-');
    const [policyPort, httpPort] = [await freePort(), await freePort()];
    const args = ['--import', 'tsx', cli, 'serve', '--inet', `127.0.0.1:${policyPort}`, '--http', `127.0.0.1:${httpPort}`, '--dbdir', join(dir.path, 'db')];
    child = spawn('sh', ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$@"`, process.execPath, ...args], {
      cwd: root,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    let log = '';
    child.stderr.on('data', (d: Buffer) => {
      log += d.toString();
    });
    await waitForPort(policyPort, 20_000, child);
    await waitForPort(httpPort, 20_000, child);

    // Act
    for (let i = 0; i < SLOW_CONNECTIONS; i += 32) {
      await Promise.all(Array.from({ length: Math.min(32, SLOW_CONNECTIONS - i) }, () => slowHeaders(httpPort)));
    }
    const answers: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      try {
        const request = examplePolicyRequest({ recipient: `user${i}@example.org` });
        answers.push(...(await sendPolicyRequests(`127.0.0.1:${policyPort}`, [request], { timeoutMs: 5000 })));
      } catch (err) {
        answers.push(`no answer: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    // The connections let in are answered 408 once their headers are 10 s late (checked every second).
    const deadline = Date.now() + 20_000;
    while (![...received.values()].some((text) => text.startsWith('HTTP/1.1 408')) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }

    // Assess
    expect(answers).toEqual(Array.from({ length: 5 }, () => expect.stringMatching(/^DEFER_IF_PERMIT /)));
    expect(log).toContain(`the open-file limit (${FD_LIMIT}) is too low`);
    expect(log).toMatch(new RegExp(`HTTP listener 127\\.0\\.0\\.1:${httpPort}: refused \\d+ connection\\(s\\): its limit of \\d+ connections is reached`));
    expect([...received.values()].filter((text) => text.startsWith('HTTP/1.1 408')).length).toBeGreaterThan(0);
    expect(child.exitCode).toBeNull();
  });
});
