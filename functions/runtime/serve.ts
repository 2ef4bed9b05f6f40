// `greygate serve`: the single-host composition root, a drop-in for postgrey.
//
//   Postfix main.cf:
//     smtpd_recipient_restrictions = permit_mynetworks, reject_unauth_destination,
//         check_policy_service inet:127.0.0.1:10023
//
// Policy protocol on --inet/--unix → in-process decision service → SQLite file in --dbdir; the same
// Hono app on --http (loopback by default). SIGHUP reloads the whitelists, SIGTERM drains and exits.
// Nothing here runs at import time: `startServe` builds and listens, the CLI wires the signals.

import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { openFileLimit, planDescriptors } from '../../policy/descriptor-budget.ts';
import { InstanceMemory } from '../../policy/instance-memory.ts';
import { describePeer } from '../../policy/connection-contract.ts';
import { describeAcceptError } from '../../policy/listen-failures.ts';
import { RateLimitedLog } from '../../policy/rate-limited-log.ts';
import { createPolicyServer, type PolicyServer } from '../../policy/policy-server.ts';
import { POLICY_REQUEST_ATTRIBUTES, type Whitelists } from '../core/index.ts';
import type { ServeConfig } from '../config/serve-config.ts';
import { describeError, type Logger } from '../../policy/logger.ts';
import { createDecisionService, publicSuffixListFor } from '../service/decision-service.ts';
import { decisionDeps } from './decision-deps.ts';
import { createStoreHealth } from '../service/store-health.ts';
import { startPurger } from '../store/purge-scheduler.ts';
import type { GreylistStore } from '../store/store-port.ts';
import { createServePolicyHandler } from './policy-handler.ts';
import { createKeyHasher, loadOrCreatePrivacyKey } from './privacy-key.ts';
import { onDemandRequestListener } from './on-demand-listener.ts';
import { openConfiguredStore } from './open-store.ts';
import { describeSelective, selectiveCheckFor } from '../selective/selective-check.ts';
import { loadWhitelistFiles } from './whitelist-files.ts';
import { allowCacheFor } from '../allow/allow-cache.ts';
import { observeDecisions } from '../stats/observed-service.ts';
import { startStoreStatistics, type StatisticsRecorder } from '../stats/stats-recorder.ts';
import { storeStatusSource } from '../stats/status-source.ts';

/** Postgrey remembered 10 instance ids; concurrent connections need more to keep one header per message. */
const INSTANCE_MEMORY = 10_000;

// The HTTP listener may face the Internet, so a client gets a bounded time and a bounded share.
// Its clients (bridges, scripts) send a few hundred bytes at once: 10 s for the headers and 30 s
// for the whole request are ample, and the check runs every second so they hold. 1000 connections
// cover many bridges with their pools; the cap is lowered to fit the open-file limit
// (descriptor-budget.ts), so a flood here cannot starve the policy port of descriptors.
const HTTP_HEADERS_TIMEOUT_MS = 10_000;
const HTTP_REQUEST_TIMEOUT_MS = 30_000;
const HTTP_TIMEOUT_CHECK_MS = 1_000;
const HTTP_MAX_CONNECTIONS = 1000;
const HTTP_LIMIT_LOG_INTERVAL_MS = 10_000;

export interface RunningServe {
  /** Policy listener addresses (`host:port` or socket paths). */
  policyAddresses(): string[];
  /** The HTTP listener's address, or null with --no-http. */
  httpAddress(): { host: string; port: number } | null;
  reloadWhitelists(): Promise<void>;
  close(opts?: { drainTimeoutMs?: number }): Promise<void>;
  readonly store: GreylistStore;
  /** Runs the purge of expired records now (SQLite; 0 on DynamoDB, whose TTL purges); resolves with how many it deleted. */
  purgeOnce(): Promise<number>;
  /** The hourly statistics (functions/stats/); flush() writes what was counted so far. */
  readonly statistics: StatisticsRecorder;
}

export async function startServe(
  config: ServeConfig,
  deps: { logger: Logger; env?: Readonly<Record<string, string | undefined>>; clock?: () => number },
): Promise<RunningServe> {
  const { logger } = deps;
  const env = deps.env ?? {};
  const clock = deps.clock ?? Date.now;

  // Everything that can fail on a bad setting comes before the store opens, so a refused start
  // never leaves the store (and its checkpoint worker) open.
  let hashKey: ((clear: string) => string) | undefined;
  if (config.privacy) {
    hashKey = createKeyHasher(config.privacyKeyHex ?? loadOrCreatePrivacyKey(config.dbdir));
  }
  const whitelistPaths = { clients: config.whitelistClients, recipients: config.whitelistRecipients };
  let whitelists: Whitelists = await loadWhitelistFiles(whitelistPaths, logger);
  let reloading: Promise<void> = Promise.resolve();

  const psl = await publicSuffixListFor(config);
  const selective = selectiveCheckFor(config, clock, psl.parseDomain);
  const store = await openConfiguredStore(config, env, (message) => logger.warn(message));

  const storeHealth = createStoreHealth({ logger, clock });
  // Run-time allow entries: read now, then kept current from a timer (allow-cache.ts).
  const allowEntries = allowCacheFor(store, { clock, warn: (m) => logger.warn(m), info: (m) => logger.info(m) });
  await allowEntries?.refresh();
  allowEntries?.start();
  const statistics = startStoreStatistics(store, config.statistics, { clock, logger });
  // One set of dependencies: the admin routes' explain decides exactly as the policy listener and
  // /v1/check do, without reporting to the store health it only reads.
  const explainDeps = decisionDeps(config, { store, whitelists: () => whitelists, clock, hashKey, selective, ...psl, allowEntries });
  const decisions = createDecisionService({ ...explainDeps, storeHealth });
  // Prometheus metrics only where they can be scraped: on the HTTP listener. They read the policy
  // server's connection count at scrape time, and that server is built from the service they
  // observe: hence a reference filled in below.
  let policyServerRef: PolicyServer | null = null;
  const metrics = config.http
    ? (await import('../stats/prometheus-metrics.ts')).createMetrics({
        policyConnections: () => policyServerRef?.stats().connectionsOpen ?? 0,
        whitelistEntries: () => whitelists.counts,
      })
    : null;
  const status = storeStatusSource(store, {
    retentionDays: config.statistics.retentionDays,
    flush: () => statistics.flush(),
    retryWindowSeconds: config.policy.retryWindowSeconds,
    storeName: config.store === 'sqlite' ? `sqlite:${config.dbdir}` : `dynamodb:${config.table}`,
    clock,
  });
  const service = observeDecisions(decisions, [{ decided: (decision) => statistics.record(decision) }, ...(metrics ? [metrics.observer] : [])]);

  const caps = planDescriptors({ policy: config.maxConnections, http: config.http ? HTTP_MAX_CONNECTIONS : 0 }, openFileLimit());
  if (caps.warning) logger.warn(caps.warning);

  const policyServer: PolicyServer = createPolicyServer({
    handler: createServePolicyHandler({ service, logger, instances: new InstanceMemory(INSTANCE_MEMORY), clock }),
    handlerAttributes: POLICY_REQUEST_ATTRIBUTES,
    logger,
    exim: config.exim,
    maxConnections: caps.policy,
    backlog: config.listenQueueSize,
  });
  policyServerRef = policyServer;

  let httpServer: Server | null = null;
  let httpLimitLogs: { close(): void } | null = null;
  const purger = config.store === 'sqlite' ? startPurger(store, { clock: () => Math.floor(clock() / 1000), logger, ...(metrics ? { progress: metrics.purge } : {}) }) : null;
  try {
    for (const address of config.listen) await policyServer.listen(address);
    if (config.http) {
      // Loaded on the first request, not at start: a policy-only server (--no-http, as Postgrey,
      // or an API nobody calls) then carries neither Hono nor the request validation nor Node's
      // fetch classes.
      const loadApp = async (): Promise<RequestListener> => {
        const [{ getRequestListener }, { createApp }, { adminApiFor }] = await Promise.all([
          import('@hono/node-server'),
          import('../http/app.ts'),
          import('../http/admin-api.ts'),
        ]);
        const admin = adminApiFor(store, config.adminTokenSha256, explainDeps, allowEntries);
        const app = createApp({
          service,
          logger,
          ping: () => store.ping(),
          storeHealth,
          tokenSha256: config.tokenSha256,
          ...(admin ? { admin } : {}),
          ...(metrics ? { metrics: () => metrics.render() } : {}),
          ...(status ? { status: { source: status, version: config.policy.version } } : {}),
        });
        return getRequestListener(app.fetch);
      };
      httpServer = createServer(
        { headersTimeout: HTTP_HEADERS_TIMEOUT_MS, requestTimeout: HTTP_REQUEST_TIMEOUT_MS, connectionsCheckingInterval: HTTP_TIMEOUT_CHECK_MS },
        onDemandRequestListener(loadApp, (err) => logger.error(`HTTP API could not be loaded, answering 503: ${describeError(err)}`)),
      );
      // Keep-alive longer than typical client pools so MTAs reuse connections.
      httpServer.keepAliveTimeout = 65_000;
      httpServer.maxConnections = caps.http;
      await listenHttp(httpServer, config.http.host, config.http.port);
      httpLimitLogs = logHttpLimits(httpServer, logger);
    }
  } catch (err) {
    allowEntries?.stop();
    await statistics.stop();
    await purger?.stop();
    await policyServer.close({ drainTimeoutMs: 0 });
    if (httpServer) await closeHttp(httpServer, 0);
    httpLimitLogs?.close();
    await store.close();
    throw err;
  }

  const http = httpServer;
  logger.info(
    `greygate ${config.policy.version} serving policy on ${policyServer.addresses().join(', ')}` +
      (http ? `, HTTP API on ${formatHttp(http)}` : '') +
      (http && config.adminTokenSha256.length > 0 ? ` (admin routes on: ${config.adminTokenSha256.length} admin token(s))` : '') +
      `, store ${config.store === 'sqlite' ? config.dbdir : `dynamodb:${config.table}`}` +
      (config.selective.mode === 'off' ? '' : `, selective greylisting: ${describeSelective(config)}`) +
      (config.reportOnly ? '; REPORT-ONLY: every answer is DUNNO, the log says what greylisting would have answered' : ''),
  );

  return {
    store,
    statistics,
    purgeOnce: () => purger?.runOnce() ?? Promise.resolve(0),
    policyAddresses: () => policyServer.addresses(),
    httpAddress: () => {
      if (!http) return null;
      const a = http.address() as AddressInfo;
      return { host: a.address, port: a.port };
    },
    reloadWhitelists() {
      // A reload reads in slices and yields to the answers meanwhile, so two SIGHUPs close together
      // overlap: each waits for the one before it, and the files read last are the lists in force.
      const reload = async (): Promise<void> => {
        logger.info('HUP received: reloading whitelists...');
        whitelists = await loadWhitelistFiles(whitelistPaths, logger);
      };
      // A failed reload was reported to its own caller; the next one runs regardless.
      reloading = reloading.then(reload, reload);
      return reloading;
    },
    async close(opts) {
      const drainTimeoutMs = opts?.drainTimeoutMs ?? 10_000;
      await Promise.all([policyServer.close({ drainTimeoutMs }), http ? closeHttp(http, drainTimeoutMs) : Promise.resolve()]);
      httpLimitLogs?.close();
      allowEntries?.stop();
      await purger?.stop();
      // After the purge (which counts the triplets it removes) and before the store closes.
      await statistics.stop();
      await store.close();
    },
  };
}

function formatHttp(server: Server): string {
  const a = server.address() as AddressInfo;
  return a.family === 'IPv6' ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/**
 * Connections turned away at the cap, and accept() failures (out of descriptors), each logged as
 * one line per interval with a count: a flood must be visible without flooding the log. The
 * 'error' listener also keeps such a failure from being thrown as an uncaught exception.
 */
function logHttpLimits(server: Server, logger: Logger): { close(): void } {
  const name = formatHttp(server);
  const drops = new RateLimitedLog<string>({
    intervalMs: HTTP_LIMIT_LOG_INTERVAL_MS,
    write: (count, client) =>
      logger.warn(`HTTP listener ${name}: refused ${count} connection(s): its limit of ${server.maxConnections} connections is reached (latest from ${client})`, {
        connections: count,
        maxConnections: server.maxConnections,
      }),
  });
  const failures = new RateLimitedLog<string>({
    intervalMs: HTTP_LIMIT_LOG_INTERVAL_MS,
    write: (count, text) => logger.error(`HTTP listener ${name}: ${count} connection(s) lost: ${text}`, { connections: count }),
  });
  server.on('drop', (peer) => drops.note(peer ? describePeer(peer) : 'unknown'));
  server.on('error', (err) => failures.note(describeAcceptError(err)));
  return {
    close() {
      drops.close();
      failures.close();
    },
  };
}

function listenHttp(server: Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(new Error(`cannot listen for HTTP on ${host}:${port}: ${err.code === 'EADDRINUSE' ? 'the port is in use (another greygate? use --http or --no-http)' : err.message}`, { cause: err }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeHttp(server: Server, drainTimeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    const timer = setTimeout(() => server.closeAllConnections(), drainTimeoutMs);
    timer.unref();
  });
}
