// dynalite (a DynamoDB-API server on LevelDB, in memory here) started by the tests on loopback,
// and clients for it with dummy credentials and an explicit region, so nothing reads ~/.aws.
//
// `inChildProcess: true` runs dynalite in its own Node process (the benchmark: there DynamoDB is
// another machine, and dynalite must not compete with the measured code for one event loop).
//
// dynalite lacks parts of DynamoDB that greygate uses where they exist. A small proxy in front of
// it adds them, the way DynamoDB answers, and forwards everything else:
// - `ttlApi`: UpdateTimeToLive (an unknown operation to dynalite) and DescribeTimeToLive (always
//   DISABLED there), so createTable's TTL step can be checked;
// - `itemOnConditionFailure`: ReturnValuesOnConditionCheckFailure, which dynalite ignores: a failed
//   condition then carries the item (read just after the failure), so the adapter's use of it runs.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { createDynamoDbClient } from '../../functions/store/dynamodb-table.ts';

interface DynaliteOptions {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

const require = createRequire(import.meta.url);
const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;

export const TEST_REGION = 'us-east-1';
export const TEST_CREDENTIALS = Object.freeze({ accessKeyId: 'greygate-test', secretAccessKey: 'greygate-test' });

export interface RunningDynalite {
  endpoint: string;
  /**
   * A new client (own connection pool) on this endpoint, destroyed by stop(). Tuned as in
   * production except the request timeout: dynalite answers one request at a time, and on a
   * shared machine a burst of 50 concurrent decisions can queue for longer than a second.
   */
  client(): DynamoDBClient;
  stop(): Promise<void>;
}

export interface StartDynaliteOptions {
  inChildProcess?: boolean;
  ttlApi?: boolean;
  itemOnConditionFailure?: boolean;
}

export async function startDynalite(opts: StartDynaliteOptions = {}): Promise<RunningDynalite> {
  const backend = opts.inChildProcess ? await startInChild() : await startInProcess();
  const proxy = opts.ttlApi || opts.itemOnConditionFailure ? await startProxy(backend.port, opts) : null;
  const endpoint = proxy?.endpoint ?? `http://127.0.0.1:${backend.port}`;
  const clients: DynamoDBClient[] = [];
  return {
    endpoint,
    client() {
      const client = createDynamoDbClient({
        region: TEST_REGION,
        endpoint,
        credentials: TEST_CREDENTIALS,
        limits: { requestTimeoutMs: 15_000 },
      });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients.splice(0)) client.destroy();
      await proxy?.close();
      await backend.stop();
    },
  };
}

const OPTIONS: DynaliteOptions = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };

async function startInProcess(): Promise<{ port: number; stop(): Promise<void> }> {
  const server = dynalite(OPTIONS);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

async function startInChild(): Promise<{ port: number; stop(): Promise<void> }> {
  const script =
    `const server = require('dynalite')(${JSON.stringify(OPTIONS)});` +
    "server.listen(0, '127.0.0.1', () => console.log(server.address().port));" +
    // Our stdin closes when the parent exits, even on a crash: no dynalite left behind.
    'process.stdin.on("end", () => process.exit(0)).resume();';
  const child = spawn(process.execPath, ['-e', script], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [first] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(([code]) => {
      throw new Error(`dynalite exited with ${String(code)} before listening`);
    }),
  ])) as [string];
  lines.close();
  return {
    port: Number(first),
    stop: async () => {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      await once(child, 'exit');
    },
  };
}

async function startProxy(backendPort: number, opts: StartDynaliteOptions): Promise<{ endpoint: string; close(): Promise<void> }> {
  const ttl = new Map<string, string>();
  const backend = (headers: IncomingMessage['headers'], body: Buffer): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const forward = request(
        { host: '127.0.0.1', port: backendPort, method: 'POST', path: '/', headers: { ...headers, 'content-length': body.length } },
        (answer) => {
          void readBody(answer).then((answerBody) => resolve({ status: answer.statusCode ?? 500, headers: answer.headers, body: answerBody }));
        },
      );
      forward.on('error', reject);
      forward.end(body);
    });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    if (opts.ttlApi && (operation === 'UpdateTimeToLive' || operation === 'DescribeTimeToLive')) {
      answerTtl(operation, JSON.parse(body.toString('utf8')) as TtlRequest, ttl, res);
      return;
    }
    const answer = await backend(req.headers, body);
    let answerBody = answer.body;
    if (opts.itemOnConditionFailure && answer.status === 400) {
      const input = JSON.parse(body.toString('utf8')) as { TableName?: string; Key?: unknown; ReturnValuesOnConditionCheckFailure?: string };
      const error = JSON.parse(answerBody.toString('utf8')) as Record<string, unknown>;
      if (String(error.__type).endsWith('ConditionalCheckFailedException') && input.ReturnValuesOnConditionCheckFailure === 'ALL_OLD') {
        const get = Buffer.from(JSON.stringify({ TableName: input.TableName, Key: input.Key, ConsistentRead: true }));
        const item = await backend({ ...req.headers, 'x-amz-target': 'DynamoDB_20120810.GetItem' }, get);
        const found = JSON.parse(item.body.toString('utf8')) as { Item?: unknown };
        if (found.Item !== undefined) answerBody = Buffer.from(JSON.stringify({ ...error, Item: found.Item }));
      }
    }
    // The body may have changed: drop the checksum and length that described the original.
    const { 'x-amz-crc32': _crc, 'content-length': _length, ...headers } = answer.headers;
    res.writeHead(answer.status, { ...headers, 'content-length': answerBody.length });
    res.end(answerBody);
  };

  const proxy = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  proxy.listen(0, '127.0.0.1');
  await once(proxy, 'listening');
  return {
    endpoint: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    close: async () => {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}

interface TtlRequest {
  TableName?: string;
  TimeToLiveSpecification?: { Enabled?: boolean; AttributeName?: string };
}

function answerTtl(operation: string, body: TtlRequest, ttl: Map<string, string>, res: ServerResponse): void {
  const table = body.TableName ?? '';
  const send = (status: number, payload: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify(payload));
  };
  if (operation === 'DescribeTimeToLive') {
    const attribute = ttl.get(table);
    send(200, {
      TimeToLiveDescription: attribute === undefined ? { TimeToLiveStatus: 'DISABLED' } : { TimeToLiveStatus: 'ENABLED', AttributeName: attribute },
    });
    return;
  }
  const spec = body.TimeToLiveSpecification ?? {};
  // DynamoDB refuses to enable TTL twice; createTable must check before asking.
  if (spec.Enabled && ttl.has(table)) {
    send(400, { __type: 'com.amazon.coral.validate#ValidationException', message: 'TimeToLive is already enabled' });
    return;
  }
  if (spec.Enabled && spec.AttributeName) ttl.set(table, spec.AttributeName);
  else ttl.delete(table);
  send(200, { TimeToLiveSpecification: spec });
}

async function readBody(req: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}
