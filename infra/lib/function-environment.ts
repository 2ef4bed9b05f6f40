// The function's GREYGATE_* environment, built from the typed settings. The runtime reads it with
// functions/config/lambda-config.ts; the stack checks it with the same option table at synth time
// (greygate-context.ts), so a value that synthesizes is a value the function accepts. Which setting
// fills which variable is the option table's CDK column.

import type { CdkKey } from '../../functions/config/option-row.ts';
import { OPTIONS, OPTION_ROWS } from '../../functions/config/option-table.ts';
import type { GreygatePolicySettings, GreygateSettings } from './stack-props.ts';

/** The settings that live at the top of GreygateSettings rather than under `policy`. */
const TOP_LEVEL_PROPS = ['tokenSha256', 'adminTokenSha256', 'privacy', 'logRetentionDays', 'metricsNamespace', 'alarmEmail'] as const satisfies readonly (keyof GreygateSettings)[];

/** Every policy setting, type-checked against the props, so the table's CDK column cannot name one that does not exist. */
const POLICY_PROPS = [
  'delaySeconds', 'maxAgeDays', 'retryWindowHours', 'autoWhitelistClients', 'greylistAction', 'greylistText',
  'xGreylistHeader', 'lookupByHost', 'ipv4Cidr', 'ipv6Cidr', 'hostname', 'selective', 's25rIpv6', 's25rWeight',
  'greylistScore', 'dnsbl', 'dnswl', 'dnsTimeoutMs', 'reportOnly', 'clientIdentity', 'signalWeight', 'preset', 'autoWhitelistOrgs',
  'statsRetentionDays', 'statsFlushSeconds',
] as const satisfies readonly (keyof GreygatePolicySettings)[];

function policyProp(prop: string): keyof GreygatePolicySettings {
  const found = POLICY_PROPS.find((p) => p === prop);
  if (found === undefined) throw new Error(`internal: the option table's CDK column names ${prop}, which GreygatePolicySettings lacks`);
  return found;
}

export interface PolicySettingKey {
  prop: keyof GreygatePolicySettings;
  context: string;
  env: string;
  kind: CdkKey['shape'];
}

/** Each policy setting: its prop, the context key an operator uses and the variable the runtime reads. */
export const POLICY_SETTING_KEYS: readonly PolicySettingKey[] = Object.freeze(
  OPTION_ROWS.flatMap((row) =>
    row.cdk !== undefined && row.env !== null && !(TOP_LEVEL_PROPS as readonly string[]).includes(row.cdk.prop)
      ? [{ prop: policyProp(row.cdk.prop), context: row.cdk.key, env: row.env, kind: row.cdk.shape }]
      : [],
  ),
);

function keysOf(row: { cdk?: CdkKey; env: string | null }): { context: string; env: string } {
  if (row.cdk === undefined || row.env === null) throw new Error('internal: the option table lost a CDK key');
  return { context: row.cdk.key, env: row.env };
}

function envOf(row: { env: string | null }): string {
  if (row.env === null) throw new Error('internal: the option table lost a variable');
  return row.env;
}

export const TOKEN_SHA256_KEYS = keysOf(OPTIONS['token-sha256']);
export const ADMIN_TOKEN_SHA256_KEYS = keysOf(OPTIONS['admin-token-sha256']);
export const PRIVACY_KEYS = keysOf(OPTIONS.privacy);
export const METRICS_NAMESPACE_KEYS = keysOf(OPTIONS['metrics-namespace']);

/** The GREYGATE_* variables that come from the settings alone (no CloudFormation values). */
export function settingsEnvironment(settings: Pick<GreygateSettings, 'policy' | 'tokenSha256' | 'privacy' | 'adminTokenSha256'>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of POLICY_SETTING_KEYS) {
    const value = settings.policy[key.prop];
    if (value === undefined) continue;
    env[key.env] = key.kind === 'retry-window' ? `${String(value)}h` : String(value);
  }
  if (settings.tokenSha256.length > 0) env[TOKEN_SHA256_KEYS.env] = settings.tokenSha256.join(',');
  const admin = settings.adminTokenSha256 ?? [];
  if (admin.length > 0) env[ADMIN_TOKEN_SHA256_KEYS.env] = admin.join(',');
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
    [envOf(OPTIONS.table)]: values.tableName,
    ...settingsEnvironment(settings),
    ...(values.privacyKey !== null ? { [envOf(OPTIONS['privacy-key'])]: values.privacyKey } : {}),
    [METRICS_NAMESPACE_KEYS.env]: values.metricsNamespace,
  };
}

/** For the test that every policy prop has a row: the props no row fills. */
export function policyPropsWithoutOption(): string[] {
  return POLICY_PROPS.filter((prop) => !POLICY_SETTING_KEYS.some((key) => key.prop === prop));
}
