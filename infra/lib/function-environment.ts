// The function's GREYGATE_* environment, built from the typed settings. The runtime reads it with
// functions/runtime/lambda-config.ts (the same schema as `greygate serve`'s flags); the stack
// checks it with that same parser at synth time (greygate-context.ts), so a value that synthesizes
// is a value the function accepts.

import type { GreygatePolicySettings, GreygateSettings } from './stack-props.ts';

/** Each policy setting: its prop, the context key an operator uses and the variable the runtime reads. */
export const POLICY_SETTING_KEYS = [
  { prop: 'delaySeconds', context: 'greygate:delay', env: 'GREYGATE_DELAY', kind: 'int' },
  { prop: 'maxAgeDays', context: 'greygate:maxAge', env: 'GREYGATE_MAX_AGE', kind: 'int' },
  { prop: 'retryWindowHours', context: 'greygate:retryWindow', env: 'GREYGATE_RETRY_WINDOW', kind: 'retry-window' },
  { prop: 'autoWhitelistClients', context: 'greygate:autoWhitelistClients', env: 'GREYGATE_AUTO_WHITELIST_CLIENTS', kind: 'int' },
  { prop: 'greylistAction', context: 'greygate:greylistAction', env: 'GREYGATE_GREYLIST_ACTION', kind: 'text' },
  { prop: 'greylistText', context: 'greygate:greylistText', env: 'GREYGATE_GREYLIST_TEXT', kind: 'text' },
  { prop: 'xGreylistHeader', context: 'greygate:xGreylistHeader', env: 'GREYGATE_X_GREYLIST_HEADER', kind: 'text' },
  { prop: 'lookupByHost', context: 'greygate:lookupByHost', env: 'GREYGATE_LOOKUP_BY_HOST', kind: 'bool' },
  { prop: 'ipv4Cidr', context: 'greygate:ipv4cidr', env: 'GREYGATE_IPV4CIDR', kind: 'int' },
  { prop: 'ipv6Cidr', context: 'greygate:ipv6cidr', env: 'GREYGATE_IPV6CIDR', kind: 'int' },
  { prop: 'hostname', context: 'greygate:hostname', env: 'GREYGATE_HOSTNAME', kind: 'text' },
  { prop: 'selective', context: 'greygate:selective', env: 'GREYGATE_SELECTIVE', kind: 'text' },
  { prop: 's25rIpv6', context: 'greygate:s25rIpv6', env: 'GREYGATE_S25R_IPV6', kind: 'text' },
  { prop: 's25rWeight', context: 'greygate:s25rWeight', env: 'GREYGATE_S25R_WEIGHT', kind: 'int' },
  { prop: 'greylistScore', context: 'greygate:greylistScore', env: 'GREYGATE_GREYLIST_SCORE', kind: 'int' },
  { prop: 'dnsbl', context: 'greygate:dnsbl', env: 'GREYGATE_DNSBL', kind: 'text' },
  { prop: 'dnswl', context: 'greygate:dnswl', env: 'GREYGATE_DNSWL', kind: 'text' },
  { prop: 'dnsTimeoutMs', context: 'greygate:dnsTimeoutMs', env: 'GREYGATE_DNS_TIMEOUT_MS', kind: 'int' },
] as const satisfies readonly {
  prop: keyof GreygatePolicySettings;
  context: string;
  env: string;
  kind: 'int' | 'bool' | 'text' | 'retry-window';
}[];

export const TOKEN_SHA256_KEYS = { context: 'greygate:tokenSha256', env: 'GREYGATE_TOKEN_SHA256' } as const;
export const PRIVACY_KEYS = { context: 'greygate:privacy', env: 'GREYGATE_PRIVACY' } as const;

/** The GREYGATE_* variables that come from the settings alone (no CloudFormation values). */
export function settingsEnvironment(settings: Pick<GreygateSettings, 'policy' | 'tokenSha256' | 'privacy'>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of POLICY_SETTING_KEYS) {
    const value = settings.policy[key.prop];
    if (value === undefined) continue;
    env[key.env] = key.kind === 'retry-window' ? `${String(value)}h` : String(value);
  }
  if (settings.tokenSha256.length > 0) env[TOKEN_SHA256_KEYS.env] = settings.tokenSha256.join(',');
  // Written even though it is the cloud default, so the function's configuration says it.
  env[PRIVACY_KEYS.env] = settings.privacy ? 'true' : 'false';
  return env;
}

export interface DeploymentValues {
  /** The table's name (a CloudFormation reference at synth time). */
  tableName: string;
  /** The privacy key, or a dynamic reference that CloudFormation resolves to it; null without privacy. */
  privacyKey: string | null;
  /** Where the function writes its EMF metrics. */
  metricsNamespace: string;
}

export function functionEnvironment(settings: GreygateSettings, values: DeploymentValues): Record<string, string> {
  return {
    GREYGATE_TABLE: values.tableName,
    ...settingsEnvironment(settings),
    ...(values.privacyKey !== null ? { GREYGATE_PRIVACY_KEY: values.privacyKey } : {}),
    GREYGATE_METRICS_NAMESPACE: values.metricsNamespace,
  };
}
