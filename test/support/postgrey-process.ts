// A private Postgrey (Debian's `postgrey` package) for comparison tests: a free loopback port, a
// temp dbdir, its stderr log captured line by line, stopped by its own PID.
//
//   if (postgreyBinary() !== null) {
//     const pg = await startPostgrey(['--delay=2']);
//     ... PolicyClient.connect(pg.address) ...
//     await pg.waitForLog((line) => line.includes('action=greylist'));
//     await pg.stop();
//   }
//
// Postgrey started as root drops to its own user, so the dbdir is handed to that user; started as
// anyone else it is told to stay that user (Net::Server cannot switch users without root).

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort, waitForPort } from '../../bench/processes.ts';
import { makeTempDir, type TempDir } from './temp-dir.ts';

const CANDIDATE_PATHS = ['/usr/sbin/postgrey', '/usr/bin/postgrey'];

/** The installed postgrey script, or null when the package is not installed. */
export function postgreyBinary(): string | null {
  return CANDIDATE_PATHS.find((path) => existsSync(path)) ?? null;
}

export interface PostgreyProcess {
  /** `127.0.0.1:PORT`, for PolicyClient.connect. */
  readonly address: string;
  readonly port: number;
  readonly pid: number;
  readonly dbdir: string;
  /** Every complete line postgrey wrote to stderr so far (no timestamps in the foreground). */
  logLines(): string[];
  /** Resolves with the first line (from index `from` on) that satisfies `match`; rejects on timeout. */
  waitForLog(match: (line: string) => boolean, opts?: { from?: number; timeoutMs?: number }): Promise<string>;
  /** SIGTERM, then SIGKILL after 5 s; removes the dbdir. Safe to call twice. */
  stop(): Promise<void>;
}

function idOf(flag: '-u' | '-g' | '-un' | '-gn', user?: string): string {
  return execFileSync('id', user === undefined ? [flag] : [flag, user]).toString().trim();
}

/** Flags that let postgrey open `dbdir` after it dropped privileges. */
function prepareDbdir(dbdir: string): string[] {
  if (process.getuid?.() !== 0) return [`--user=${userInfo().username}`, `--group=${idOf('-gn')}`];
  try {
    chownSync(dbdir, Number(idOf('-u', 'postgrey')), Number(idOf('-g', 'postgrey')));
  } catch (err) {
    throw new Error('postgrey runs as user "postgrey", which does not exist here; reinstall the postgrey package', { cause: err });
  }
  return [];
}

/**
 * Starts `postgrey --inet=127.0.0.1:PORT --dbdir=TEMP ...args` in the foreground and resolves once it
 * accepts connections. `args` must not contain --inet, --unix, --dbdir or --daemonize.
 */
export async function startPostgrey(args: readonly string[], opts: { timeoutMs?: number } = {}): Promise<PostgreyProcess> {
  const bin = postgreyBinary();
  if (bin === null) throw new Error('postgrey is not installed (apt-get install postgrey)');
  const dir: TempDir = await makeTempDir('postgrey-compat-');
  const dbdir = join(dir.path, 'db');
  let userFlags: string[];
  try {
    mkdirSync(dbdir, { mode: 0o700 });
    // The parent must be traversable by the postgrey user to reach its dbdir.
    chmodSync(dir.path, 0o755);
    userFlags = prepareDbdir(dbdir);
  } catch (err) {
    await dir.cleanup();
    throw err;
  }
  const port = await freePort();
  const child: ChildProcess = spawn(bin, [`--inet=127.0.0.1:${port}`, `--dbdir=${dbdir}`, ...userFlags, ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) {
    await dir.cleanup();
    throw new Error(`could not start ${bin}`);
  }

  const lines: string[] = [];
  let partial = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = (): void => {
    if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
  };
  // A test runner that dies mid-file must not leave a daemon on the machine.
  process.once('exit', killOnExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.off('exit', killOnExit);
    if (child.exitCode === null && child.signalCode === null) {
      process.kill(pid, 'SIGTERM');
      const timer = setTimeout(() => {
        if (child.exitCode === null && child.signalCode === null) process.kill(pid, 'SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(timer);
    }
    await dir.cleanup();
  };

  try {
    await waitForPort(port, opts.timeoutMs ?? 20_000, child);
  } catch (err) {
    await stop();
    throw new Error(`postgrey did not start: ${(err as Error).message}\n${lines.join('\n')}${partial}`, { cause: err });
  }

  return {
    address: `127.0.0.1:${port}`,
    port,
    pid,
    dbdir,
    logLines: () => [...lines],
    async waitForLog(match, waitOpts = {}) {
      const deadline = Date.now() + (waitOpts.timeoutMs ?? 5000);
      for (;;) {
        const found = lines.slice(waitOpts.from ?? 0).find(match);
        if (found !== undefined) return found;
        if (child.exitCode !== null || child.signalCode !== null) {
          throw new Error(`postgrey exited (${child.exitCode ?? child.signalCode}) before logging the awaited line:\n${lines.slice(-20).join('\n')}`);
        }
        if (Date.now() > deadline) throw new Error(`postgrey did not log the awaited line in time; last lines:\n${lines.slice(-20).join('\n')}`);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    },
    stop,
  };
}
