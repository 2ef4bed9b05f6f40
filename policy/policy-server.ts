// Postfix policy delegation server (SMTPD_POLICY_README): TCP and unix listeners, persistent
// connections, one handler call per request. Used by `greygate serve` (in-process decider) and by
// `greygate-bridge` (forwards to the HTTPS API); it knows nothing of greylisting.
//
// Postfix side, main.cf:
//   smtpd_recipient_restrictions = ..., reject_unauth_destination,
//       check_policy_service inet:127.0.0.1:10023
// or, with a unix listener inside the Postfix chroot:
//       check_policy_service unix:private/greygate
//
// Building a server does not listen; the entry file calls listen(), tests listen on port 0.
//
// Against clients that hold connections without using them (policy port exposed to a LAN, or a
// local user): caps with a reserve in connection-table.ts, a per-request deadline and an idle
// limit in policy-connection.ts, enforced by a sweep here; the log lines in limit-log.ts.

import { chmod } from 'node:fs/promises';
import net from 'node:net';
import { ConnectionTable, type LimitCause } from './connection-table.ts';
import { describePeer, type ConnectionCounters, type ConnectionSettings, type PolicyHandler } from './connection-contract.ts';
import { clearStaleSocket, listenAdvice, PolicyServerError } from './listen-failures.ts';
import { LimitLog } from './limit-log.ts';
import { describeError, type Logger } from './logger.ts';
import { formatListenAddress, type ListenAddress } from './listen-address.ts';
import { PolicyConnection } from './policy-connection.ts';

export type { PolicyHandler, PolicyRequestInfo } from './connection-contract.ts';
export { PolicyServerError, type PolicyServerErrorCode } from './listen-failures.ts';

export interface PolicyServerOptions {
  handler: PolicyHandler;
  logger: Logger;
  /**
   * Longest request line in bytes. Name and value are cut to 512 characters each (as Postgrey
   * does), so a meaningful line is a short name plus at most ~2 KiB of UTF-8; 4 KiB (also
   * smtp-server's line cap) leaves room and still bounds what one client can make us buffer.
   */
  maxLineBytes?: number;
  /**
   * Most lines in one request. Postfix 3.x sends about 40 attributes; 100 leaves room for ones
   * future versions add while bounding memory and log lines per request.
   */
  maxAttributes?: number;
  /**
   * The attributes `handler` reads; the others are not kept. Default: all of them (the bridge
   * forwards every one).
   */
  handlerAttributes?: readonly string[];
  /** Close the connection after each answer (Postgrey's `--exim`). */
  exim?: boolean;
  /**
   * Open connections across all listeners. Each Postfix smtpd process holds one connection
   * (default_process_limit is 100), so 1000 covers several MTAs sharing a listener plus reconnect
   * churn, while capping file descriptors. At the cap a newcomer takes the slot of the connection
   * idle longest (connection-table.ts); it is refused only when every connection is busy.
   */
  maxConnections?: number;
  /**
   * Open connections from one IP address (unix-socket peers are exempt); beyond it the address's
   * own idle-longest connection gives way. Default: half of maxConnections, far above what one
   * Postfix host holds (one per smtpd process), yet one address can never take every slot.
   */
  maxConnectionsPerAddress?: number;
  /**
   * Close a connection with no request in progress after this long without a completed request.
   * Postfix closes its own idle policy connections after smtpd_policy_service_max_idle (300 s),
   * so 600 s keeps Postfix the one that closes (no "lost connection" warnings in its log) and
   * only catches clients that vanished without a FIN. Bytes that complete no request do not
   * restart it.
   */
  idleTimeoutMs?: number;
  /**
   * Time from a request's first byte to its closing empty line. Postfix writes a whole request
   * at once, so 10 s is ample for any real client while a connection that drips bytes to hold
   * its slot is closed long before the idle timeout.
   */
  requestTimeoutMs?: number;
  /** Requests one connection may have in the handler at once; beyond it reading pauses. */
  maxPipelinedRequests?: number;
  /** Listen backlog (Postgrey's --listen-queue-size); the OS default when absent. */
  backlog?: number;
}

export interface PolicyServerStats {
  connectionsOpen: number;
  connectionsAccepted: number;
  connectionsRefused: number;
  /** Idle or slow connections closed to make room for new ones. */
  connectionsEvicted: number;
  /** Connections closed for not completing a request within requestTimeoutMs. */
  requestTimeouts: number;
  requestsAnswered: number;
  requestsInFlight: number;
  /** Handler failures, each answered DUNNO. */
  errors: number;
  unrecognizedRequests: number;
  garbageLines: number;
  /** Connections closed for exceeding maxLineBytes or maxAttributes. */
  limitViolations: number;
  socketErrors: number;
}

export interface PolicyServer {
  /** Start one more listener; resolves once it accepts connections. */
  listen(addr: ListenAddress): Promise<void>;
  /** Bound addresses as printed in logs: `127.0.0.1:10023`, `[::1]:10023`, `unix:/path`. */
  addresses(): string[];
  /** Bound addresses with the real port (useful after listening on port 0). */
  boundAddresses(): ListenAddress[];
  /** Stop accepting, answer in-flight requests, end idle connections, force-close the rest
   * after drainTimeoutMs (default 10 s), remove unix socket files. Idempotent. */
  close(opts?: { drainTimeoutMs?: number }): Promise<void>;
  stats(): PolicyServerStats;
}

export const POLICY_SERVER_DEFAULTS = Object.freeze({
  maxLineBytes: 4096,
  maxAttributes: 100,
  maxConnections: 1000,
  idleTimeoutMs: 600_000,
  requestTimeoutMs: 10_000,
  maxPipelinedRequests: 64,
  drainTimeoutMs: 10_000,
});

// The deadline sweep runs this often at most; deadlines are enforced to within one period.
const MAX_SWEEP_INTERVAL_MS = 1_000;

export function createPolicyServer(opts: PolicyServerOptions): PolicyServer {
  return new NetPolicyServer(opts);
}

interface Listener {
  server: net.Server;
  address: ListenAddress;
}

class NetPolicyServer implements PolicyServer {
  readonly #logger: Logger;
  readonly #settings: ConnectionSettings;
  readonly #backlog: number | undefined;
  readonly #listeners: Listener[] = [];
  readonly #connections: ConnectionTable<PolicyConnection>;
  readonly #sweepIntervalMs: number;
  #sweep: NodeJS.Timeout | undefined;
  readonly #counters: ConnectionCounters = {
    requestsAnswered: 0,
    requestsInFlight: 0,
    handlerErrors: 0,
    unrecognizedRequests: 0,
    garbageLines: 0,
    limitViolations: 0,
    socketErrors: 0,
  };
  #accepted = 0;
  #refused = 0;
  #evicted = 0;
  #requestTimeouts = 0;
  readonly #limitLog: LimitLog;
  #nextId = 1;
  #closing: Promise<void> | undefined;
  #onEmpty: (() => void) | undefined;

  constructor(opts: PolicyServerOptions) {
    const d = POLICY_SERVER_DEFAULTS;
    this.#logger = opts.logger;
    const maxConnections = positive('maxConnections', opts.maxConnections ?? d.maxConnections);
    const maxPerAddress = positive('maxConnectionsPerAddress', opts.maxConnectionsPerAddress ?? Math.ceil(maxConnections / 2));
    this.#connections = new ConnectionTable(maxConnections, maxPerAddress);
    this.#backlog = opts.backlog === undefined ? undefined : positive('backlog', opts.backlog);
    this.#settings = {
      handler: opts.handler,
      logger: opts.logger,
      maxLineBytes: positive('maxLineBytes', opts.maxLineBytes ?? d.maxLineBytes),
      maxAttributes: positive('maxAttributes', opts.maxAttributes ?? d.maxAttributes),
      // The connection reads `request` itself, to tell policy requests from others.
      handlerAttributes: opts.handlerAttributes ? new Set(['request', ...opts.handlerAttributes]) : undefined,
      maxPipelined: positive('maxPipelinedRequests', opts.maxPipelinedRequests ?? d.maxPipelinedRequests),
      exim: opts.exim ?? false,
      idleTimeoutMs: positive('idleTimeoutMs', opts.idleTimeoutMs ?? d.idleTimeoutMs),
      requestTimeoutMs: positive('requestTimeoutMs', opts.requestTimeoutMs ?? d.requestTimeoutMs),
    };
    const { idleTimeoutMs, requestTimeoutMs } = this.#settings;
    this.#sweepIntervalMs = Math.max(10, Math.min(MAX_SWEEP_INTERVAL_MS, Math.floor(Math.min(idleTimeoutMs, requestTimeoutMs) / 4)));
    this.#limitLog = new LimitLog(opts.logger, { maxConnections, maxConnectionsPerAddress: maxPerAddress, requestTimeoutMs });
  }

  async listen(addr: ListenAddress): Promise<void> {
    if (this.#closing) {
      throw new PolicyServerError('ERR_POLICY_SERVER_CLOSED', `cannot listen on ${formatListenAddress(addr)}: the policy server is closing`);
    }
    const server = net.createServer({ allowHalfOpen: true }, (socket) => this.#onConnection(socket));
    if (addr.kind === 'unix') await clearStaleSocket(addr.path, this.#logger);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const onListening = (): void => {
        server.off('error', reject);
        resolve();
      };
      const backlog = this.#backlog === undefined ? {} : { backlog: this.#backlog };
      if (addr.kind === 'unix') server.listen({ path: addr.path, ...backlog }, onListening);
      else server.listen({ host: addr.host, port: addr.port, ...backlog }, onListening);
    }).catch((err: unknown) => {
      throw new PolicyServerError('ERR_POLICY_LISTEN', `cannot listen on ${formatListenAddress(addr)}: ${listenAdvice(err)}`, { cause: err });
    });

    if (addr.kind === 'unix' && addr.mode !== undefined) {
      try {
        await chmod(addr.path, addr.mode);
      } catch (err) {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        throw new PolicyServerError('ERR_POLICY_LISTEN', `cannot set mode ${addr.mode.toString(8)} on ${addr.path}: ${describeError(err)}`, { cause: err });
      }
    }
    if (this.#closing) {
      // close() ran while we were binding; it could not see this listener.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      throw new PolicyServerError('ERR_POLICY_SERVER_CLOSED', `cannot listen on ${formatListenAddress(addr)}: the policy server is closing`);
    }
    const bound = boundAddress(server, addr);
    // After listening, errors come from accept(): out of descriptors (EMFILE, ENFILE) or memory.
    // They repeat with every connection attempt, hence the rate limit.
    server.on('error', (err) => this.#limitLog.acceptFailed(formatListenAddress(bound), err));
    this.#listeners.push({ server, address: bound });
    this.#startSweep();
    this.#logger.info(`listening on ${formatListenAddress(bound)}`);
  }

  addresses(): string[] {
    return this.#listeners.map((l) => formatListenAddress(l.address));
  }

  boundAddresses(): ListenAddress[] {
    return this.#listeners.map((l) => ({ ...l.address }));
  }

  stats(): PolicyServerStats {
    const c = this.#counters;
    return {
      connectionsOpen: this.#connections.size,
      connectionsAccepted: this.#accepted,
      connectionsRefused: this.#refused,
      connectionsEvicted: this.#evicted,
      requestTimeouts: this.#requestTimeouts,
      requestsAnswered: c.requestsAnswered,
      requestsInFlight: c.requestsInFlight,
      errors: c.handlerErrors,
      unrecognizedRequests: c.unrecognizedRequests,
      garbageLines: c.garbageLines,
      limitViolations: c.limitViolations,
      socketErrors: c.socketErrors,
    };
  }

  close(opts: { drainTimeoutMs?: number } = {}): Promise<void> {
    this.#closing ??= this.#drain(opts.drainTimeoutMs ?? POLICY_SERVER_DEFAULTS.drainTimeoutMs);
    return this.#closing;
  }

  async #drain(drainTimeoutMs: number): Promise<void> {
    // Closing a listener stops accepting; libuv unlinks a unix socket file when it closes.
    const listenersClosed = this.#listeners.map((l) => new Promise<void>((resolve) => l.server.close(() => resolve())));
    const allClosed = new Promise<void>((resolve) => {
      if (this.#connections.size === 0) resolve();
      else this.#onEmpty = resolve;
    });
    for (const conn of this.#connections) conn.shutdown();

    const timer = setTimeout(() => {
      if (this.#connections.size === 0) return;
      this.#logger.warn(`policy server shutdown: force-closing ${this.#connections.size} connection(s) still open after ${drainTimeoutMs} ms`);
      for (const conn of this.#connections) conn.destroy();
    }, drainTimeoutMs);
    // Open sockets keep the process alive anyway; the timer alone must not.
    timer.unref();
    try {
      await allClosed;
      await Promise.all(listenersClosed);
    } finally {
      clearTimeout(timer);
      clearInterval(this.#sweep);
      this.#limitLog.close();
    }
  }

  #startSweep(): void {
    if (this.#sweep !== undefined) return;
    this.#sweep = setInterval(() => {
      const now = Date.now();
      for (const conn of this.#connections) {
        if (conn.expire(now) !== 'request-timeout') continue;
        this.#requestTimeouts += 1;
        this.#limitLog.overdue(conn.client);
      }
    }, this.#sweepIntervalMs);
    // Open sockets keep the process alive; the sweep alone must not.
    this.#sweep.unref();
  }

  #onConnection(socket: net.Socket): void {
    if (this.#closing) {
      socket.on('error', () => {});
      socket.destroy();
      return;
    }
    const admission = this.#connections.admit(socket.remoteAddress);
    if (admission.kind === 'refuse') return this.#refuse(socket, admission.cause);
    if (admission.kind === 'evict') {
      // Out of the table at once: its 'close' comes later, and the newcomer needs the slot now.
      this.#connections.delete(admission.victim);
      admission.victim.destroy();
      this.#evicted += 1;
      this.#limitLog.evicted(describePeer(socket), admission.cause);
    }
    this.#accepted += 1;
    const conn = new PolicyConnection(socket, this.#nextId++, this.#settings, this.#counters, (c) => {
      this.#connections.delete(c);
      if (this.#connections.size === 0) this.#onEmpty?.();
    });
    this.#connections.add(conn);
  }

  #refuse(socket: net.Socket, cause: LimitCause): void {
    // Described before destroy(), which forgets the peer's address.
    const client = describePeer(socket);
    socket.on('error', () => {});
    socket.destroy();
    this.#refused += 1;
    this.#limitLog.refused(client, cause);
  }
}

function boundAddress(server: net.Server, requested: ListenAddress): ListenAddress {
  const info = server.address();
  if (requested.kind === 'unix' || info === null || typeof info === 'string') return requested;
  return { kind: 'inet', host: info.address, port: info.port };
}

function positive(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`policy server option ${name} must be a positive integer, got ${value}`);
  return value;
}
