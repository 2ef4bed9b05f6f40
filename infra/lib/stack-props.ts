// What an operator can choose about a greygate deployment, as typed stack props. The CDK app fills
// them from context (`-c greygate:delay=300`, or the "context" block of cdk.json): see
// greygate-context.ts for the keys and how values are checked.
//
// Greylisting options left unset are not written to the function's environment, so the runtime's
// defaults apply; they are the defaults of `greygate serve` (functions/core/policy-config.ts).

import type { StackProps } from 'aws-cdk-lib';
import { DEFAULT_METRICS_NAMESPACE, OPTIONS } from '../../functions/config/option-table.ts';

export interface GreygatePolicySettings {
  /** GREYGATE_DELAY: seconds a new triplet is greylisted. */
  delaySeconds?: number;
  /** GREYGATE_MAX_AGE: days a triplet (and an auto-whitelisted client) is remembered after it last passed. */
  maxAgeDays?: number;
  /** GREYGATE_RETRY_WINDOW: hours a sender has to come back after the delay before it starts over. */
  retryWindowHours?: number;
  /** GREYGATE_AUTO_WHITELIST_CLIENTS: passes before a client is whitelisted; 0 disables. */
  autoWhitelistClients?: number;
  /** GREYGATE_PRESET: `recommended` fills the settings not given (functions/config/presets.ts). */
  preset?: 'none' | 'recommended';
  /** GREYGATE_CLIENT_IDENTITY: `net` (subnet, Postgrey) or `org` (organisation of a stable verified host name). */
  clientIdentity?: 'net' | 'org';
  /** GREYGATE_AUTO_WHITELIST_ORGS: passes before an organisation of stable-named hosts is whitelisted; 0 disables. */
  autoWhitelistOrgs?: number;
  /** GREYGATE_REPORT_ONLY: decide and store, log the would-be answer, answer DUNNO. */
  reportOnly?: boolean;
  /** GREYGATE_GREYLIST_ACTION: the action word, e.g. DEFER_IF_PERMIT or 451. */
  greylistAction?: string;
  /** GREYGATE_GREYLIST_TEXT: `%s` seconds left, `%r` recipient domain. */
  greylistText?: string;
  /** GREYGATE_X_GREYLIST_HEADER: `%t` seconds delayed, `%v` version, `%h` hostname, `%d` date. */
  xGreylistHeader?: string;
  /** GREYGATE_LOOKUP_BY_HOST: key on the full client IP instead of its subnet. */
  lookupByHost?: boolean;
  /** GREYGATE_IPV4CIDR: prefix length of the IPv4 subnet key. */
  ipv4Cidr?: number;
  /** GREYGATE_IPV6CIDR: prefix length of the IPv6 subnet key. */
  ipv6Cidr?: number;
  /** GREYGATE_HOSTNAME: `%h` of the X-Greylist header; the runtime defaults to the function's name. */
  hostname?: string;
  /** GREYGATE_SELECTIVE: `off` (every new triplet), `s25r` or `score`; see docs/selective-greylisting.md. */
  selective?: string;
  /** GREYGATE_S25R_IPV6: `apply` or `skip` the S25R name rules for IPv6 clients. */
  s25rIpv6?: string;
  /** GREYGATE_S25R_WEIGHT: what an S25R match adds to the score (score mode). */
  s25rWeight?: number;
  /** GREYGATE_GREYLIST_SCORE: the score at which greylisting starts (score mode). */
  greylistScore?: number;
  /** GREYGATE_SIGNAL_WEIGHT: `name=weight,…` what client signals (no verified name, suspicious HELO) add (score mode). */
  signalWeight?: string;
  /** GREYGATE_DNSBL: `zone[=weight],…` block lists consulted in score mode. */
  dnsbl?: string;
  /** GREYGATE_DNSWL: `zone[=weight],…` allow lists consulted in score mode. */
  dnswl?: string;
  /** GREYGATE_DNS_TIMEOUT_MS: the deadline for all DNS list lookups of one decision. */
  dnsTimeoutMs?: number;
  /** GREYGATE_STATS_RETENTION_DAYS: days the hourly statistics stay in the table; 0 counts none. */
  statsRetentionDays?: number;
  /** GREYGATE_STATS_FLUSH_SECONDS: seconds between two writes of a container's statistics. */
  statsFlushSeconds?: number;
}

export interface GreygateSettings {
  policy: GreygatePolicySettings;
  /**
   * SHA-256 hex digests of the accepted bearer tokens (`greygate token` prints one). Several allow
   * rotation. Empty synthesizes (so `npm run synth` needs no secret) but the function then
   * answers every request 500 until one is configured; the app warns.
   */
  tokenSha256: readonly string[];
  /** SHA-256 digests of the admin tokens (docs/admin.md); absent or empty: the admin routes answer 404. */
  adminTokenSha256?: readonly string[];
  /** Store HMAC-SHA-256 keys instead of clear addresses; the stack generates the key. */
  privacy: boolean;
  /** Days CloudWatch keeps the function's logs (one of CloudWatch's allowed values). */
  logRetentionDays: number;
  /** CloudWatch namespace of the function's EMF metrics; two stacks in one account/region need two. */
  metricsNamespace: string;
  /** Where alarm notifications go by e-mail (the subscription must be confirmed); none: topic only. */
  alarmEmail?: string;
}

export interface GreygateStackProps extends StackProps {
  settings: GreygateSettings;
}

export const DEFAULT_SETTINGS: Readonly<Omit<GreygateSettings, 'policy' | 'tokenSha256'>> = Object.freeze({
  privacy: true,
  logRetentionDays: OPTIONS['log-retention-days'].read(undefined, { runtime: 'cdk', env: {} }),
  metricsNamespace: DEFAULT_METRICS_NAMESPACE,
});
