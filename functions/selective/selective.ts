// Selective greylisting: greylist only the clients that look suspicious, and say why. Pure: the
// S25R result and the DNS-list answers come in, "skip greylisting" or "greylist as usual" and the
// signals that led there go out. The store is consulted only in the second case.
//
//   off    Postgrey's behaviour: everyone is greylisted (this function is not even called).
//   s25r   Rgrey: greylist exactly the S25R-suspicious clients; DNS lists are not used.
//   score  S25R, the client's own signals and DNS lists add up: score = s25r weight (if
//          suspicious) + Σ client signal weights + Σ DNSBL hit weights − Σ DNSWL hit weights;
//          greylisting starts at the threshold (--greylist-score).

import type { S25rIpv6Mode, S25rResult } from './s25r.ts';
import type { ClientSignalName, DnsListErrorCode, Signal } from '../core/signals.ts';

export type SelectiveMode = 'off' | 's25r' | 'score';
export type DnsListKind = 'dnsbl' | 'dnswl';
export type { ClientSignalName, DnsListErrorCode, Signal };

/** One configured DNS list: `--dnsbl zone[=weight]` or `--dnswl zone[=weight]`. */
export interface DnsListZone {
  kind: DnsListKind;
  /** Lower-case zone name without a trailing dot, e.g. `zen.spamhaus.org`. */
  zone: string;
  /** A whole number >= 0. */
  weight: number;
}

export interface DnsListResult extends DnsListZone {
  /** `error`: no usable answer; it counts as nothing, so it can never defer mail by itself. */
  listed: boolean | 'error';
  error?: DnsListErrorCode;
}

/** What the client says of itself (client-signals.ts raises them), weighed in score mode. */
export const CLIENT_SIGNAL_NAMES: readonly ClientSignalName[] = Object.freeze([
  'no-verified-name',
  'helo-ip-literal',
  'helo-localhost',
  'helo-bare-word',
  'helo-other-org',
]);

export type ClientSignalWeights = Readonly<Record<ClientSignalName, number>>;

/**
 * All 0 by default: score mode decides as before the signals existed, and the log and answer show
 * them so an admin can see what a weight would do before giving one. `--preset=recommended` gives
 * them weights. `no-verified-name` overlaps S25R's rule 0, which already counts an `unknown` name.
 */
export const DEFAULT_CLIENT_SIGNAL_WEIGHTS: ClientSignalWeights = Object.freeze({
  'no-verified-name': 0,
  'helo-ip-literal': 0,
  'helo-localhost': 0,
  'helo-bare-word': 0,
  'helo-other-org': 0,
});

/** What the signals add to the score. */
export function clientSignalScore(signals: readonly ClientSignalName[], weights: ClientSignalWeights): number {
  return signals.reduce((sum, signal) => sum + weights[signal], 0);
}

export interface SelectiveSettings {
  mode: SelectiveMode;
  /** Score mode: greylist when the score reaches this (a whole number >= 0). */
  greylistScore: number;
  /** Score mode: what an S25R match adds. */
  s25rWeight: number;
  s25rIpv6: S25rIpv6Mode;
  /** Score mode: what each client signal (no verified name, suspicious HELO) adds. */
  signalWeights: ClientSignalWeights;
}

export const DEFAULT_SELECTIVE_SETTINGS: Readonly<SelectiveSettings> = Object.freeze({
  mode: 'off',
  // With the S25R weight at 1 too, score mode without DNS lists behaves exactly like s25r mode.
  greylistScore: 1,
  s25rWeight: 1,
  // Applying the rules to IPv6 errs towards greylisting, i.e. towards Postgrey's behaviour.
  s25rIpv6: 'apply',
  signalWeights: DEFAULT_CLIENT_SIGNAL_WEIGHTS,
});

/** A DNSBL hit counts like an S25R match by default: either alone reaches the default threshold. */
export const DEFAULT_DNSBL_WEIGHT = 1;
/** Large enough to outweigh an S25R match plus several DNSBL hits: an allow-list hit skips greylisting. */
export const DEFAULT_DNSWL_WEIGHT = 10;

export type SelectiveOutcome =
  | { verdict: 'skip'; reason: 'not-suspicious' | 'dnswl'; signals: Signal[]; score?: number }
  | { verdict: 'greylist'; signals: Signal[]; score?: number };

export interface SelectiveInput {
  settings: Pick<SelectiveSettings, 'mode' | 'greylistScore' | 's25rWeight'> & Partial<Pick<SelectiveSettings, 'signalWeights'>>;
  s25r: S25rResult;
  /** Score mode: what the client says of itself (client-signals.ts); absent = none. */
  clientSignals?: readonly ClientSignalName[];
  /** Empty unless the mode is `score` and lists are configured. */
  dnsLists: readonly DnsListResult[];
}

function s25rSignals(s25r: S25rResult): Signal[] {
  if (s25r.rule === undefined) return [];
  if (s25r.exception !== undefined) return [{ name: 's25r-exception', rule: s25r.rule, exception: s25r.exception }];
  if (!s25r.suspicious) return [];
  return [{ name: 's25r', rule: s25r.rule, ...(s25r.pattern !== undefined ? { pattern: s25r.pattern } : {}) }];
}

function dnsSignal(result: DnsListResult): Signal | null {
  if (result.listed === 'error') return { name: 'dns-error', zone: result.zone, error: result.error ?? 'failed' };
  return result.listed ? { name: result.kind, zone: result.zone } : null;
}

/**
 * Decides whether greylisting applies. A `skip` carries `not-suspicious`, or `dnswl` when an
 * allow-list hit is what kept a client from being greylisted (without the DNSWL weights the score
 * would have reached the threshold).
 */
export function selectiveDecision(input: SelectiveInput): SelectiveOutcome {
  const { settings, s25r } = input;
  const signals = s25rSignals(s25r);
  if (settings.mode === 'off') return { verdict: 'greylist', signals: [] };
  if (settings.mode === 's25r') {
    return s25r.suspicious ? { verdict: 'greylist', signals } : { verdict: 'skip', reason: 'not-suspicious', signals };
  }

  const raised = input.clientSignals ?? [];
  for (const name of raised) signals.push({ name });
  let suspicion = (s25r.suspicious ? settings.s25rWeight : 0) + clientSignalScore(raised, settings.signalWeights ?? DEFAULT_CLIENT_SIGNAL_WEIGHTS);
  let trust = 0;
  for (const result of input.dnsLists) {
    const signal = dnsSignal(result);
    if (signal !== null) signals.push(signal);
    if (result.listed !== true) continue;
    if (result.kind === 'dnsbl') suspicion += result.weight;
    else trust += result.weight;
  }
  const score = suspicion - trust;
  if (score >= settings.greylistScore) return { verdict: 'greylist', signals, score };
  const reason = trust > 0 && suspicion >= settings.greylistScore ? 'dnswl' : 'not-suspicious';
  return { verdict: 'skip', reason, signals, score };
}
