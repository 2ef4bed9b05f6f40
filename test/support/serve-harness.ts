// Starts `greygate serve` in-process on ephemeral loopback ports with a temp dbdir, and records
// what it logs, so tests read like an admin's session: send requests, read answers and log lines.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseServeConfig } from '../../functions/config/serve-config.ts';
import type { Logger } from '../../policy/logger.ts';
import { startServe, type RunningServe } from '../../functions/runtime/serve.ts';
import { makeTempDir, type TempDir } from './temp-dir.ts';

export class RecordingLogger implements Logger {
  readonly lines: Array<{ level: 'info' | 'warn' | 'error'; msg: string; fields?: Record<string, unknown> }> = [];
  info(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', msg, ...(fields ? { fields } : {}) });
  }
  warn(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', msg, ...(fields ? { fields } : {}) });
  }
  error(msg: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'error', msg, ...(fields ? { fields } : {}) });
  }
  messages(level?: 'info' | 'warn' | 'error'): string[] {
    return this.lines.filter((l) => level === undefined || l.level === level).map((l) => l.msg);
  }
}

export interface ServeHarness {
  serve: RunningServe;
  logger: RecordingLogger;
  dir: TempDir;
  policyAddress: string;
  httpUrl: string;
  /** Writes a file in the temp dir and returns its path. */
  writeFile(name: string, text: string): Promise<string>;
  stop(): Promise<void>;
}

/**
 * `args` are `greygate serve` flags; listeners default to ephemeral loopback ports and the dbdir to
 * a temp dir. Whitelists default to empty files so tests do not depend on the shipped lists.
 */
export async function startServeHarness(args: string[] = [], opts: { whitelists?: 'empty' | 'default' } = {}): Promise<ServeHarness> {
  const dir = await makeTempDir('greygate-serve-');
  const writeIn = async (name: string, text: string): Promise<string> => {
    const path = join(dir.path, name);
    await writeFile(path, text);
    return path;
  };
  const wl: string[] = [];
  if ((opts.whitelists ?? 'empty') === 'empty') {
    if (!args.includes('--whitelist-clients')) wl.push('--whitelist-clients', await writeIn('empty_clients', ''));
    if (!args.includes('--whitelist-recipients')) wl.push('--whitelist-recipients', await writeIn('empty_recipients', ''));
  }
  const { config } = parseServeConfig(
    ['--inet', '127.0.0.1:0', '--http', '127.0.0.1:0', '--dbdir', join(dir.path, 'db'), '--hostname', 'mx.test', ...wl, ...args],
    {},
  );
  const logger = new RecordingLogger();
  const serve = await startServe(config, { logger });
  const http = serve.httpAddress();
  return {
    serve,
    logger,
    dir,
    policyAddress: serve.policyAddresses()[0] as string,
    httpUrl: http ? `http://${http.host}:${http.port}` : '',
    writeFile: writeIn,
    async stop() {
      await serve.close({ drainTimeoutMs: 1000 });
      await dir.cleanup();
    },
  };
}
