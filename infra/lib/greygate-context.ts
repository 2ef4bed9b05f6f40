// Reads the operator's choices from CDK context into typed settings, and refuses bad ones before
// anything is deployed. Values arrive as strings from the command line (`-c greygate:delay=300`)
// or as JSON values from cdk.json's "context" block; both are accepted.
//
// Two checks: the shape of each value here (a whole number, true/false, …), then the ranges and
// forms through the option table's own parsers, run over the environment the function will get
// with the context keys as labels, so every message names the key to fix.

import type { Node } from 'constructs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { selectiveOptions } from '../../functions/config/greylisting-options.ts';
import type { OptionRow } from '../../functions/config/option-row.ts';
import { contextLabelledSource, readOptions } from '../../functions/config/option-reader.ts';
import { OPTIONS, OPTION_ROWS } from '../../functions/config/option-table.ts';
import { parseRetryWindow } from '../../functions/config/parsers.ts';
import { UsageError } from '../../functions/config/usage-error.ts';
import { ADMIN_TOKEN_SHA256_KEYS, METRICS_NAMESPACE_KEYS, POLICY_SETTING_KEYS, PRIVACY_KEYS, settingsEnvironment, TOKEN_SHA256_KEYS } from './function-environment.ts';
import { DEFAULT_SETTINGS, type GreygatePolicySettings, type GreygateSettings } from './stack-props.ts';

export const CONTEXT_PREFIX = 'greygate:';
export const TOKEN_SHA256_CONTEXT_KEY = TOKEN_SHA256_KEYS.context;

function contextKey(row: OptionRow): string {
  if (row.cdk === undefined) throw new Error(`internal: --${row.name} has no CDK context key`);
  return row.cdk.key;
}

const OTHER_KEYS = {
  logRetentionDays: contextKey(OPTIONS['log-retention-days']),
  metricsNamespace: METRICS_NAMESPACE_KEYS.context,
  alarmEmail: contextKey(OPTIONS['alarm-email']),
} as const;

/** Every key the app reads: the option table's CDK column. */
export const CONTEXT_KEYS: readonly string[] = Object.freeze(OPTION_ROWS.flatMap((row) => (row.cdk ? [row.cdk.key] : [])));

export class GreygateContextError extends Error {
  readonly code = 'greygate-context';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GreygateContextError';
  }
}

const LOG_RETENTION_DAYS: readonly number[] = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0);

const HOW_TO_SET = (key: string): string => `(set it with -c ${key}=VALUE or in the "context" block of cdk.json)`;

function fail(key: string, message: string): never {
  throw new GreygateContextError(`${key}: ${message} ${HOW_TO_SET(key)}`);
}

function wholeNumber(key: string, value: unknown): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string' && /^\d+$/.test(value.trim())) return Number(value.trim());
  return fail(key, `expected a whole number, got ${JSON.stringify(value)}`);
}

function boolean(key: string, value: unknown): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
  return fail(key, `expected true or false, got ${JSON.stringify(value)}`);
}

function text(key: string, value: unknown): string {
  if (typeof value === 'string') return value;
  // cdk.json may hold `"greygate:greylistAction": 451`.
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return fail(key, `expected a string, got ${JSON.stringify(value)}`);
}

function retryWindowHours(key: string, value: unknown): number {
  const raw = typeof value === 'number' ? String(value) : text(key, value);
  return usage(() => parseRetryWindow(raw, key) / 3600);
}

function stringList(key: string, value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : fail(key, `expected comma-separated values, got ${JSON.stringify(value)}`);
  return items.map((item) => text(key, item).trim().toLowerCase()).filter((item) => item !== '');
}

/** Runs a check of the option table; its UsageError already names the context key. */
function usage<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    const key = CONTEXT_KEYS.find((k) => err.message.startsWith(`${k}:`) || err.message.startsWith(`${k} `));
    // "Has no effect" is fixed by removing the key, not by setting it.
    const advice = key !== undefined && !err.message.includes('has no effect') ? ` ${HOW_TO_SET(key)}` : '';
    throw new GreygateContextError(`${err.message}${advice}`, { cause: err });
  }
}

/** Checks settings with the option table's parsers, as the function will read them. */
export function checkSettings(settings: GreygateSettings): void {
  const env = settingsEnvironment(settings);
  const given = (value: string, label: string) => ({ values: [value], label });
  usage(() => {
    const reading = readOptions('cdk', contextLabelledSource(env), env);
    selectiveOptions(reading);
    // Used as given by the alarms, so checked as given: a blank or padded name would watch nothing.
    const namespace = OPTIONS['metrics-namespace'].read(given(settings.metricsNamespace, OTHER_KEYS.metricsNamespace), { runtime: 'cdk', env });
    if (namespace !== settings.metricsNamespace) {
      throw new UsageError(`${OTHER_KEYS.metricsNamespace}: "${settings.metricsNamespace}" has spaces around it; give the namespace alone`);
    }
    if (settings.alarmEmail !== undefined) OPTIONS['alarm-email'].read(given(settings.alarmEmail, OTHER_KEYS.alarmEmail), { runtime: 'cdk', env });
  });
  if (!LOG_RETENTION_DAYS.includes(settings.logRetentionDays)) {
    fail(OTHER_KEYS.logRetentionDays, `${settings.logRetentionDays} is not a CloudWatch retention; expected one of ${LOG_RETENTION_DAYS.join(', ')}`);
  }
}

/** Parses the `greygate:*` entries of a context object (other keys are ignored). */
export function parseGreygateContext(context: Readonly<Record<string, unknown>>): GreygateSettings {
  const entries = Object.entries(context).filter(([key, value]) => key.startsWith(CONTEXT_PREFIX) && value !== undefined);
  for (const [key] of entries) {
    if (!CONTEXT_KEYS.includes(key)) {
      const near = CONTEXT_KEYS.find((known) => known.toLowerCase() === key.toLowerCase());
      throw new GreygateContextError(`${key}: unknown context key${near ? `; did you mean ${near}?` : ''} Known keys: ${CONTEXT_KEYS.join(', ')}`);
    }
  }
  const get = (key: string): unknown => context[key];

  const policy: Record<string, number | boolean | string> = {};
  for (const { prop, context: key, kind } of POLICY_SETTING_KEYS) {
    const value = get(key);
    if (value === undefined) continue;
    switch (kind) {
      case 'int':
        policy[prop] = wholeNumber(key, value);
        break;
      case 'bool':
        policy[prop] = boolean(key, value);
        break;
      case 'retry-window':
        policy[prop] = retryWindowHours(key, value);
        break;
      default:
        policy[prop] = text(key, value);
    }
  }

  const tokens = get(TOKEN_SHA256_KEYS.context);
  const adminTokens = get(ADMIN_TOKEN_SHA256_KEYS.context);
  const privacy = get(PRIVACY_KEYS.context);
  const retention = get(OTHER_KEYS.logRetentionDays);
  const namespace = get(OTHER_KEYS.metricsNamespace);
  const email = get(OTHER_KEYS.alarmEmail);
  const settings: GreygateSettings = {
    // Each prop's type follows from its row's shape: a whole number, true/false, or text.
    policy: policy as GreygatePolicySettings,
    tokenSha256: tokens === undefined ? [] : stringList(TOKEN_SHA256_KEYS.context, tokens),
    ...(adminTokens === undefined ? {} : { adminTokenSha256: stringList(ADMIN_TOKEN_SHA256_KEYS.context, adminTokens) }),
    privacy: privacy === undefined ? DEFAULT_SETTINGS.privacy : boolean(PRIVACY_KEYS.context, privacy),
    logRetentionDays: retention === undefined ? DEFAULT_SETTINGS.logRetentionDays : wholeNumber(OTHER_KEYS.logRetentionDays, retention),
    metricsNamespace: namespace === undefined ? DEFAULT_SETTINGS.metricsNamespace : text(OTHER_KEYS.metricsNamespace, namespace),
    ...(email === undefined ? {} : { alarmEmail: text(OTHER_KEYS.alarmEmail, email).trim() }),
  };
  checkSettings(settings);
  return settings;
}

/** The stand-alone app's stack name: greygate:stackName, checked by its option-table row. */
export function readStackName(node: Node): string {
  const key = contextKey(OPTIONS['stack-name']);
  const value = node.tryGetContext(key) as unknown;
  const given = value === undefined ? undefined : { values: [text(key, value)], label: key };
  return usage(() => OPTIONS['stack-name'].read(given, { runtime: 'cdk', env: {} }));
}

/** The settings from a construct tree's context (the App's, for the CDK app). */
export function readGreygateContext(node: Node): GreygateSettings {
  return parseGreygateContext(node.getAllContext() as Record<string, unknown>);
}
