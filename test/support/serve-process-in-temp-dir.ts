// `greygate serve` as its own process, started the way `npm start` starts it (node --import tsx
// functions/runtime/cli.ts serve), on an ephemeral loopback port with a temp dbdir: for what only a
// real process shows, such as its start-up settings, signals, and a process whose event loop is stuck.

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort, waitForPort } from '../../bench/processes.ts';
import { makeTempDir, type TempDir } from './temp-dir.ts';

const root = new URL('../..', import.meta.url).pathname;
const cli = join(root, 'functions/runtime/cli.ts');

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  /** `127.0.0.1:port` of the policy listener. */
  policyAddress: string;
  dir: TempDir;
  /** Everything logged so far (serve logs to stderr). */
  stderr(): string;
  /** Resolves once the log contains `text`; rejects after `timeoutMs`. */
  waitForLog(text: string, timeoutMs?: number): Promise<void>;
  /** SIGKILL (a stuck process may no longer act on SIGTERM), then removes the temp dir. */
  stop(): Promise<void>;
}

/**
 * Starts serve with `args` (whitelists, delay…) plus its listener and dbdir; `files` are written
 * into the temp dir first, and `{dir}` in an argument stands for that directory.
 */
export async function startServeProcess(
  args: string[],
  files: Record<string, string> = {},
  opts: { startTimeoutMs?: number } = {},
): Promise<ServeProcess> {
  const dir = await makeTempDir('greygate-serve-process-');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir.path, name), text);
  const port = await freePort();
  const argv = ['serve', '--inet', `127.0.0.1:${port}`, '--no-http', '--dbdir', join(dir.path, 'db'), ...args.map((a) => a.replaceAll('{dir}', dir.path))];
  const child = spawn(process.execPath, ['--import', 'tsx', cli, ...argv], { cwd: root, env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
    await dir.cleanup();
  };
  try {
    await waitForPort(port, opts.startTimeoutMs ?? 20_000, child);
  } catch (error) {
    await stop();
    throw new Error(`greygate serve did not start: ${(error as Error).message}\n${err}`);
  }
  return {
    child,
    policyAddress: `127.0.0.1:${port}`,
    dir,
    stderr: () => err,
    async waitForLog(text, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!err.includes(text)) {
        if (Date.now() > deadline) throw new Error(`serve did not log ${JSON.stringify(text)} within ${timeoutMs} ms; it logged:\n${err}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    stop,
  };
}
