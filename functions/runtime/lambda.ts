// The Lambda composition root: the same Hono app as `greygate serve`, behind a Function URL,
// on the DynamoDB store. Built by `npm run build` into dist/lambda/index.mjs (handler: index.handler).
//
//   MTA / greygate-bridge → HTTPS Function URL → handler → Hono app → decision service → DynamoDB
//
// Configuration: GREYGATE_* environment variables (functions/config/lambda-config.ts, docs/http-api.md).
// Importing this module creates the exported handler, and that starts the container's warm-up at
// once, in Lambda's init phase: it reads the environment into the config, builds the logger and
// the DynamoDB client, sends two reads to open the connections, then loads the whitelists and
// builds the decision service and the app. That build is memoised: the first invocation awaits the
// one the warm-up started, and later invocations reuse it. Each invocation ends by writing its
// CloudWatch metrics (emf-metrics.ts) to stdout, where CloudWatch Logs turns them into metrics
// without an API call. A bad configuration does not crash the container (Lambda would retry the
// init forever with a terse message): every request is answered 500 JSON (/healthz: 503) and
// logged with the variable to fix.

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Hono } from 'hono';
import { handle, type APIGatewayProxyResult, type LambdaContext, type LambdaEvent } from 'hono/aws-lambda';
import { createLogger, describeError } from '../../policy/logger.ts';
import { buildWhitelists, type Whitelists } from '../core/index.ts';
import { PACKAGED_WHITELIST_DIR } from '../packaged-files.ts';
import type { Logger } from '../../policy/logger.ts';
import { createDecisionService, publicSuffixListFor, type DecisionService } from '../service/decision-service.ts';
import { createStoreHealth } from '../service/store-health.ts';
import { ApiError } from '../http/api-error.ts';
import { createApp } from '../http/app.ts';
import { adminApiFor } from '../http/admin-api.ts';
import { decisionDeps } from './decision-deps.ts';
import { createDynamoDbStore, dynamoDbPolicyHints } from '../store/dynamodb-store.ts';
import { createDynamoDbClient } from '../store/dynamodb-table.ts';
import { StoreError, type GreylistStore } from '../store/store-port.ts';
import { createMetrics, type Metrics } from './emf-metrics.ts';
import { parseLambdaConfig, type LambdaConfig } from '../config/lambda-config.ts';
import { selectiveCheckFor } from '../selective/selective-check.ts';
import { createKeyHasher } from './privacy-key.ts';
import { loadWhitelistFiles } from './whitelist-files.ts';
import { enableLinearTimeRegExps } from './linear-regexp.ts';
import { allowCacheFor } from '../allow/allow-cache.ts';
import { observeDecisions } from '../stats/observed-service.ts';
import { startStoreStatistics } from '../stats/stats-recorder.ts';
import { storeStatusSource } from '../stats/status-source.ts';

enableLinearTimeRegExps();

// Replaced by esbuild's `define` in the bundle (build/bundle-options.ts, BUNDLED_WHITELISTS_DEFINE)
// with the texts of whitelists/clients and whitelists/recipients: a Lambda has no greygate
// checkout to read them from. Unbundled (tests, tsx) it stays undefined and the files are read.
declare const GREYGATE_BUNDLED_WHITELISTS: { clients: string; recipients: string } | undefined;

export type LambdaHandler = (event: LambdaEvent, context?: LambdaContext) => Promise<APIGatewayProxyResult>;

export interface LambdaDeps {
  /** Builds the store; default: a DynamoDB client and adapter for the configured table. */
  openStore?: (config: LambdaConfig) => GreylistStore | Promise<GreylistStore>;
  /** Where the JSON log lines go; default stderr (CloudWatch Logs on Lambda). */
  logStream?: NodeJS.WritableStream;
  /** Receives each EMF metrics document (one JSON line, no newline); default stdout. */
  writeMetrics?: (line: string) => void;
  /** Milliseconds since the epoch; default Date.now. */
  clock?: () => number;
  /**
   * Build the container's state at once instead of on the first request, and open the DynamoDB
   * connections meanwhile (the exported handler does, during Lambda's init phase).
   */
  warm?: boolean;
}

function writeToStdout(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Records each decision's verdict, reason and latency, and the store's errors, for the metrics. */
function measured(service: DecisionService, metrics: Metrics): DecisionService {
  return {
    async check(request) {
      const started = performance.now();
      try {
        const decision = await service.check(request);
        metrics.recordDecision({
          verdict: decision.verdict,
          reason: decision.reason,
          latencyMs: performance.now() - started,
          ...(decision.delayedSeconds === undefined ? {} : { delayedSeconds: decision.delayedSeconds }),
        });
        return decision;
      } catch (err) {
        if (err instanceof StoreError) metrics.recordStoreError(err.code);
        throw err;
      }
    },
  };
}

/**
 * Longest a container's first decision waits for the warm-up reads. An in-region round trip with
 * its TLS handshake takes tens of milliseconds; reads still out after this are slow or were cut
 * off (a container frozen right after its init, with them in flight), and a connection of the
 * decision's own is then the quicker way.
 */
const WARM_UP_WAIT_MS = 250;

/**
 * Lets the first decision wait for the warm-up reads, and so take over their connections: sent
 * while they are still in flight, it would open connections of its own and pay the very TLS
 * handshakes that the warm-up is there to save. Inside `measured`: the wait is that request's time.
 */
function afterWarmUp(service: DecisionService, warmUp: Promise<unknown> | null): DecisionService {
  let pending = warmUp;
  return {
    async check(request) {
      if (pending !== null) {
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([pending, new Promise((resolve) => (timer = setTimeout(resolve, WARM_UP_WAIT_MS)))]);
        clearTimeout(timer);
        pending = null;
      }
      return service.check(request);
    },
  };
}

/**
 * The store of the deployed function: the configured table through one DynamoDB client per
 * container. `client` is for tests (dynalite with test credentials); Lambda uses the SDK's own
 * credential chain, which finds the execution role's credentials in the environment.
 */
export function openLambdaStore(config: LambdaConfig, client?: DynamoDBClient): GreylistStore {
  return createDynamoDbStore({
    client: client ?? createDynamoDbClient({ region: config.region, ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}) }),
    tableName: config.table,
    region: config.region,
    ...dynamoDbPolicyHints(config.policy),
  });
}

async function loadLambdaWhitelists(config: LambdaConfig, logger: Logger): Promise<{ whitelists: Whitelists; source: string }> {
  const bundled = typeof GREYGATE_BUNDLED_WHITELISTS === 'undefined' ? undefined : GREYGATE_BUNDLED_WHITELISTS;
  const files = config.whitelistFiles;
  if (bundled) {
    const { whitelists, warnings } = buildWhitelists({
      clients: files.clients ? [] : [{ source: 'whitelists/clients (bundled)', text: bundled.clients }],
      recipients: files.recipients ? [] : [{ source: 'whitelists/recipients (bundled)', text: bundled.recipients }],
    });
    for (const warning of warnings) logger.warn(warning);
    if (!files.clients && !files.recipients) return { whitelists, source: 'bundled' };
    // Files named by GREYGATE_WHITELIST_* replace the bundled list of their kind, as the flags do for serve.
    const fromFiles = await loadWhitelistFiles({ clients: files.clients ?? [], recipients: files.recipients ?? [] }, logger);
    return { whitelists: mergeWhitelists(whitelists, fromFiles), source: 'bundled + files' };
  }
  const whitelists = await loadWhitelistFiles(
    {
      clients: files.clients ?? [`${PACKAGED_WHITELIST_DIR}clients`],
      recipients: files.recipients ?? [`${PACKAGED_WHITELIST_DIR}recipients`],
    },
    logger,
  );
  return { whitelists, source: 'files' };
}

function mergeWhitelists(a: Whitelists, b: Whitelists): Whitelists {
  return Object.freeze({
    counts: Object.freeze({ clients: a.counts.clients + b.counts.clients, recipients: a.counts.recipients + b.counts.recipients }),
    matchClient: (name: string, address: string) => a.matchClient(name, address) || b.matchClient(name, address),
    matchRecipient: (recipient: string) => a.matchRecipient(recipient) || b.matchRecipient(recipient),
  });
}

async function buildHandler(env: Readonly<Record<string, string | undefined>>, deps: LambdaDeps): Promise<LambdaHandler> {
  const logStream = deps.logStream ? { stream: deps.logStream } : {};
  let config: LambdaConfig;
  try {
    config = parseLambdaConfig(env);
  } catch (err) {
    // The environment of a container never changes: answer with the reason until it is replaced.
    return startupFailedHandler(createLogger({ format: 'json', ...logStream }), err);
  }
  const logger = createLogger({ format: 'json', quiet: config.quiet, verbose: config.verbose, ...logStream });
  const store = await (deps.openStore ?? openLambdaStore)(config);
  const clock = deps.clock ?? Date.now;
  // Run-time allow entries: no timer runs in a frozen container, so decisions refresh the copy
  // (allow-cache.ts).
  const allowEntries = allowCacheFor(store, { clock, warn: (m) => logger.warn(m), info: (m) => logger.info(m) });
  // Warm-up: the first decision would otherwise pay for its connections (TLS on Lambda), the
  // credentials and the signing key on its own time. Two reads, so two connections: a decision
  // sends up to two requests at once (its triplet and its client's record). The second is the
  // allow entries' first read (one GetItem), which the first decision would otherwise wait for
  // after the warm-up. Their failures are for the decisions to report, not for these reads.
  const warmUp = deps.warm ? Promise.allSettled([store.ping(), allowEntries ? allowEntries.refresh() : store.ping()]) : null;
  const { whitelists, source } = await loadLambdaWhitelists(config, logger);
  const psl = await publicSuffixListFor(config);
  const metrics = createMetrics({ namespace: config.metricsNamespace, write: deps.writeMetrics ?? writeToStdout, clock });
  // Per container: what this container's decisions found (another container's may differ).
  const storeHealth = createStoreHealth({ logger, clock });
  // No timer: a frozen container runs none. Flushed after an invocation once the interval is over.
  const statistics = startStoreStatistics(store, config.statistics, { clock, logger, timer: false });
  // One set of dependencies: the admin routes' explain decides exactly as /v1/check does, without
  // reporting to the store health it only reads.
  const explainDeps = decisionDeps(config, {
    store,
    whitelists: () => whitelists,
    clock,
    ...(config.privacyKeyHex ? { hashKey: createKeyHasher(config.privacyKeyHex) } : {}),
    selective: selectiveCheckFor(config, clock, psl.parseDomain),
    ...psl,
    allowEntries,
  });
  const service = measured(afterWarmUp(createDecisionService({ ...explainDeps, storeHealth }), warmUp), metrics);
  const admin = config.adminTokenSha256.length === 0 ? undefined : adminApiFor(store, config.adminTokenSha256, explainDeps, allowEntries);
  const counted = observeDecisions(service, [{ decided: (decision) => statistics.record(decision) }]);
  const status = storeStatusSource(store, {
    retentionDays: config.statistics.retentionDays,
    flush: () => statistics.flush(),
    retryWindowSeconds: config.policy.retryWindowSeconds,
    storeName: `dynamodb:${config.table}`,
    clock,
  });
  const app = createApp({
    service: counted,
    logger,
    ping: () => store.ping(),
    storeHealth,
    tokenSha256: config.tokenSha256,
    requireAuth: true,
    ...(admin ? { admin } : {}),
    // The fleet's status page, from the table every container adds to, behind the same token.
    ...(status ? { status: { source: status, version: config.policy.version } } : {}),
  });
  logger.info(`greygate ${config.policy.version} on Lambda: table ${config.table} (${config.region})${config.reportOnly ? '; REPORT-ONLY: every answer is DUNNO' : ''}`, {
    event: 'start',
    table: config.table,
    region: config.region,
    privacy: config.privacyKeyHex !== null,
    tokens: config.tokenSha256.length,
    admin_tokens: config.adminTokenSha256.length,
    report_only: config.reportOnly,
    whitelists: source,
    whitelist_clients: whitelists.counts.clients,
    whitelist_recipients: whitelists.counts.recipients,
  });
  const answer = handle(app);
  return async (event, context) => {
    try {
      return await answer(event, context);
    } finally {
      // A refresh of the allow entries this request started runs beside its decision; it ends
      // before the container may be frozen, not after a thaw with its connection gone.
      await allowEntries?.idle();
      // Before returning: Lambda may freeze the container as soon as the handler resolves.
      metrics.flush();
      // Once per interval this invocation waits for the statistics' write (one UpdateItem per
      // hour bucket). A container that is never invoked again loses at most an interval's counts.
      await statistics.flushIfDue();
    }
  };
}

/** Answers every request while the container cannot serve, and says why in the log each time. */
function startupFailedHandler(logger: Logger, err: unknown): LambdaHandler {
  const reason = describeError(err);
  const code = (err as { code?: unknown } | null)?.code;
  const app = new Hono();
  app.use('*', async (_c, next) => {
    logger.error(`greygate could not start: ${reason}`, { event: 'start-failed', code: typeof code === 'string' ? code : 'internal' });
    await next();
  });
  app.get('/healthz', (c) => c.json({ status: 'unavailable' }, 503));
  app.all('*', (c) =>
    c.json(new ApiError(500, 'internal', 'the service is misconfigured; its log names the setting to fix').toBody(), 500),
  );
  return handle(app);
}

/**
 * A Lambda handler whose container state (config, clients, decision service, app) is built once
 * from `env` and reused: by the warm-up at once when `deps.warm` is set, else by the first call.
 * Tests pass their own env and store; the exported `handler` uses process.env.
 */
export function createLambdaHandler(env: Readonly<Record<string, string | undefined>>, deps: LambdaDeps = {}): LambdaHandler {
  let building: Promise<LambdaHandler> | undefined;
  /** The container's state: built by whichever calls first, the warm-up or a request, then shared. */
  const container = (): Promise<LambdaHandler> => (building ??= buildHandler(env, deps));
  if (deps.warm) {
    // Awaited by the first request, which reports a failure; until then it must not count as unhandled.
    container().catch(() => {});
  }
  return async (event, context) => {
    let inner: LambdaHandler;
    try {
      inner = await container();
    } catch (err) {
      // Building the clients failed (not the config): answer this request, try again on the next.
      building = undefined;
      const logger = createLogger({ format: 'json', ...(deps.logStream ? { stream: deps.logStream } : {}) });
      return startupFailedHandler(logger, err)(event, context);
    }
    return inner(event, context);
  };
}

/** Lambda's entry (`index.handler`); creating it at import starts the container's warm-up. */
export const handler: LambdaHandler = createLambdaHandler(process.env, { warm: true });
