// greygate-bridge: the composition root of the daemon each MX runs next to Postfix.
//
//   Postfix main.cf:
//     smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
//         check_policy_service { inet:127.0.0.1:10023, timeout=10s, default_action=DUNNO }
//
//   greygate-bridge --inet 127.0.0.1:10023 --api https://<id>.lambda-url.<region>.on.aws/ \
//       --token-file /etc/greygate/token
//
// Postfix policy protocol → bridge → POST /v1/check over HTTPS keep-alive → greygate API. Built
// to one file, dist/greygate-bridge.mjs, that needs nothing but `node` (node:* imports only).
// runBridge() parses and listens; main() adds the signals: SIGTERM/SIGINT drain and exit 0,
// SIGHUP re-reads the token file. Nothing runs at import unless this file is the entry point.

import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { ApiClient, type ApiClientStats } from './api-client.ts';
import { BridgeUsageError, parseBridgeConfig, type BridgeConfig } from './bridge-config.ts';
import { createBridgeHandler, type BridgeHandlerStats } from './bridge-handler.ts';
import { BRIDGE_HELP } from './bridge-help.ts';
import { BearerToken, BridgeTokenError } from './bridge-token.ts';
import { InstanceMemory } from '../policy/instance-memory.ts';
import type { ListenAddress } from '../policy/listen-address.ts';
import { createLogger, describeError, type Logger } from '../policy/logger.ts';
import { createPolicyServer, type PolicyServerStats } from '../policy/policy-server.ts';

export { BridgeUsageError } from './bridge-config.ts';
export type { BridgeConfig } from './bridge-config.ts';

/** As serve: Postgrey remembered 10 instance ids; concurrent connections need more. */
const INSTANCE_MEMORY = 10_000;
/** Added to --timeout-ms for the drain on shutdown: every request in flight ends by its budget. */
const DRAIN_MARGIN_MS = 1000;
/** Postfix's own policy timeout in the recommended setup; a budget this long loses the race. */
const POSTFIX_TIMEOUT_MS = 10_000;

export interface BridgeStats {
  policy: PolicyServerStats;
  answers: BridgeHandlerStats;
  api: ApiClientStats;
}

export interface RunningBridge {
  readonly config: BridgeConfig;
  readonly logger: Logger;
  /** Policy listener addresses as logged: `127.0.0.1:10023`, `unix:/path`. */
  addresses(): string[];
  boundAddresses(): ListenAddress[];
  stats(): BridgeStats;
  /** Re-reads --token-file (what SIGHUP does); keeps the old token and logs when that fails. */
  reloadToken(): Promise<void>;
  /** Stops accepting, answers the requests in flight, closes API connections. Idempotent. */
  close(opts?: { drainTimeoutMs?: number }): Promise<void>;
}

export interface BridgeDeps {
  /** Where log lines go (default stderr), in the configured format. */
  logStream?: NodeJS.WritableStream;
  /** Replaces the configured logger entirely (tests). */
  logger?: Logger;
}

/** Parses argv and env (flags win), reads the token, listens. Throws BridgeUsageError for bad values. */
export async function runBridge(argv: string[], env: NodeJS.ProcessEnv, deps: BridgeDeps = {}): Promise<RunningBridge> {
  const parsed = parseBridgeConfig(argv, env);
  if (parsed.help) throw new BridgeUsageError('--help prints the usage; there is nothing to run');
  return startBridge(parsed.config, env, deps);
}

export async function startBridge(config: BridgeConfig, env: NodeJS.ProcessEnv, deps: BridgeDeps = {}): Promise<RunningBridge> {
  const logger =
    deps.logger ??
    createLogger({ format: config.logFormat, quiet: config.quiet, verbose: config.verbose, ...(deps.logStream ? { stream: deps.logStream } : {}) });
  const token = await BearerToken.load(config.token, env);
  const client = new ApiClient({
    checkUrl: config.checkUrl,
    timeoutMs: config.timeoutMs,
    authorization: () => token.header(),
    caPem: config.caPem,
  });
  const answers = createBridgeHandler({
    check: (body, signal) => client.check(body, signal),
    logger,
    instances: new InstanceMemory(INSTANCE_MEMORY),
    onErrorAction: config.onError === 'defer' ? config.deferAction : 'DUNNO',
  });
  const server = createPolicyServer({ handler: answers.handler, logger, exim: config.exim, maxConnections: config.maxConnections });
  try {
    for (const address of config.listen) await server.listen(address);
  } catch (err) {
    await server.close({ drainTimeoutMs: 0 });
    client.close();
    throw err;
  }

  if (!token.configured && config.checkUrl.protocol === 'https:') {
    logger.warn('no API token (--token-file or GREYGATE_TOKEN): the API will answer 401 and every request DUNNO unless it runs without authentication');
  }
  if (config.timeoutMs >= POSTFIX_TIMEOUT_MS) {
    logger.warn(`--timeout-ms ${config.timeoutMs} is not under Postfix's usual 10 s policy timeout: Postfix may give up first and apply its own default_action`);
  }
  logger.info(
    `greygate-bridge on ${server.addresses().join(', ')} → ${config.checkUrl.href} (timeout ${config.timeoutMs} ms, on error ${config.onError === 'defer' ? 'defer' : 'DUNNO'}, token ${token.describe()}${config.caFile ? `, CA ${config.caFile}` : ''})`,
  );

  let closing: Promise<void> | undefined;
  return {
    config,
    logger,
    addresses: () => server.addresses(),
    boundAddresses: () => server.boundAddresses(),
    stats: () => ({ policy: server.stats(), answers: answers.stats(), api: client.stats() }),
    async reloadToken() {
      try {
        if (await token.reload()) logger.info(`re-read the API token from ${token.describe()}`);
        else logger.warn(`SIGHUP: nothing to re-read, the token comes from ${token.describe()}`);
      } catch (err) {
        logger.error(`${describeError(err)}; still using the previous token`);
      }
    },
    close(opts) {
      closing ??= (async () => {
        await server.close({ drainTimeoutMs: opts?.drainTimeoutMs ?? config.timeoutMs + DRAIN_MARGIN_MS });
        client.close();
      })();
      return closing;
    },
  };
}

export interface MainIo {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/**
 * The command: runs until SIGTERM/SIGINT, then resolves 0 once drained. Resolves 2 for a bad
 * option, 1 when the bridge cannot start; the caller exits with the code.
 */
export async function main(
  argv: string[] = process.argv.slice(2),
  env: NodeJS.ProcessEnv = process.env,
  io: MainIo = { stdout: process.stdout, stderr: process.stderr },
): Promise<number> {
  let running: RunningBridge;
  try {
    const parsed = parseBridgeConfig(argv, env);
    if (parsed.help) {
      io.stdout.write(BRIDGE_HELP);
      return 0;
    }
    running = await startBridge(parsed.config, env, { logStream: io.stderr });
  } catch (err) {
    io.stderr.write(`greygate-bridge: ${err instanceof Error ? err.message : String(err)}\n`);
    // A token file that cannot be used is a bad value too, like any other flag's.
    return err instanceof BridgeUsageError || err instanceof BridgeTokenError ? 2 : 1;
  }

  const onHup = (): void => void running.reloadToken();
  process.on('SIGHUP', onHup);
  return new Promise<number>((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      process.off('SIGHUP', onHup);
      // The handlers are gone now: a second signal ends the process at once.
      running.logger.info(`${signal} received: answering the requests in flight, then exiting`);
      running.close().then(
        () => resolve(0),
        (err: unknown) => {
          running.logger.error(`error while shutting down: ${describeError(err)}`);
          resolve(1);
        },
      );
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
  });
}

/**
 * True when node was started on this file, also through a symlink such as
 * /usr/local/bin/greygate-bridge. Only the bridge's own files qualify: bundled into the `greygate`
 * command (for `greygate bridge`), this module shares that bundle's URL and must not start itself.
 */
function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script || !/(\/bridge\/main\.ts|greygate-bridge\.mjs)$/.test(import.meta.url)) return false;
  if (import.meta.url === pathToFileURL(script).href) return true;
  try {
    return import.meta.url === pathToFileURL(realpathSync(script)).href;
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`greygate-bridge: ${describeError(err)}\n`);
      process.exit(1);
    },
  );
}
