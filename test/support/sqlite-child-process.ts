// Runs a TypeScript script from test/support in a separate Node process (through tsx), so store
// tests can exercise what only another process can: SIGKILL, and several writers on one file.

import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { Readable, Writable } from 'node:stream';

export interface SupportChild {
  readonly process: ChildProcessByStdio<Writable, Readable, Readable>;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited and its output is complete. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout contains `text`; rejects if the process exits first. */
  waitFor(text: string): Promise<void>;
}

/** A script that outlives this bound is killed, so a stuck child never hangs the test run. */
const MAX_CHILD_MS = 20_000;

export function runSupportScript(script: string, args: string[]): SupportChild {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const guard = setTimeout(() => child.kill('SIGKILL'), MAX_CHILD_MS);
  const exited = once(child, 'close').then(([code, signal]: unknown[]) => {
    clearTimeout(guard);
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const waitFor = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (stdout.includes(text)) resolve();
      };
      child.stdout.on('data', check);
      check();
      void exited.then(() => reject(new Error(`${script} exited before printing ${JSON.stringify(text)}: ${stderr}`)));
    });
  return { process: child, stdout: () => stdout, stderr: () => stderr, exited, waitFor };
}
