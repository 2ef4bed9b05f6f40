// greygate as an admin runs it, each in a process of its own started from the checkout's sources
// (`node --import tsx ...`): `greygate serve`, `greygate token`, and the bridge. Every listener is
// on a free 127.0.0.1 port; each resolves once the process logged that it is serving.

import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from '../../../bench/processes.ts';
import { spawnLogged, type LoggedProcess } from './logged-process.ts';

const run = promisify(execFile);

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CLI = join(REPO_ROOT, 'functions/runtime/cli.ts');
const BRIDGE = join(REPO_ROOT, 'bridge/main.ts');
/** The shipped lists, named explicitly so a local /etc/greygate/*.local cannot change the results. */
export const SHIPPED_CLIENT_WHITELIST = join(REPO_ROOT, 'whitelists/clients');
export const SHIPPED_RECIPIENT_WHITELIST = join(REPO_ROOT, 'whitelists/recipients');

const STARTUP_TIMEOUT_MS = 30_000;

function tsxNode(name: string, script: string, args: readonly string[]): LoggedProcess {
  return spawnLogged(name, process.execPath, ['--import', 'tsx', script, ...args], { cwd: REPO_ROOT });
}

async function started(proc: LoggedProcess, ready: RegExp): Promise<void> {
  try {
    await proc.waitForLine(ready, { timeoutMs: STARTUP_TIMEOUT_MS });
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

export interface GreygateServe {
  readonly policyPort: number;
  /** `http://127.0.0.1:PORT`, or null without the HTTP API. */
  readonly apiUrl: string | null;
  readonly process: LoggedProcess;
  stop(): Promise<void>;
}

/**
 * `greygate serve --inet 127.0.0.1:<free> --dbdir <dir>/db --hostname mx.greygate.test` with the
 * shipped whitelists, plus `args`. `http`: also serve the API on a free port, accepting only the
 * token whose SHA-256 is given.
 */
export async function startGreygateServe(dir: string, args: readonly string[], http?: { tokenSha256: string }): Promise<GreygateServe> {
  const policyPort = await freePort();
  const httpPort = http ? await freePort() : null;
  const listeners = httpPort === null ? ['--no-http'] : ['--http', `127.0.0.1:${httpPort}`, '--token-sha256', http?.tokenSha256 ?? ''];
  const proc = tsxNode('greygate serve', CLI, [
    'serve',
    '--inet', `127.0.0.1:${policyPort}`,
    ...listeners,
    '--dbdir', join(dir, 'db'),
    '--hostname', 'mx.greygate.test',
    '--whitelist-clients', SHIPPED_CLIENT_WHITELIST,
    '--whitelist-recipients', SHIPPED_RECIPIENT_WHITELIST,
    ...args,
  ]);
  await started(proc, /serving policy on/);
  return {
    policyPort,
    apiUrl: httpPort === null ? null : `http://127.0.0.1:${httpPort}`,
    process: proc,
    stop: () => proc.stop(),
  };
}

export interface ApiToken {
  token: string;
  sha256: string;
}

/** What `greygate token` prints: a new token for the bridge and the hash for serve. */
export async function newApiToken(): Promise<ApiToken> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', CLI, 'token'], { cwd: REPO_ROOT, timeout: STARTUP_TIMEOUT_MS });
  const token = /^token:\s+(\S+)$/m.exec(stdout)?.[1];
  const sha256 = /^sha256:\s+([0-9a-f]{64})$/m.exec(stdout)?.[1];
  if (!token || !sha256) throw new Error(`greygate token printed no token and hash:\n${stdout}`);
  return { token, sha256 };
}

export interface Bridge {
  readonly policyPort: number;
  readonly process: LoggedProcess;
  stop(): Promise<void>;
}

/** The bridge on a free 127.0.0.1 port, asking `apiUrl` with `token` (written to `<dir>/token`), plus `args`. */
export async function startBridge(dir: string, apiUrl: string, token: ApiToken, args: readonly string[] = []): Promise<Bridge> {
  const policyPort = await freePort();
  const tokenFile = join(dir, 'bridge-token');
  writeFileSync(tokenFile, `${token.token}\n`, { mode: 0o600 });
  const proc = tsxNode('greygate-bridge', BRIDGE, ['--inet', `127.0.0.1:${policyPort}`, '--api', apiUrl, '--token-file', tokenFile, ...args]);
  await started(proc, /greygate-bridge on /);
  return { policyPort, process: proc, stop: () => proc.stop() };
}
