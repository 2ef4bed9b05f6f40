// `greygate serve` as its own process (functions/runtime/cli.ts through tsx), on free loopback
// ports, with its log read as an admin reads it: for tests whose defect lives in the process as a
// whole (a blocked event loop, a full disk under it). Killed with SIGKILL if it outlives the test.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { freePort, waitForPort } from '../../bench/processes.ts';

const ROOT = new URL('../..', import.meta.url).pathname;
const CLI = join(ROOT, 'functions/runtime/cli.ts');
/** Longest a serve process may live, so a stuck test never leaves one behind. */
const MAX_LIFETIME_MS = 60_000;

export interface ServeProcess {
  readonly child: ChildProcessWithoutNullStreams;
  /** The policy listener, `127.0.0.1:port`. */
  readonly policyAddress: string;
  /** The HTTP API's base URL. */
  readonly httpUrl: string;
  /** Log lines written so far (stderr), in order. */
  logLines(): string[];
  /** Resolves once a log line contains `text`; rejects after `timeoutMs`. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it has exited. */
  stop(graceMs?: number): Promise<void>;
}

/** `args` are serve's flags besides the listeners, which this picks (free loopback ports). */
export async function startServeProcess(args: string[]): Promise<ServeProcess> {
  const [policyPort, httpPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', CLI, 'serve', '--inet', `127.0.0.1:${policyPort}`, '--http', `127.0.0.1:${httpPort}`, ...args],
    { cwd: ROOT, env: { ...process.env, NODE_NO_WARNINGS: '1' } },
  );
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    log += chunk;
  });
  child.stdout.resume();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const guard = setTimeout(() => child.kill('SIGKILL'), MAX_LIFETIME_MS);
  void exited.then(() => clearTimeout(guard));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  try {
    await waitForPort(policyPort, 20_000, child);
    await waitForPort(httpPort, 5_000, child);
  } catch (err) {
    if (running()) child.kill('SIGKILL');
    await exited;
    throw new Error(`greygate serve did not start: ${err instanceof Error ? err.message : String(err)}\n${log}`);
  }
  const logLines = (): string[] => log.split('\n').filter((line) => line !== '');
  return {
    child,
    policyAddress: `127.0.0.1:${policyPort}`,
    httpUrl: `http://127.0.0.1:${httpPort}`,
    logLines,
    async waitForLog(text, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!logLines().some((line) => line.includes(text))) {
        if (Date.now() > deadline) throw new Error(`no log line containing ${JSON.stringify(text)} within ${timeoutMs} ms:\n${log}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop(graceMs = 5000) {
      if (!running()) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
