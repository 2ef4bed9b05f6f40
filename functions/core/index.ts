export type {
  ClientRecord,
  Decision,
  DecisionEvent,
  DecisionKeys,
  DecisionState,
  DecisionWrites,
  PolicyRequest,
  Reason,
  TripletRecord,
  Verdict,
} from './types.ts';
export { DEFAULT_POLICY_CONFIG } from './policy-config.ts';
export type { PolicyConfig } from './policy-config.ts';
export { CoreError } from './errors.ts';
export type { CoreErrorCode } from './errors.ts';
export { MAX_ATTRIBUTE_LENGTH, POLICY_REQUEST_ATTRIBUTES, REQUIRED_ATTRIBUTES, parsePolicyRequest } from './policy-request.ts';
export type { ParseErrorCode, ParseResult } from './policy-request.ts';
export { normalizeSender } from './sender.ts';
export { clientAwlKey, clientNetKey } from './client-net.ts';
export { decisionKeys, decisionPlan, tripletKey } from './keys.ts';
export type { AwlTarget, DecisionPlan } from './keys.ts';
export { ClientWhitelistMatcher, parseClientWhitelist } from './client-whitelist.ts';
export type { ClientWhitelistEntry, ParsedWhitelist } from './client-whitelist.ts';
export { RecipientWhitelistMatcher, parseRecipientWhitelist } from './recipient-whitelist.ts';
export type { RecipientWhitelistEntry } from './recipient-whitelist.ts';
export { EMPTY_WHITELISTS, buildWhitelists } from './whitelist.ts';
export type { WhitelistFile, Whitelists } from './whitelist.ts';
export { decide, whitelistDecision } from './decide.ts';
export type { DecideContext } from './decide.ts';
export { lifetimeFor, maxAgeSeconds, recordLifetimes } from './record-lifetime.ts';
export type { RecordLifetimes } from './record-lifetime.ts';
export { formatHeaderDate, isValidTimeZone } from './header-date.ts';
export { formatLogLine, formatSignals, formatWhitelistedLine, logFields, postgreyReason } from './log-line.ts';
export type { LogFields } from './log-line.ts';
export type { DnsListErrorCode, S25rRuleNumber, Signal } from './signals.ts';
