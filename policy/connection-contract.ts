// What the policy server and each of its connections share: the handler's signature, the
// settings every connection gets, the counters they add to, and how a peer is named in the log.

import type { Socket } from 'node:net';
import type { Logger } from './logger.ts';

export interface PolicyRequestInfo {
  connectionId: number;
  /** The peer as logged: `192.0.2.1:40000`, `[::1]:40000` or `unix socket`. */
  client: string;
  /** Aborted when the client goes away before this request is answered; the answer would be
   * discarded anyway. One signal per request, so listeners never pile up on a long connection. */
  signal: AbortSignal;
}

/** Returns the action text: what follows `action=` in the reply. */
export type PolicyHandler = (attrs: ReadonlyMap<string, string>, info: PolicyRequestInfo) => Promise<string>;

export interface ConnectionSettings {
  handler: PolicyHandler;
  logger: Logger;
  maxLineBytes: number;
  maxAttributes: number;
  /** Attributes the handler reads, besides `request`; undefined: every attribute. */
  handlerAttributes: ReadonlySet<string> | undefined;
  maxPipelined: number;
  exim: boolean;
  idleTimeoutMs: number;
  requestTimeoutMs: number;
}

/** Why expire() closed a connection. */
export type ExpiryReason = 'request-timeout' | 'idle';

/** Counters shared by all connections of one server; PolicyServer.stats() copies them. */
export interface ConnectionCounters {
  requestsAnswered: number;
  requestsInFlight: number;
  handlerErrors: number;
  unrecognizedRequests: number;
  garbageLines: number;
  limitViolations: number;
  socketErrors: number;
}

/** The peer as logged; read it before destroy(), which forgets the address. */
export function describePeer(socket: Pick<Socket, 'remoteAddress' | 'remotePort'>): string {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined) return 'unix socket';
  return remoteAddress.includes(':') ? `[${remoteAddress}]:${remotePort}` : `${remoteAddress}:${remotePort}`;
}
