// Postgrey's per-request log line (postgrey.md §5), kept byte for byte so existing log tooling
// (postgreyreport, grep recipes) keeps working, plus a structured form for JSON logs.

import { clientAwlKey } from './client-net.ts';
import type { Signal } from './signals.ts';
import { perlTruthy } from './text.ts';
import type { Decision, PolicyRequest, Reason } from './types.ts';

const POSTGREY_REASONS: Readonly<Record<Reason, string>> = {
  new: 'new',
  'early-retry': 'early-retry',
  'triplet-found': 'triplet found',
  'client-whitelist': 'client whitelist',
  'recipient-whitelist': 'recipient whitelist',
  'client-awl': 'client AWL',
  'org-awl': 'org AWL',
  // greygate's own, worded in Postgrey's style
  'not-suspicious': 'not suspicious',
  dnswl: 'dnswl',
  'allow-entry': 'allow entry',
};

/** The `reason=` text: `early-retry (12s missing)`, `triplet found`, `client AWL`… */
export function postgreyReason(decision: Decision): string {
  if (decision.reason === 'early-retry' && decision.retryAfterSeconds !== undefined) {
    return `early-retry (${decision.retryAfterSeconds}s missing)`;
  }
  return POSTGREY_REASONS[decision.reason];
}

const CLIENT_FIELDS = [
  ['client_name', 'clientName'],
  ['client_address', 'clientAddress'],
  ['sender', 'sender'],
  ['recipient', 'recipient'],
] as const;

function formatSignal(signal: Signal): string {
  switch (signal.name) {
    case 's25r':
      return signal.pattern === undefined ? `s25r:${signal.rule}` : `s25r:${signal.rule}:${signal.pattern}`;
    case 's25r-exception':
      return `s25r-exception:${signal.exception}`;
    case 'dnsbl':
    case 'dnswl':
      return `${signal.name}:${signal.zone}`;
    case 'dns-error':
      return `dns-error:${signal.zone}:${signal.error}`;
    case 'allow-entry':
      return `allow-entry:${signal.entry}`;
    default:
      return signal.name;
  }
}

/** `s25r:1|dnsbl:zen.example`, or `none` when selective greylisting saw nothing. */
export function formatSignals(signals: readonly Signal[]): string {
  return signals.length === 0 ? 'none' : signals.map(formatSignal).join('|');
}

/**
 * `[QUEUEID: ]action=greylist|pass, reason=…[, delay=N], client_name=…, client_address=…,
 * sender=…, recipient=…[, signals=…][, report_only=yes]`. Postgrey wrote a field only when Perl
 * saw it as true, so an empty value (the null sender) — and, faithfully, a value of `0` — is left
 * out. `signals=` comes only with selective greylisting on and `report_only=yes` only in that mode
 * (the verdict is then what would have been answered), both after Postgrey's fields.
 */
export function formatLogLine(request: PolicyRequest, decision: Decision): string {
  const parts = [`action=${decision.verdict}`, `reason=${postgreyReason(decision)}`];
  if (decision.delayedSeconds !== undefined) parts.push(`delay=${decision.delayedSeconds}`);
  for (const [name, key] of CLIENT_FIELDS) {
    const value = request[key];
    if (perlTruthy(value)) parts.push(`${name}=${value}`);
  }
  if (decision.signals !== undefined) parts.push(`signals=${formatSignals(decision.signals)}`);
  if (decision.reportOnly !== undefined) parts.push('report_only=yes');
  const line = parts.join(', ');
  return perlTruthy(request.queueId) ? `${request.queueId}: ${line}` : line;
}

export type LogFields = Record<string, string | number | readonly Signal[]>;

/**
 * The same facts for a JSON log: `reason` is greygate's code (`early-retry`), `postgrey_reason`
 * Postgrey's wording (`early-retry (12s missing)`), `action` the Postfix reply. Client fields are
 * always present, empty when Postfix sent them empty. `signals` as in the HTTP answer, when present.
 */
export function logFields(request: PolicyRequest, decision: Decision): LogFields {
  const fields: LogFields = {
    verdict: decision.verdict,
    reason: decision.reason,
    postgrey_reason: postgreyReason(decision),
    action: decision.action,
  };
  if (decision.retryAfterSeconds !== undefined) fields.retry_after_seconds = decision.retryAfterSeconds;
  if (decision.delayedSeconds !== undefined) fields.delay = decision.delayedSeconds;
  for (const [name, key] of CLIENT_FIELDS) fields[name] = request[key];
  if (request.queueId !== undefined && request.queueId !== '') fields.queue_id = request.queueId;
  if (request.instance !== undefined && request.instance !== '') fields.instance = request.instance;
  if (decision.signals !== undefined) fields.signals = decision.signals;
  if (decision.reportOnly !== undefined) fields.would_action = decision.reportOnly.action;
  return fields;
}

/** The line Postgrey logs when a client reaches the auto-whitelist threshold. */
export function formatWhitelistedLine(request: PolicyRequest): string {
  // Postgrey prints NetAddr::IP's addr(): IPv6 expanded and upper-case (2001:DB8:0:0:0:0:0:5).
  const ip = request.clientAddress.includes(':') ? clientAwlKey(request.clientAddress).toUpperCase() : request.clientAddress;
  return perlTruthy(request.clientName) ? `whitelisted: ${request.clientName}[${ip}]` : `whitelisted: ${ip}`;
}
