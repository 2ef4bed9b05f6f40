// A long-running child for the end-to-end suite (greygate serve, the bridge, smtp-sink, Postfix's
// master): its output kept line by line so a test can wait for what it logs, stopped by its own
// PID, and killed if the test runner goes first so nothing outlives the suite.
//
// vitest ends its workers with a signal, which skips 'exit' handlers; so the child is started
// through util-linux's `setpriv --pdeathsig KILL`, which execs it (same PID) with the kernel's
// parent-death signal set. Where setpriv is missing, the 'exit' handler is all there is.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

const SETPRIV = '/usr/bin/setpriv';

/** util-linux 2.33 and later have --pdeathsig. */
function hasSetpriv(): boolean {
  try {
    return execFileSync(SETPRIV, ['--help'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().includes('--pdeathsig');
  } catch {
    return false;
  }
}

const dieWithParent = hasSetpriv();

export interface LoggedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Every complete line written to stdout or stderr so far. */
  lines(): string[];
  /** The last lines, for error messages. */
  tail(n?: number): string;
  /** Resolves with the first line from index `from` on that matches; rejects on timeout or exit. */
  waitForLine(match: RegExp | ((line: string) => boolean), opts?: { from?: number; timeoutMs?: number }): Promise<string>;
  running(): boolean;
  /** SIGTERM, SIGKILL after `graceMs`; resolves once the process is gone. Safe to call twice. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnLogged(
  name: string,
  command: string,
  args: readonly string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; uid?: number; gid?: number } = {},
): LoggedProcess {
  // The credentials change first (spawn's uid/gid), since changing them clears the death signal.
  const [file, argv] = dieWithParent ? [SETPRIV, ['--pdeathsig', 'KILL', '--', command, ...args]] : [command, [...args]];
  const child: ChildProcess = spawn(file, argv, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(opts.uid === undefined ? {} : { uid: opts.uid }),
    ...(opts.gid === undefined ? {} : { gid: opts.gid }),
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not start ${command}`);

  const lines: string[] = [];
  const partial = { stdout: '', stderr: '' };
  const collect = (stream: 'stdout' | 'stderr') => (chunk: string) => {
    const parts = (partial[stream] + chunk).split('\n');
    partial[stream] = parts.pop() ?? '';
    lines.push(...parts);
  };
  child.stdout?.setEncoding('utf8').on('data', collect('stdout'));
  child.stderr?.setEncoding('utf8').on('data', collect('stderr'));

  let exitCode: string | null = null;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exitCode = String(code ?? signal);
      resolve();
    }),
  );
  child.once('error', (err) => lines.push(`${name}: ${err.message}`));
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const killOnExit = (): void => {
    if (running()) process.kill(pid, 'SIGKILL');
  };
  // A runner that dies mid-test must not leave daemons on loopback ports.
  process.once('exit', killOnExit);

  const tail = (n = 30): string => [...lines, partial.stdout, partial.stderr].filter((l) => l !== '').slice(-n).join('\n');

  let stopping: Promise<void> | undefined;
  return {
    name,
    pid,
    child,
    lines: () => [...lines],
    tail,
    running,
    async waitForLine(match, waitOpts = {}) {
      const test = typeof match === 'function' ? match : (line: string) => match.test(line);
      const deadline = Date.now() + (waitOpts.timeoutMs ?? 10_000);
      for (;;) {
        const found = lines.slice(waitOpts.from ?? 0).find(test);
        if (found !== undefined) return found;
        if (!running()) throw new Error(`${name} exited (${exitCode ?? '?'}) before logging the awaited line; last lines:\n${tail()}`);
        if (Date.now() > deadline) throw new Error(`${name} did not log the awaited line in time; last lines:\n${tail()}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    stop(graceMs = 5000) {
      stopping ??= (async () => {
        process.off('exit', killOnExit);
        if (!running()) return;
        process.kill(pid, 'SIGTERM');
        const timer = setTimeout(() => {
          if (running()) process.kill(pid, 'SIGKILL');
        }, graceMs);
        await exited;
        clearTimeout(timer);
      })();
      return stopping;
    },
  };
}
