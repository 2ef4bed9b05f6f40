// The greylisting settings the core needs, already validated by the option table (functions/config/).
// Durations carry their unit in the name.

export interface PolicyConfig {
  delaySeconds: number;
  maxAgeDays: number;
  retryWindowSeconds: number;
  /** Action word used when greylisting, e.g. `DEFER_IF_PERMIT` or `451`. */
  greylistAction: string;
  /** Placeholders: `%s` seconds left, `%r` recipient domain. */
  greylistText: string;
  /** Placeholders: `%t` seconds delayed, `%v` version, `%h` hostname, `%d` date. */
  xGreylistHeader: string;
  /** Postgrey's `--lookup-by-host`: key on the full client IP instead of its subnet. */
  lookupByHost: boolean;
  ipv4Cidr: number;
  ipv6Cidr: number;
  /** Client auto-whitelist threshold; 0 disables auto-whitelisting. */
  autoWhitelistClients: number;
  /**
   * The client part of the triplet key: `net` the subnet (Postgrey), `org` the organisation of a
   * stable verified host name, else the subnet (client-identity.ts).
   */
  clientIdentity: 'net' | 'org';
  /**
   * Organisation auto-whitelist threshold: passes counted per organisation of a stable verified
   * host name (keys.ts's AwlTarget); 0 disables, and clients are then counted per address.
   */
  autoWhitelistOrgs: number;
  /** Value of `%h`. */
  hostname: string;
  /** Value of `%v` (greygate's version). */
  version: string;
  /** IANA time zone for `%d`; Postgrey uses the host's local time. */
  timeZone: string;
}

export const DEFAULT_POLICY_CONFIG: Readonly<PolicyConfig> = Object.freeze({
  delaySeconds: 300,
  maxAgeDays: 35,
  retryWindowSeconds: 2 * 86_400,
  greylistAction: 'DEFER_IF_PERMIT',
  greylistText: 'Greylisted, please retry in %s seconds',
  xGreylistHeader: 'X-Greylist: delayed %t seconds by greygate-%v at %h; %d',
  lookupByHost: false,
  ipv4Cidr: 24,
  ipv6Cidr: 64,
  autoWhitelistClients: 5,
  clientIdentity: 'net',
  autoWhitelistOrgs: 0,
  hostname: 'localhost',
  version: '0.1.0',
  timeZone: 'UTC',
});
