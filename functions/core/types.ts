// The vocabulary shared by the core, the stores and the listeners. Pure types: no I/O here.

import type { Signal } from './signals.ts';

/** A policy request after parsing: the Postfix attributes greygate reads, bounded and typed. */
export interface PolicyRequest {
  /** Client IP as Postfix sent it (already validated as IPv4 or IPv6). */
  clientAddress: string;
  /** Postfix's verified client name; `unknown` when reverse DNS is missing or unconfirmed. */
  clientName: string;
  /** Envelope sender; empty string is the null sender. */
  sender: string;
  recipient: string;
  instance?: string;
  queueId?: string;
  protocolState?: string;
  heloName?: string;
  reverseClientName?: string;
  /** Postgrey adds the `4.2.0 ` DSN prefix when this attribute is present at all, even empty. */
  etrnDomainPresent: boolean;
  /** Postgrey's undocumented test hook: replaces "now" in the decision (epoch seconds). */
  policyTestTime?: number;
}

/** Why a decision was taken. More reasons come with new features. */
export type Reason =
  | 'new'
  | 'early-retry'
  | 'triplet-found'
  | 'client-whitelist'
  | 'recipient-whitelist'
  | 'client-awl'
  /** The client's organisation earned the auto-whitelist (`--auto-whitelist-orgs`). */
  | 'org-awl'
  /** Selective greylisting: the client looks like a real mail server, so it is not greylisted. */
  | 'not-suspicious'
  /** Selective greylisting (score mode): a DNS allow-list hit kept the client from being greylisted. */
  | 'dnswl'
  /** A run-time allow entry (`greygate allow add`, core/allow-entry.ts); named in `signals`. */
  | 'allow-entry';

export type Verdict = 'greylist' | 'pass';

/** A triplet's stored state. Times are epoch seconds. */
export interface TripletRecord {
  firstSeen: number;
  lastSeen: number;
  /** When the record stops counting: max-age after lastSeen once passed, retry-window otherwise. */
  expiresAt: number;
}

/** A client's auto-whitelist state, keyed by the exact client IP. */
export interface ClientRecord {
  count: number;
  lastSeen: number;
  expiresAt: number;
}

/** The keys one decision reads and writes. `client` is null when auto-whitelisting is off. */
export interface DecisionKeys {
  triplet: string;
  client: string | null;
}

/** What the store holds for a decision's keys; expired records are already absent (null). */
export interface DecisionState {
  triplet: TripletRecord | null;
  client: ClientRecord | null;
}

/** The state change a decision asks for, as full new values. Absent = leave untouched. */
export interface DecisionWrites {
  triplet?: TripletRecord;
  client?: ClientRecord;
}

/** Something worth a log line that is not the per-request line itself. */
export type DecisionEvent =
  | { kind: 'client-whitelisted'; count: number }
  | { kind: 'org-whitelisted'; count: number; org: string }
  | { kind: 'corrected-future-first-seen' };

export interface Decision {
  verdict: Verdict;
  reason: Reason;
  /** Exactly what follows `action=` in a Postfix reply. */
  action: string;
  /** The X-Greylist header line (without `PREPEND `) when this is the triplet's first pass. */
  header?: string;
  /** Seconds until a retry would pass (greylisted answers only). */
  retryAfterSeconds?: number;
  /** Seconds the triplet was delayed (first pass only), Postgrey's `delay=` log field. */
  delayedSeconds?: number;
  writes: DecisionWrites;
  events: DecisionEvent[];
  /**
   * What selective greylisting saw (S25R rule, DNS list hits). Present, possibly empty, exactly
   * when selective greylisting is on and the client was not whitelisted; absent otherwise.
   */
  signals?: Signal[];
  /**
   * Report-only mode (`--report-only`): what greygate would have answered. `action` is then
   * `DUNNO` and there is no header; everything else (verdict, reason, writes) is the real decision.
   */
  reportOnly?: { action: string };
}
