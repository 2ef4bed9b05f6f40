// Starting and measuring the servers under test: each runs in its own process so RSS is its own,
// and each listens on a free loopback port.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, connect } from 'node:net';

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForPort(port: number, timeoutMs: number, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode} before listening on ${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A memory figure of /proc/<pid>/status (VmRSS, VmHWM, …), in MiB. */
function statusMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** Peak resident set size (VmHWM) of a process, in MiB. */
export function peakRssMiB(pid: number): number {
  return statusMiB(pid, 'VmHWM');
}

/** Current resident set size (VmRSS) of a process, in MiB. */
export function rssMiB(pid: number): number {
  return statusMiB(pid, 'VmRSS');
}

/** CPU time (user + system) a process has used so far, in seconds (Linux clock ticks of 1/100 s). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may contain spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

export interface Started {
  child: ChildProcess;
  stderr: () => string;
  stop(): Promise<void>;
}

export function startProcess(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Started {
  const child = spawn(command, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err = (err + d.toString()).slice(-8192);
  });
  return {
    child,
    stderr: () => err,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}

/** A server under test: its name, policy port, process and database directory. */
export interface Target {
  name: string;
  port: number;
  proc: Started;
  dir: string;
}

const ROOT = new URL('..', import.meta.url).pathname;

/**
 * `greygate serve` started as an admin starts it: the bin script itself, so its shebang's V8 flags
 * apply; on a free port, with a database of its own, without the HTTP listener unless `extraArgs`
 * asks for one.
 */
export async function startGreygate(extraArgs: string[] = [], name = 'greygate'): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'greygate-bench-'));
  const port = await freePort();
  const listeners = extraArgs.includes('--http') ? [] : ['--no-http'];
  const proc = startProcess(join(ROOT, 'bin/greygate.mjs'), ['serve', '--inet', `127.0.0.1:${port}`, ...listeners, '--dbdir', dir, '--quiet', ...extraArgs], {
    cwd: ROOT,
  });
  await waitForPort(port, 20_000, proc.child).catch((err: Error) => {
    throw new Error(`${err.message}\n${proc.stderr()}`);
  });
  return { name, port, proc, dir };
}
