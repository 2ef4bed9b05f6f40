// The bridge's client for `POST /v1/check`: node:http / node:https over kept-alive connections,
// one bounded time budget per check, and every outcome returned as data (it never throws), so the
// handler can choose the Postfix answer for each.
//
// Why node:http and not fetch: Node 20's fetch cannot take a private CA without importing the
// undici package (the bridge imports only node:*), and on a kept-alive connection it costs several
// times the per-request CPU of http.request; the bridge's added latency is what matters here.
//
// The reset retry, and why it fits the budget:
//
//   t=0        check starts; deadline = t0 + timeoutMs (one timer for both attempts)
//   t=ε        request written on a kept-alive socket the server has just closed (its idle
//              timeout raced our reuse): ECONNRESET / "socket hang up", no response byte
//   t=ε+       second attempt on a fresh connection, with the time left until the deadline
//   deadline   whatever is still running is destroyed: outcome `timeout`
//
// Only a reused socket that failed before any response byte is retried: then the server cannot
// have answered, and almost certainly never read the request. A fresh connection that fails is a
// real failure, and one that failed after an answer started must not count twice.

import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { urlToHttpOptions } from 'node:url';
import { isHeaderAction, unrelayableReason } from './relayed-action.ts';

export type FailureKind = 'timeout' | 'connection' | 'server-error' | 'invalid-answer' | 'forbidden-action';

export type CheckOutcome =
  /** 2xx with an action greygate produces. `header` is true when the answer adds an X-Greylist header. */
  | { kind: 'answer'; action: string; header: boolean }
  /** 4xx: the API refused this request (bad input, bad token). */
  | { kind: 'refused'; status: number; code: string; message: string; field?: string }
  | { kind: 'failed'; failure: FailureKind; detail: string }
  /** The caller's signal fired: the Postfix client went away, nobody waits for an answer. */
  | { kind: 'abandoned' };

export interface ApiClientOptions {
  checkUrl: URL;
  timeoutMs: number;
  /** The current `Authorization` value, read per request so a reloaded token applies at once. */
  authorization: () => string | undefined;
  /** PEM of a private CA, trusted in addition to Node's bundled roots. */
  caPem?: string | null;
  /** Concurrent connections to the API; further checks wait for a free one within their budget. */
  maxSockets?: number;
}

export interface ApiClientStats {
  checks: number;
  /** Second attempts after a kept-alive connection was found closed. */
  retries: number;
  /** TCP (or TLS) connections opened to the API; far below `checks` while keep-alive works. */
  connectionsOpened: number;
}

/**
 * 4 s: an idle connection is dropped by us before any common server drops it (Node's default
 * keep-alive timeout is 5 s; nginx 75 s, AWS load balancers 60 s), so the reset race above stays
 * rare; a server announcing a shorter `Keep-Alive: timeout=` is honoured by the agent.
 */
const IDLE_SOCKET_MS = 4000;
/** Enough for every Postfix smtpd process of a busy MX to have a check in flight at once. */
const DEFAULT_MAX_SOCKETS = 256;
/** An answer is ~200 bytes; anything much larger is not the greygate API. */
const MAX_ANSWER_BYTES = 64 * 1024;
const MAX_ACTION_CHARS = 4096;

const FIXED_HEADERS: Readonly<http.OutgoingHttpHeaders> = {
  'content-type': 'application/json',
  accept: 'application/json',
  'user-agent': 'greygate-bridge',
};

type Attempt = CheckOutcome | { kind: 'retry'; detail: string };

export class ApiClient {
  /** Where every check goes, as request options: the URL is taken apart once, not per check. */
  readonly #target: http.RequestOptions;
  readonly #timeoutMs: number;
  readonly #authorization: () => string | undefined;
  readonly #agent: http.Agent;
  /** For the retry after a reset: a new connection, never another idle one from the pool. */
  readonly #freshAgent: http.Agent;
  readonly #request: typeof http.request;
  readonly #stats: ApiClientStats = { checks: 0, retries: 0, connectionsOpened: 0 };

  constructor(opts: ApiClientOptions) {
    this.#target = { ...urlToHttpOptions(opts.checkUrl), method: 'POST' };
    this.#timeoutMs = opts.timeoutMs;
    this.#authorization = opts.authorization;
    const agentOptions: http.AgentOptions = {
      keepAlive: true,
      maxSockets: opts.maxSockets ?? DEFAULT_MAX_SOCKETS,
      maxFreeSockets: opts.maxSockets ?? DEFAULT_MAX_SOCKETS,
      timeout: IDLE_SOCKET_MS,
      // The most recently used socket first: the others idle out instead of all staying warm.
      scheduling: 'lifo',
    };
    if (opts.checkUrl.protocol === 'https:') {
      // `ca` replaces Node's roots, so the bundled ones are passed along with the private CA.
      const ca = opts.caPem ? [...rootCertificates, opts.caPem] : undefined;
      this.#agent = new https.Agent({ ...agentOptions, ...(ca ? { ca } : {}) });
      this.#freshAgent = new https.Agent({ keepAlive: false, ...(ca ? { ca } : {}) });
      this.#request = https.request;
    } else {
      this.#agent = new http.Agent(agentOptions);
      this.#freshAgent = new http.Agent({ keepAlive: false });
      this.#request = http.request;
    }
  }

  /** One check of `body` (a JSON object text) within the time budget; `signal` aborts it early. */
  async check(body: string, signal?: AbortSignal): Promise<CheckOutcome> {
    this.#stats.checks += 1;
    const deadline = performance.now() + this.#timeoutMs;
    const payload = Buffer.from(body, 'utf8');
    const first = await this.#attempt(payload, deadline, signal, this.#agent);
    if (first.kind !== 'retry') return first;
    this.#stats.retries += 1;
    // Other pooled sockets may have been closed by the same server restart or idle timeout.
    const second = await this.#attempt(payload, deadline, signal, this.#freshAgent);
    if (second.kind !== 'retry') return second;
    return { kind: 'failed', failure: 'connection', detail: `${second.detail} (after a retry on a new connection)` };
  }

  stats(): ApiClientStats {
    return { ...this.#stats };
  }

  /** Destroys every connection to the API, idle or not: call after the last check has settled. */
  close(): void {
    this.#agent.destroy();
    this.#freshAgent.destroy();
  }

  #attempt(payload: Buffer, deadline: number, signal: AbortSignal | undefined, agent: http.Agent): Promise<Attempt> {
    const left = Math.max(0, Math.round(deadline - performance.now()));
    if (left === 0) return Promise.resolve(timedOut(this.#timeoutMs));
    if (signal?.aborted) return Promise.resolve({ kind: 'abandoned' });

    return new Promise<Attempt>((resolve) => {
      const headers: http.OutgoingHttpHeaders = { ...FIXED_HEADERS, 'content-length': payload.length };
      const authorization = this.#authorization();
      if (authorization !== undefined) headers.authorization = authorization;

      let settled = false;
      let responded = false;
      // A new options object each time: http.request writes into the object it is given.
      const req = this.#request({ ...this.#target, agent, headers });
      const finish = (outcome: Attempt, destroy = false): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (destroy) req.destroy();
        resolve(outcome);
      };
      const timer = setTimeout(() => finish(timedOut(this.#timeoutMs), true), left);
      const onAbort = (): void => finish({ kind: 'abandoned' }, true);
      signal?.addEventListener('abort', onAbort, { once: true });

      req.on('socket', (socket) => {
        if (req.reusedSocket) return;
        this.#stats.connectionsOpened += 1;
        socket.setNoDelay(true);
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (!responded && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) {
          finish({ kind: 'retry', detail: describeNetError(err) });
        } else {
          finish({ kind: 'failed', failure: 'connection', detail: describeNetError(err) });
        }
      });
      req.on('response', (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_ANSWER_BYTES) {
            finish({ kind: 'failed', failure: 'invalid-answer', detail: `HTTP ${res.statusCode}: the answer is larger than ${MAX_ANSWER_BYTES} bytes` }, true);
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err) => finish({ kind: 'failed', failure: 'connection', detail: `connection lost while reading the answer: ${describeNetError(err)}` }));
        res.on('aborted', () => finish({ kind: 'failed', failure: 'connection', detail: 'connection lost while reading the answer' }));
        res.on('end', () => finish(interpret(res.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      });
      req.end(payload);
    });
  }
}

function timedOut(timeoutMs: number): CheckOutcome {
  return { kind: 'failed', failure: 'timeout', detail: `no answer within ${timeoutMs} ms` };
}

/** Turns a complete HTTP answer into an outcome; every field is checked, nothing is trusted. */
export function interpret(status: number, text: string): CheckOutcome {
  if (status >= 500) {
    const error = errorBody(text);
    return { kind: 'failed', failure: 'server-error', detail: `HTTP ${status}${error ? ` ${error.code}: ${error.message}` : ''}` };
  }
  if (status >= 400) {
    // 408 and 429 say "not now", not "bad request": they are the API failing, like a 503.
    if (status === 408 || status === 429) return { kind: 'failed', failure: 'server-error', detail: `HTTP ${status}` };
    const error = errorBody(text);
    return {
      kind: 'refused',
      status,
      code: error?.code ?? 'unknown',
      message: error?.message ?? `HTTP ${status} without a greygate error body`,
      ...(error?.field === undefined ? {} : { field: error.field }),
    };
  }
  if (status < 200 || status >= 300) {
    return { kind: 'failed', failure: 'invalid-answer', detail: `unexpected HTTP ${status}; is --api the greygate API's base URL?` };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { kind: 'failed', failure: 'invalid-answer', detail: `HTTP ${status} with a body that is not JSON: ${preview(text)}` };
  }
  const action = isRecord(body) ? body.action : undefined;
  if (typeof action !== 'string' || action.trim() === '' || action.length > MAX_ACTION_CHARS) {
    return { kind: 'failed', failure: 'invalid-answer', detail: `HTTP ${status} without a usable "action": ${preview(text)}` };
  }
  const forbidden = unrelayableReason(action);
  if (forbidden !== undefined) {
    return { kind: 'failed', failure: 'forbidden-action', detail: `HTTP ${status} with the action ${preview(action)}, not passed on: ${forbidden}` };
  }
  return { kind: 'answer', action, header: isHeaderAction(action) };
}

function errorBody(text: string): { code: string; message: string; field?: string } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  const error = isRecord(body) ? body.error : undefined;
  if (!isRecord(error)) return undefined;
  const code = typeof error.code === 'string' ? error.code.slice(0, 64) : 'unknown';
  const message = typeof error.message === 'string' ? error.message.slice(0, 300) : '';
  return typeof error.field === 'string' ? { code, message, field: error.field.slice(0, 64) } : { code, message };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function preview(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}…` : text);
}

/** `ECONNREFUSED 127.0.0.1:8080`, `CERT_HAS_EXPIRED: certificate has expired`, … */
function describeNetError(err: NodeJS.ErrnoException): string {
  const code = typeof err.code === 'string' ? err.code : undefined;
  if (code === 'ECONNREFUSED') return 'connection refused (ECONNREFUSED): is the API running and --api right?';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `the API host does not resolve (${code})`;
  return code ? `${code}: ${err.message}` : err.message;
}
