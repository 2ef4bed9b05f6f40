// A stand-in for the greygate HTTP API on 127.0.0.1:0 that a test can break on purpose: answer
// normally, hang, answer 500, answer garbage, go down (connection refused) and come back on the
// same port, or cut a kept-alive connection. It records each request and counts TCP connections,
// so tests can see what the bridge sent and whether it reused its connections. Also starts the
// bridge in front of it (startTestBridge), with every log line captured.

import http from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { Writable } from 'node:stream';
import { runBridge, type RunningBridge } from '../../bridge/main.ts';

export type FakeReply =
  | { kind: 'json'; status?: number; body: unknown; delayMs?: number }
  | { kind: 'raw'; status?: number; contentType?: string; text: string }
  /** Never answer; the connection stays open. */
  | { kind: 'hang' }
  /** Close the connection without a byte of answer. */
  | { kind: 'drop' };

export interface FakeRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: Record<string, unknown>;
  /** 1 for the first request on its TCP connection, 2 for the second, … */
  requestOnConnection: number;
}

export type FakeResponder = (request: FakeRequest) => FakeReply;

/** What the real API answers for a triplet seen before: plain DUNNO. */
export const PASS_REPLY: FakeReply = { kind: 'json', body: { action: 'DUNNO', verdict: 'pass', reason: 'triplet-found' } };

export interface FakeApi {
  /** `http://127.0.0.1:PORT` (or https://). */
  readonly url: string;
  readonly port: number;
  readonly requests: FakeRequest[];
  /** TCP connections accepted since start. */
  readonly connections: number;
  /** How each request is answered from now on. */
  respond(responder: FakeResponder): void;
  /** The next request that arrives on a reused connection is dropped, once (the keep-alive race). */
  dropNextReusedRequest(): void;
  /** Closes every connection that is idle between requests, as a server's keep-alive timeout does. */
  closeIdleConnections(): void;
  /** Stops listening and cuts every connection: the port now refuses connections. */
  down(): Promise<void>;
  /** Listens again on the same port. */
  up(): Promise<void>;
  close(): Promise<void>;
}

export async function startFakeApi(opts: { tls?: { key: string; cert: string } } = {}): Promise<FakeApi> {
  let responder: FakeResponder = () => PASS_REPLY;
  let dropReused = false;
  let connections = 0;
  const requests: FakeRequest[] = [];
  const sockets = new Set<Socket>();
  const perSocket = new WeakMap<Socket, number>();

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      } catch {
        /* recorded as {} */
      }
      const request: FakeRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body, requestOnConnection: n };
      requests.push(request);
      if (dropReused && n > 1) {
        dropReused = false;
        req.socket.destroy();
        return;
      }
      answer(responder(request), res);
    });
  };
  const server = opts.tls ? https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, onRequest) : http.createServer(onRequest);
  server.keepAliveTimeout = 60_000;
  // Count TCP connections, not TLS sessions: the question is whether sockets are reused.
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const listen = (port: number): Promise<void> =>
    new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const cutAll = (): void => {
    for (const socket of sockets) socket.destroy();
  };

  return {
    url: `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    port,
    requests,
    get connections() {
      return connections;
    },
    respond(next) {
      responder = next;
    },
    dropNextReusedRequest() {
      dropReused = true;
    },
    closeIdleConnections() {
      server.closeIdleConnections();
    },
    async down() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      cutAll();
      await closed;
    },
    up: () => listen(port),
    async close() {
      const closed = new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
      cutAll();
      await closed;
    },
  };
}

function answer(reply: FakeReply, res: http.ServerResponse): void {
  switch (reply.kind) {
    case 'hang':
      return;
    case 'drop':
      res.socket?.destroy();
      return;
    case 'raw':
      res.writeHead(reply.status ?? 200, { 'content-type': reply.contentType ?? 'text/plain' });
      res.end(reply.text);
      return;
    case 'json': {
      const send = (): void => {
        const text = JSON.stringify(reply.body);
        res.writeHead(reply.status ?? 200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
        res.end(text);
      };
      if (reply.delayMs === undefined) send();
      else setTimeout(send, reply.delayMs);
    }
  }
}

// ---- the bridge in front of an API, for the bridge tests ----

/** Collects what a logger writes, so tests can read (and grep) every log line. */
export class LogCapture extends Writable {
  #text = '';
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: (err?: Error | null) => void): void {
    this.#text += chunk.toString();
    done();
  }
  get text(): string {
    return this.#text;
  }
  lines(): string[] {
    return this.#text.split('\n').filter((line) => line !== '');
  }
}

export interface TestBridge {
  bridge: RunningBridge;
  /** The policy listener, for PolicyClient / sendPolicyRequests. */
  address: string;
  logs: LogCapture;
}

const bridges: RunningBridge[] = [];

/**
 * runBridge on 127.0.0.1:0 in front of `api`, logging (verbose) into a LogCapture. `args` come
 * after the defaults, so a test can override them; closeTestBridges() closes them all.
 */
export async function startTestBridge(api: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<TestBridge> {
  const logs = new LogCapture();
  const bridge = await runBridge(['--inet', '127.0.0.1:0', '--api', api, '-v', ...args], env, { logStream: logs });
  bridges.push(bridge);
  const [address] = bridge.addresses();
  if (address === undefined) throw new Error('the bridge has no listener');
  return { bridge, address, logs };
}

export async function closeTestBridges(): Promise<void> {
  await Promise.all(bridges.splice(0).map((b) => b.close({ drainTimeoutMs: 500 })));
}
