// Shared pieces of the policy server tests: a logger that records, servers on port 0 that are
// closed after each test, and a raw socket for byte-exact checks.

import net from 'node:net';
import type { Logger } from '../../policy/logger.ts';
import { createPolicyServer, type PolicyServer, type PolicyServerOptions } from '../../policy/policy-server.ts';
import { parseAddressString, type ListenAddress } from '../../policy/listen-address.ts';

export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  msg: string;
  fields: Record<string, unknown> | undefined;
}

export interface RecordingLogger extends Required<Logger> {
  entries: LogEntry[];
  messages(level: LogEntry['level']): string[];
}

export function recordingLogger(): RecordingLogger {
  const entries: LogEntry[] = [];
  const at =
    (level: LogEntry['level']) =>
    (msg: string, fields?: Record<string, unknown>): void => {
      entries.push({ level, msg, fields });
    };
  return {
    entries,
    messages: (level) => entries.filter((e) => e.level === level).map((e) => e.msg),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    infoEnabled: true,
    fieldsEnabled: true,
  };
}

export interface StartedServer {
  server: PolicyServer;
  address: string;
  logger: RecordingLogger;
}

const running: PolicyServer[] = [];

/** A policy server listening on 127.0.0.1 port 0 (or `listen`), closed by closeAllServers(). */
export async function startPolicyServer(
  opts: Partial<PolicyServerOptions> & { listen?: ListenAddress[] } = {},
): Promise<StartedServer> {
  const logger = recordingLogger();
  const server = createPolicyServer({
    handler: async () => 'DUNNO',
    logger,
    ...opts,
  });
  running.push(server);
  for (const addr of opts.listen ?? [{ kind: 'inet', host: '127.0.0.1', port: 0 }]) await server.listen(addr);
  const [address] = server.addresses();
  if (address === undefined) throw new Error('server has no address');
  return { server, address, logger };
}

export async function closeAllServers(): Promise<void> {
  await Promise.all(running.splice(0).map((s) => s.close({ drainTimeoutMs: 100 })));
}

/** Poll until `check` holds; for effects that follow a socket event on the server side. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(err: unknown): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A plain socket that records every byte the server sends and whether the server closed. */
export class RawConnection {
  readonly socket: net.Socket;
  #received = Buffer.alloc(0);
  readonly closed: Promise<void>;
  #isClosed = false;

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk]);
    });
    // Writes racing a server-side close fail with EPIPE/ECONNRESET; that is what the tests provoke.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) =>
      socket.on('close', () => {
        this.#isClosed = true;
        resolve();
      }),
    );
  }

  /** `localAddress` picks the source address, e.g. 127.0.0.2 (Linux routes all of 127/8 to lo). */
  static connect(address: ListenAddress | string, opts: { allowHalfOpen?: boolean; localAddress?: string } = {}): Promise<RawConnection> {
    const addr = typeof address === 'string' ? parseAddressString(address) : address;
    const allowHalfOpen = opts.allowHalfOpen ?? false;
    const source = opts.localAddress === undefined ? {} : { localAddress: opts.localAddress };
    return new Promise((resolve, reject) => {
      const socket =
        addr.kind === 'unix'
          ? net.connect({ path: addr.path, allowHalfOpen })
          : net.connect({ host: addr.host, port: addr.port, allowHalfOpen, ...source });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new RawConnection(socket));
      });
    });
  }

  get text(): string {
    return this.#received.toString('utf8');
  }

  get isClosed(): boolean {
    return this.#isClosed;
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  async waitForText(text: string, timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.text.includes(text), `server to send ${JSON.stringify(text)}`, timeoutMs);
  }

  /** Resolves true if the server closed the connection within timeoutMs. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const result = await Promise.race([this.closed.then(() => true), timeout]);
    clearTimeout(timer);
    return result;
  }

  destroy(): void {
    this.socket.destroy();
  }
}
