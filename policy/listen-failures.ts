// Why a listener could not start or could not accept, in words an admin can act on, and the one
// case greygate repairs itself: a unix socket file left behind by a crashed process.

import { lstat, unlink } from 'node:fs/promises';
import net from 'node:net';
import { describeError, type Logger } from './logger.ts';

export type PolicyServerErrorCode = 'ERR_POLICY_LISTEN' | 'ERR_POLICY_SOCKET_IN_USE' | 'ERR_POLICY_SERVER_CLOSED';

export class PolicyServerError extends Error {
  override readonly name = 'PolicyServerError';
  constructor(
    readonly code: PolicyServerErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

// How long probing an existing unix socket may take before we call it dead.
const SOCKET_PROBE_TIMEOUT_MS = 1_000;

/** A socket file left by a crashed process blocks listen(); remove it only if nothing answers. */
export async function clearStaleSocket(path: string, logger: Logger): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await lstat(path)).isSocket();
  } catch (err) {
    if (errorCode(err) === 'ENOENT') return;
    throw new PolicyServerError('ERR_POLICY_LISTEN', `cannot listen on unix:${path}: ${describeError(err)}`, { cause: err });
  }
  if (!isSocket) {
    throw new PolicyServerError('ERR_POLICY_LISTEN', `cannot listen on unix:${path}: the file exists and is not a socket; remove it or choose another path`);
  }
  if (await socketAnswers(path)) {
    throw new PolicyServerError(
      'ERR_POLICY_SOCKET_IN_USE',
      `cannot listen on unix:${path}: another process is listening on it (a running greygate or postgrey?); stop it or choose another path`,
    );
  }
  try {
    await unlink(path);
    logger.info(`removed stale socket ${path}`);
  } catch (err) {
    if (errorCode(err) !== 'ENOENT') {
      throw new PolicyServerError('ERR_POLICY_LISTEN', `cannot remove stale socket ${path}: ${describeError(err)}`, { cause: err });
    }
  }
}

function socketAnswers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect({ path });
    const done = (answers: boolean): void => {
      probe.destroy();
      resolve(answers);
    };
    probe.setTimeout(SOCKET_PROBE_TIMEOUT_MS, () => done(false));
    probe.once('connect', () => done(true));
    probe.once('error', () => done(false));
  });
}

export function listenAdvice(err: unknown): string {
  switch (errorCode(err)) {
    case 'EADDRINUSE':
      return 'address already in use; is another policy server (greygate, postgrey) running?';
    case 'EACCES':
      return 'permission denied; ports below 1024 need privileges, and a unix socket needs a writable directory';
    case 'EADDRNOTAVAIL':
      return 'no such address on this host';
    case 'ENOTFOUND':
      return 'the host name does not resolve';
    case 'ENOENT':
      return 'the directory does not exist';
    default:
      return describeError(err);
  }
}

/** An accept() failure on a listening socket, with what an admin can do about it. */
export function describeAcceptError(err: unknown): string {
  switch (errorCode(err)) {
    case 'EMFILE':
      return 'out of file descriptors for this process (EMFILE); raise its open-file limit (LimitNOFILE=, ulimit -n) or lower the connection caps';
    case 'ENFILE':
      return 'out of file descriptors for the whole system (ENFILE); raise fs.file-max or find what holds them';
    default:
      return describeError(err);
  }
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
