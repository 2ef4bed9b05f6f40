// The bridge's policy handler: one Postfix request → one API check → the Postfix answer.
//
//   API answered          its `action`, verbatim, except a second X-Greylist header for the same
//                         message (`instance`) becomes DUNNO, as serve's policy port does; only
//                         actions greygate produces get here (relayed-action.ts), any other is a
//                         failure below
//   API refused (4xx)     DUNNO and a warning: a request the API calls bad must never defer mail;
//                         401/403 is logged as an error pointing at the token
//   API failed            the --on-error answer (DUNNO, or the --defer-action text), a log line
//   (timeout, connection, saying which request and why, and a counter
//    5xx, bad answer,
//    forbidden action)

import type { CheckOutcome, FailureKind } from './api-client.ts';
import type { InstanceMemory } from '../policy/instance-memory.ts';
import { createBoundedErrorLog } from '../policy/bounded-error-log.ts';
import type { Logger } from '../policy/logger.ts';
import type { PolicyHandler } from '../policy/policy-server.ts';

export interface BridgeHandlerOptions {
  check: (body: string, signal?: AbortSignal) => Promise<CheckOutcome>;
  logger: Logger;
  instances: InstanceMemory;
  /** The answer when the API fails: `DUNNO` (fail open) or the configured defer action. */
  onErrorAction: string;
  /** For tests; failure log lines are rate-limited on this clock. */
  now?: () => number;
}

export interface BridgeHandlerStats {
  /** Answers the API gave, passed on (header de-duplication included). */
  answered: number;
  /** PREPENDs turned into DUNNO because the message already got its X-Greylist header. */
  headersDeduplicated: number;
  /** 4xx answers, each answered DUNNO. */
  refused: number;
  /** Failures by kind, each answered with the --on-error action. */
  failures: Record<FailureKind | 'internal', number>;
  /** Answers that were the --on-error action. */
  onErrorAnswers: number;
  /** Checks given up because the Postfix client disconnected first. */
  abandoned: number;
}

const DUNNO = 'DUNNO';
/** What the API accepts as a key; anything else would make it refuse the whole request. */
const ATTRIBUTE_NAME = /^[a-z][a-z0-9_]{0,63}$/;
/** A dead API must not turn every mail into a log line: at most this many per window… */
const FAILURE_LINES_PER_WINDOW = 20;
const FAILURE_WINDOW_MS = 10_000;

export function createBridgeHandler(opts: BridgeHandlerOptions): { handler: PolicyHandler; stats(): BridgeHandlerStats } {
  const { check, logger, instances, onErrorAction } = opts;
  const now = opts.now ?? Date.now;
  const stats: BridgeHandlerStats = {
    answered: 0,
    headersDeduplicated: 0,
    refused: 0,
    failures: { timeout: 0, connection: 0, 'server-error': 0, 'invalid-answer': 0, 'forbidden-action': 0, internal: 0 },
    onErrorAnswers: 0,
    abandoned: 0,
  };
  // Failures since the API last answered, so its recovery is logged once with a count.
  let failingSince = 0;
  const logFailure = createBoundedErrorLog(logger, {
    what: 'API failure(s)',
    linesPerWindow: FAILURE_LINES_PER_WINDOW,
    windowMs: FAILURE_WINDOW_MS,
    clock: now,
  });

  const handler: PolicyHandler = async (attrs, info) => {
    let outcome: CheckOutcome | { kind: 'failed'; failure: 'internal'; detail: string };
    try {
      outcome = await check(requestBody(attrs), info.signal);
    } catch (err) {
      // ApiClient returns failures as data; a throw here is a bug, and still must not block mail.
      outcome = { kind: 'failed', failure: 'internal', detail: err instanceof Error ? err.message : String(err) };
    }
    // The request's description is built only on the paths that log it, not for every answer.
    if (outcome.kind === 'abandoned') {
      // Not the API's fault, and the answer goes nowhere: no error line, no failure count.
      stats.abandoned += 1;
      const who = describeRequest(attrs);
      logger.debug?.(`Postfix client ${info.client} went away before the API answered: ${who.text}`, who.fields);
      return onErrorAction;
    }
    if (outcome.kind === 'failed') {
      stats.failures[outcome.failure] += 1;
      stats.onErrorAnswers += 1;
      failingSince += 1;
      const who = describeRequest(attrs);
      logFailure(`API check failed (${outcome.failure}: ${outcome.detail}), answering ${onErrorAction}: ${who.text}`, {
        failure: outcome.failure,
        detail: outcome.detail,
        answer: onErrorAction,
        ...who.fields,
      });
      return onErrorAction;
    }
    if (failingSince > 0) {
      logFailure.settle();
      logger.info(`API answering again after ${failingSince} failed check(s)`, { failedChecks: failingSince });
      failingSince = 0;
    }

    if (outcome.kind === 'refused') {
      stats.refused += 1;
      const who = describeRequest(attrs);
      const field = outcome.field === undefined ? '' : `, field ${outcome.field}`;
      const fields = { status: outcome.status, code: outcome.code, ...(outcome.field === undefined ? {} : { field: outcome.field }), answer: DUNNO, ...who.fields };
      if (outcome.status === 401 || outcome.status === 403) {
        logger.error(
          `API refused the token (HTTP ${outcome.status} ${outcome.code}), answering DUNNO: check --token-file (or GREYGATE_TOKEN) against the digests the API accepts (--token-sha256 / GREYGATE_TOKEN_SHA256); ${who.text}`,
          fields,
        );
      } else {
        logger.warn(`API refused the request (HTTP ${outcome.status} ${outcome.code}${field}: ${outcome.message}), answering DUNNO: ${who.text}`, fields);
      }
      return DUNNO;
    }

    stats.answered += 1;
    if (outcome.header && !instances.claimHeader(attrs.get('instance'))) {
      stats.headersDeduplicated += 1;
      return DUNNO;
    }
    return outcome.action;
  };

  return {
    handler,
    stats: () => ({ ...stats, failures: { ...stats.failures } }),
  };
}

/**
 * Every attribute Postfix sent, as JSON strings, except `request` (always smtpd_access_policy
 * here, and the API assumes it) and names the API would refuse: serve ignores a stray attribute,
 * so the bridge must not turn one into a refused request.
 */
export function requestBody(attrs: ReadonlyMap<string, string>): string {
  // Written as text rather than through an object and JSON.stringify: about twice as fast (an
  // object with ~20 keys made per request goes to V8's slow dictionary mode). Names need no
  // escaping, ATTRIBUTE_NAME admits only [a-z0-9_].
  let json = '';
  for (const [name, value] of attrs) {
    if (name === 'request' || !ATTRIBUTE_NAME.test(name)) continue;
    json += `${json === '' ? '{' : ','}"${name}":${JSON.stringify(value)}`;
  }
  return json === '' ? '{}' : `${json}}`;
}

function describeRequest(attrs: ReadonlyMap<string, string>): { text: string; fields: Record<string, string> } {
  const pick = (name: string): string => (attrs.get(name) ?? '').slice(0, 200);
  const fields: Record<string, string> = {
    client_name: pick('client_name'),
    client_address: pick('client_address'),
    sender: pick('sender'),
    recipient: pick('recipient'),
  };
  const queueId = pick('queue_id');
  if (queueId !== '') fields.queue_id = queueId;
  const text =
    `${queueId === '' ? '' : `queue_id=${queueId}, `}client=${fields.client_name}[${fields.client_address}], ` +
    `sender=<${fields.sender}>, recipient=<${fields.recipient}>`;
  return { text, fields };
}
