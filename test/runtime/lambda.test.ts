// The Lambda entry as AWS calls it: Function URL events (payload format 2.0) into `handler`,
// API Gateway-shaped results out, against the DynamoDB adapter on a dynalite started here.
// The HTTP contract itself (refusals, limits, token checks) is test/http's; here, what the Lambda
// brings to it: its environment, the DynamoDB store, the event adapter, metrics and its start.

import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { LambdaEvent } from 'hono/aws-lambda';
import { sha256Hex } from '../../functions/http/bearer-auth.ts';
import type { LambdaConfig } from '../../functions/config/lambda-config.ts';
import { createLambdaHandler, openLambdaStore, type LambdaDeps } from '../../functions/runtime/lambda.ts';
import { createDynamoDbClient, createTable } from '../../functions/store/dynamodb-table.ts';
import { StoreUnavailableError, type GreylistStore } from '../../functions/store/store-port.ts';
import { startDynalite, TEST_CREDENTIALS, TEST_REGION, type RunningDynalite } from '../support/dynalite.ts';
import { functionUrlEvent } from '../support/function-url-event.ts';

const TOKEN = 'test-token-1f3a9c';
const PRIVACY_KEY = 'a'.repeat(64);
const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z

function checkEvent(attrs: Record<string, unknown>, headers: Record<string, string> = {}): LambdaEvent {
  return functionUrlEvent({
    headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}`, ...headers },
    body: JSON.stringify(attrs),
  });
}

function triplet(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    client_address: `192.0.2.${n}`,
    client_name: `mx${n}.example.net`,
    sender: `alice${n}@example.net`,
    recipient: `bob@example.org`,
    ...extra,
  };
}

function json(result: { body: string }): Record<string, unknown> {
  return JSON.parse(result.body) as Record<string, unknown>;
}

function lambdaEnv(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    AWS_REGION: TEST_REGION,
    AWS_LAMBDA_FUNCTION_NAME: 'greygate-api',
    GREYGATE_TABLE: TABLE,
    GREYGATE_TOKEN_SHA256: `${sha256Hex('old-token')},${sha256Hex(TOKEN)}`,
    GREYGATE_PRIVACY_KEY: PRIVACY_KEY,
    ...extra,
  };
}

/** Collects what the function logs, one parsed JSON object per line. */
function logCapture(): { stream: PassThrough; lines: () => Array<Record<string, unknown>> } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  return {
    stream,
    lines: () =>
      text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

const TABLE = 'greygate-lambda-test';
let dynalite: RunningDynalite;

beforeAll(async () => {
  dynalite = await startDynalite();
  await createTable(dynalite.client(), TABLE);
});

afterAll(async () => {
  await dynalite?.stop();
});

/** The function's own store wiring, on dynalite with the test credentials. */
function dynaliteStore(config: LambdaConfig): GreylistStore {
  return openLambdaStore(config, dynalite.client());
}

/** Every stored record, as DynamoDB holds it. */
async function tableItems(): Promise<string> {
  const out = await dynalite.client().send(new ScanCommand({ TableName: TABLE }));
  return JSON.stringify(out.Items ?? []);
}

/** Drops log lines, for tests that do not read them. */
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });

function lambda(env = lambdaEnv(), deps: LambdaDeps = {}): ReturnType<typeof createLambdaHandler> {
  return createLambdaHandler(env, { openStore: dynaliteStore, logStream: discard, writeMetrics: () => {}, ...deps });
}

interface EmfLine {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string }> };
  [member: string]: unknown;
}

describe('Lambda handler: authentication', () => {
  it('answers 401 with a Bearer challenge when the token is missing', async () => {
    // Prepare
    const handler = lambda();
    const event = functionUrlEvent({ headers: { 'content-type': 'application/json' }, body: JSON.stringify(triplet(1)) });

    // Act
    const result = await handler(event);

    // Assess
    expect(result.statusCode).toBe(401);
    expect(result.headers?.['www-authenticate']).toBe('Bearer');
    expect(json(result)).toEqual({ error: { code: 'unauthorized', message: 'missing or wrong bearer token' } });
  });

  it('accepts any of the configured tokens (rotation)', async () => {
    // Prepare
    const handler = lambda();

    // Act
    const current = await handler(checkEvent(triplet(3)));
    const previous = await handler(checkEvent(triplet(4), { authorization: 'Bearer old-token' }));

    // Assess
    expect(current.statusCode).toBe(200);
    expect(previous.statusCode).toBe(200);
  });

  it('keeps /healthz open and says nothing about the deployment', async () => {
    // Prepare
    const handler = lambda();

    // Act
    const result = await handler(functionUrlEvent({ method: 'GET', path: '/healthz' }));

    // Assess
    expect(result.statusCode).toBe(200);
    expect(json(result)).toEqual({ status: 'ok' });
  });
});

describe('Lambda handler: decisions', () => {
  it('greylists a new triplet, then lets the retry through after the delay (policy_test_time)', async () => {
    // Prepare
    const handler = lambda();
    const attrs = triplet(10);

    // Act
    const first = await handler(checkEvent({ ...attrs, policy_test_time: T0 }));
    const early = await handler(checkEvent({ ...attrs, policy_test_time: T0 + 60 }));
    const retry = await handler(checkEvent({ ...attrs, policy_test_time: T0 + 301 }));
    const again = await handler(checkEvent({ ...attrs, policy_test_time: T0 + 400 }));

    // Assess
    expect(first.statusCode).toBe(200);
    expect(json(first)).toEqual({
      action: 'DEFER_IF_PERMIT Greylisted, please retry in 300 seconds',
      verdict: 'greylist',
      reason: 'new',
      retry_after_seconds: 300,
    });
    expect(json(early)).toMatchObject({ verdict: 'greylist', reason: 'early-retry', retry_after_seconds: 240 });
    expect(json(retry)).toMatchObject({ verdict: 'pass', reason: 'triplet-found' });
    expect(json(retry).header).toMatch(/^X-Greylist: delayed 301 seconds by greygate-[\d.]+ at greygate-api; /);
    expect(json(again)).toEqual({ action: 'DUNNO', verdict: 'pass', reason: 'triplet-found' });
  });

  it('with GREYGATE_REPORT_ONLY answers a pass, stores the triplet and says what it would have answered', async () => {
    // Prepare
    const handler = lambda({ ...lambdaEnv(), GREYGATE_REPORT_ONLY: 'true' });
    const attrs = triplet(11);

    // Act
    const first = await handler(checkEvent({ ...attrs, policy_test_time: T0 }));
    const retry = await handler(checkEvent({ ...attrs, policy_test_time: T0 + 301 }));

    // Assess: the retry finds the stored triplet, and no header is handed out
    expect(json(first)).toEqual({
      action: 'DUNNO',
      verdict: 'pass',
      reason: 'new',
      report_only: { verdict: 'greylist', action: 'DEFER_IF_PERMIT Greylisted, please retry in 300 seconds', retry_after_seconds: 300 },
    });
    expect(json(retry)).toEqual({ action: 'DUNNO', verdict: 'pass', reason: 'triplet-found', report_only: { verdict: 'pass', action: expect.stringMatching(/^PREPEND X-Greylist: delayed 301 seconds/) } });
  });

  it('decodes a base64-encoded body (isBase64Encoded)', async () => {
    // Prepare
    const handler = lambda();
    const body = Buffer.from(JSON.stringify({ ...triplet(11), policy_test_time: T0 })).toString('base64');
    const event = functionUrlEvent({
      headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
      body,
      isBase64Encoded: true,
    });

    // Act
    const result = await handler(event);

    // Assess
    expect(result.statusCode).toBe(200);
    expect(json(result)).toMatchObject({ verdict: 'greylist', reason: 'new' });
  });

  it('lets a client of the default whitelist through without greylisting', async () => {
    // Prepare: 40.92.0.0/15 (Microsoft's outbound pool) is in whitelists/clients.
    const handler = lambda();

    // Act
    const result = await handler(checkEvent({ ...triplet(12), client_address: '40.92.7.7', client_name: 'unknown' }));

    // Assess
    expect(json(result)).toEqual({ action: 'DUNNO', verdict: 'pass', reason: 'client-whitelist' });
  });

  it('greylists only suspicious clients with GREYGATE_SELECTIVE=s25r, and says why', async () => {
    // Prepare
    const handler = lambda(lambdaEnv({ GREYGATE_SELECTIVE: 's25r' }));

    // Act
    const named = json(await handler(checkEvent(triplet(21))));
    const unknown = json(await handler(checkEvent({ ...triplet(22), client_name: 'unknown' })));

    // Assess
    expect(named).toMatchObject({ action: 'DUNNO', verdict: 'pass', reason: 'not-suspicious' });
    expect(unknown).toMatchObject({ verdict: 'greylist', reason: 'new', signals: [{ name: 's25r', rule: 0 }] });
  });

  it('writes its logs as JSON lines, the decision included', async () => {
    // Prepare
    const logs = logCapture();
    const handler = lambda(lambdaEnv(), { logStream: logs.stream });

    // Act
    await handler(checkEvent({ ...triplet(13), policy_test_time: T0 }));

    // Assess
    const lines = logs.lines();
    expect(lines[0]).toMatchObject({ level: 'info', event: 'start', table: TABLE, privacy: true, tokens: 2 });
    expect(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('action=greylist, reason=new'))).toBe(true);
    expect(JSON.stringify(lines)).not.toContain(TOKEN);
  });
});

describe('Lambda handler: metrics', () => {
  it('writes the decision to CloudWatch metrics (EMF) before the invocation returns', async () => {
    // Prepare
    const lines: string[] = [];
    const handler = lambda(lambdaEnv({ GREYGATE_METRICS_NAMESPACE: 'GreygateTest' }), { writeMetrics: (line) => lines.push(line) });

    // Act
    await handler(checkEvent({ ...triplet(70), policy_test_time: T0 }));
    const afterFirst = lines.length;
    await handler(checkEvent({ ...triplet(70), policy_test_time: T0 + 400 }));

    // Assess
    const docs = lines.map((l) => JSON.parse(l) as EmfLine);
    expect(afterFirst).toBe(1);
    expect(docs).toHaveLength(2);
    expect(docs[0]).toMatchObject({ Verdict: 'greylist', Reason: 'new', Decisions: 1 });
    expect(docs[0]?._aws.CloudWatchMetrics[0]?.Namespace).toBe('GreygateTest');
    expect(typeof docs[0]?.DecisionLatency).toBe('number');
    expect(docs[1]).toMatchObject({ Verdict: 'pass', Reason: 'triplet-found', Decisions: 1 });
  });

  it('answers 503 and counts a store-unavailable error when DynamoDB cannot be reached', async () => {
    // Prepare: nothing listens on port 1 of the loopback.
    const lines: string[] = [];
    const unreachable = createDynamoDbClient({ region: TEST_REGION, endpoint: 'http://127.0.0.1:1', credentials: TEST_CREDENTIALS });
    const handler = lambda(lambdaEnv(), { openStore: (config) => openLambdaStore(config, unreachable), writeMetrics: (line) => lines.push(line) });

    // Act
    const result = await handler(checkEvent(triplet(71)));

    // Assess
    unreachable.destroy();
    expect(result.statusCode).toBe(503);
    expect(json(result)).toEqual({ error: { code: 'store-unavailable', message: 'the greylist store is unavailable; retry later' } });
    expect(lines.map((l) => JSON.parse(l) as EmfLine)).toEqual([
      expect.objectContaining({ Code: 'store-unavailable', StoreErrors: 1 }),
    ]);
  });
});

describe('Lambda handler: store health', () => {
  it('answers /healthz 503 while its decisions cannot be stored though the table answers reads, and 200 once they are', async () => {
    // Prepare: the table reads, but refuses writes while `refusing` (as when throttled on writes)
    let refusing = true;
    const logs = logCapture();
    const handler = lambda(lambdaEnv(), {
      logStream: logs.stream,
      openStore: (config) => {
        const store = dynaliteStore(config);
        return {
          runDecision: (keys, now, decide) =>
            refusing ? Promise.reject(new StoreUnavailableError('write capacity exceeded')) : store.runDecision(keys, now, decide),
          peek: (keys, now) => store.peek(keys, now),
          purgeExpired: (now, limit, signal) => store.purgeExpired(now, limit, signal),
          countRecords: (now, signal) => store.countRecords(now, signal),
          ping: () => store.ping(),
          close: () => store.close(),
        };
      },
    });

    // Act
    const refused: number[] = [];
    for (let i = 0; i < 20; i += 1) refused.push((await handler(checkEvent(triplet(80 + i)))).statusCode);
    const down = await handler(functionUrlEvent({ method: 'GET', path: '/healthz' }));
    refusing = false;
    for (let i = 0; i < 5; i += 1) await handler(checkEvent(triplet(100 + i)));
    const up = await handler(functionUrlEvent({ method: 'GET', path: '/healthz' }));

    // Assess
    expect(refused).toEqual(Array(20).fill(503));
    expect(down.statusCode).toBe(503);
    expect(json(down)).toEqual({ status: 'unavailable' });
    expect(up.statusCode).toBe(200);
    expect(logs.lines().filter((l) => l.event === 'store-health')).toEqual([
      expect.objectContaining({ level: 'error', healthy: false, code: 'store-unavailable' }),
      expect.objectContaining({ level: 'info', healthy: true, failed: 20 }),
    ]);
  });
});

describe('Lambda handler: configuration', () => {
  it('builds the store once per container, on the first invocation', async () => {
    // Prepare
    let opened = 0;
    const handler = createLambdaHandler(lambdaEnv(), {
      logStream: discard,
      openStore: (config) => {
        opened += 1;
        return dynaliteStore(config);
      },
    });
    const beforeFirstCall = opened;

    // Act
    await handler(functionUrlEvent({ method: 'GET', path: '/healthz' }));
    await handler(checkEvent(triplet(30)));
    await handler(checkEvent(triplet(31)));

    // Assess
    expect(beforeFirstCall).toBe(0);
    expect(opened).toBe(1);
  });

  it.each([
    ['GREYGATE_TABLE', { GREYGATE_TABLE: undefined }],
    ['GREYGATE_TOKEN_SHA256', { GREYGATE_TOKEN_SHA256: undefined }],
    ['GREYGATE_PRIVACY_KEY', { GREYGATE_PRIVACY_KEY: undefined }],
    ['GREYGATE_PRIVACY_KEY', { GREYGATE_PRIVACY_KEY: 'not-hex' }],
    ['GREYGATE_DELAY', { GREYGATE_DELAY: 'five minutes' }],
    ['GREYGATE_TOKEN_SHA256', { GREYGATE_TOKEN_SHA256: 'abc' }],
  ])('answers 500 JSON and logs an error naming %s when it is wrong', async (variable, change) => {
    // Prepare
    const logs = logCapture();
    let opened = 0;
    const handler = createLambdaHandler(lambdaEnv(change), {
      logStream: logs.stream,
      openStore: (config) => {
        opened += 1;
        return dynaliteStore(config);
      },
    });

    // Act
    const check = await handler(checkEvent(triplet(40)));
    const health = await handler(functionUrlEvent({ method: 'GET', path: '/healthz' }));

    // Assess
    expect(check.statusCode).toBe(500);
    expect(json(check)).toEqual({
      error: { code: 'internal', message: 'the service is misconfigured; its log names the setting to fix' },
    });
    expect(health.statusCode).toBe(503);
    expect(json(health)).toEqual({ status: 'unavailable' });
    const errors = logs.lines().filter((l) => l.level === 'error');
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatchObject({ event: 'start-failed', code: 'lambda-config' });
    expect(String(errors[0]?.msg)).toContain(variable);
    expect(opened).toBe(0);
  });

  it('stores keyed hashes, not addresses, by default (privacy on)', async () => {
    // Prepare
    const handler = lambda();

    // Act
    const result = await handler(
      checkEvent({ ...triplet(50), client_address: '203.0.113.50', sender: 'private-sender@example.net', policy_test_time: T0 }),
    );

    // Assess
    expect(json(result)).toMatchObject({ verdict: 'greylist', reason: 'new' });
    const items = await tableItems();
    expect(items).not.toContain('private-sender');
    expect(items).not.toContain('203.0.113');
  });

  it('stores clear keys when GREYGATE_PRIVACY=false, and needs no key then', async () => {
    // Prepare
    const handler = lambda(lambdaEnv({ GREYGATE_PRIVACY: 'false', GREYGATE_PRIVACY_KEY: undefined }));

    // Act
    const result = await handler(checkEvent({ ...triplet(51), sender: 'public-sender@example.net', policy_test_time: T0 }));

    // Assess
    expect(json(result)).toMatchObject({ verdict: 'greylist', reason: 'new' });
    expect(await tableItems()).toContain('public-sender@example.net');
  });

  it('answers 500 and tries again on the next request when the store cannot be built', async () => {
    // Prepare
    const logs = logCapture();
    let attempts = 0;
    const handler = createLambdaHandler(lambdaEnv(), {
      logStream: logs.stream,
      openStore: (config) => {
        attempts += 1;
        if (attempts === 1) throw new Error('endpoint is not a URL');
        return dynaliteStore(config);
      },
    });

    // Act
    const failed = await handler(checkEvent(triplet(60)));
    const recovered = await handler(checkEvent(triplet(61)));

    // Assess
    expect(failed.statusCode).toBe(500);
    expect(recovered.statusCode).toBe(200);
    expect(logs.lines().find((l) => l.level === 'error')?.msg).toBe('greygate could not start: Error: endpoint is not a URL');
  });
});

describe('Lambda handler: container start', () => {
  it('when warm, builds its state and reads from DynamoDB before the first request arrives', async () => {
    // Prepare: the store as the function wires it, counting what reaches it
    const seen: string[] = [];
    const counted = (config: LambdaConfig): GreylistStore => {
      const store = dynaliteStore(config);
      seen.push('opened');
      return new Proxy(store, {
        get(target, name) {
          const value = Reflect.get(target, name) as unknown;
          if (typeof value !== 'function') return value;
          return (...args: unknown[]) => {
            seen.push(String(name));
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        },
      });
    };

    // Act: no request yet
    const handler = lambda(lambdaEnv(), { openStore: counted, warm: true });
    // (`admin`: the allow entries' cache takes the store's admin side; their first read is the
    // warm-up's second read, beside the ping)
    await vi.waitFor(() => expect(seen).toEqual(['opened', 'admin', 'ping']));
    const result = await handler(checkEvent(triplet(90)));

    // Assess: the first request found the store open and made it decide
    expect(result.statusCode).toBe(200);
    expect(seen).toEqual(['opened', 'admin', 'ping', 'runDecision']);
  });

  it('when warm, the first request waits for the warm-up reads and reuses their connections (no TLS handshake of its own on AWS)', async () => {
    // Prepare: DynamoDB behind a TCP relay that counts the connections made to it
    let connections = 0;
    const sockets = new Set<Socket>();
    const relay = createServer((inbound) => {
      connections += 1;
      const outbound = connect(Number(new URL(dynalite.endpoint).port), '127.0.0.1');
      for (const socket of [inbound, outbound]) {
        sockets.add(socket);
        socket.on('error', () => {
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    relay.listen(0, '127.0.0.1');
    await once(relay, 'listening');
    const client = createDynamoDbClient({
      region: TEST_REGION,
      endpoint: `http://127.0.0.1:${(relay.address() as AddressInfo).port}`,
      credentials: TEST_CREDENTIALS,
      // As dynalite.client(): a retry after a timeout on a loaded machine would open a third connection.
      limits: { requestTimeoutMs: 15_000 },
    });

    try {
      // Act: the first invocation arrives as soon as the container is up, the warm-up read in flight
      let atDecision = -1;
      const openStore = (config: LambdaConfig): GreylistStore => {
        const store = openLambdaStore(config, client);
        const runDecision = store.runDecision.bind(store);
        store.runDecision = (...args) => {
          atDecision = connections;
          return runDecision(...args);
        };
        return store;
      };
      const handler = lambda(lambdaEnv(), { openStore, warm: true });
      const result = await handler(checkEvent(triplet(91)));

      // Assess: the warm-up opened two, as many as a decision sends at once (its triplet and its
      // client's record), and the decision opened none
      expect(result.statusCode).toBe(200);
      expect(atDecision).toBe(2);
      expect(connections).toBe(2);
    } finally {
      client.destroy();
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => relay.close(resolve));
    }
  });

  it('when warm, a warm-up read that never returns holds the first request back only briefly', async () => {
    // Prepare: a store whose pings hang, as over connections cut off by a freeze after init
    const openStore = (config: LambdaConfig): GreylistStore => {
      const store = dynaliteStore(config);
      store.ping = () => new Promise<void>(() => {});
      return store;
    };

    // Act
    const handler = lambda(lambdaEnv(), { openStore, warm: true });
    const started = performance.now();
    const result = await handler(checkEvent(triplet(92)));

    // Assess: answered (without the bound this request would never be)
    expect(result.statusCode).toBe(200);
    expect(json(result).verdict).toBe('greylist');
    expect(performance.now() - started).toBeLessThan(4_000);
  });

  it('when not warm, touches nothing until the first request', async () => {
    // Prepare
    const seen: string[] = [];

    // Act
    lambda(lambdaEnv(), {
      openStore: (config) => {
        seen.push('opened');
        return dynaliteStore(config);
      },
    });
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Assess
    expect(seen).toEqual([]);
  });
});
