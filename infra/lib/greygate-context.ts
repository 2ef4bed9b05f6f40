// Reads the operator's choices from CDK context into typed settings, and refuses bad ones before
// anything is deployed. Values arrive as strings from the command line (`-c greygate:delay=300`)
// or as JSON values from cdk.json's "context" block; both are accepted.
//
// Two checks: the shape of each value here (a whole number, true/false, …), then the ranges and
// forms through the runtime's own parser (functions/config.ts) run over the environment the
// function will get. Errors name the context key to fix, never the variable behind it.

import type { Node } from 'constructs';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { parseRetryWindow, parseServeConfig, UsageError } from '../../functions/config/serve-config.ts';
import { POLICY_SETTING_KEYS, PRIVACY_KEYS, settingsEnvironment, TOKEN_SHA256_KEYS } from './function-environment.ts';
import { DEFAULT_SETTINGS, type GreygatePolicySettings, type GreygateSettings } from './stack-props.ts';

export const CONTEXT_PREFIX = 'greygate:';
export const TOKEN_SHA256_CONTEXT_KEY = TOKEN_SHA256_KEYS.context;

const OTHER_KEYS = {
  logRetentionDays: 'greygate:logRetentionDays',
  metricsNamespace: 'greygate:metricsNamespace',
  alarmEmail: 'greygate:alarmEmail',
} as const;

export const CONTEXT_KEYS: readonly string[] = Object.freeze([
  ...POLICY_SETTING_KEYS.map((k) => k.context),
  TOKEN_SHA256_KEYS.context,
  PRIVACY_KEYS.context,
  ...Object.values(OTHER_KEYS),
]);

export class GreygateContextError extends Error {
  readonly code = 'greygate-context';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'GreygateContextError';
  }
}

const LOG_RETENTION_DAYS: readonly number[] = Object.values(RetentionDays).filter((v): v is number => typeof v === 'number' && v > 0);

function fail(key: string, message: string): never {
  throw new GreygateContextError(`${key}: ${message} (set it with -c ${key}=VALUE or in the "context" block of cdk.json)`);
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
  try {
    return parseRetryWindow(raw, key) / 3600;
  } catch (err) {
    throw new GreygateContextError(`${(err as Error).message} (set it with -c ${key}=VALUE)`, { cause: err });
  }
}

function stringList(key: string, value: unknown): string[] {
  const items = Array.isArray(value) ? value : typeof value === 'string' ? value.split(',') : fail(key, `expected comma-separated values, got ${JSON.stringify(value)}`);
  return items.map((item) => text(key, item).trim().toLowerCase()).filter((item) => item !== '');
}

/** Checks settings with the runtime's parser; its messages name GREYGATE_* variables, ours the context keys. */
export function checkSettings(settings: GreygateSettings): void {
  const env = settingsEnvironment(settings);
  try {
    parseServeConfig([], env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    let message = err.message;
    for (const { env: variable, context } of [...POLICY_SETTING_KEYS, TOKEN_SHA256_KEYS, PRIVACY_KEYS]) {
      message = message.split(variable).join(context);
    }
    throw new GreygateContextError(message, { cause: err });
  }
  if (!LOG_RETENTION_DAYS.includes(settings.logRetentionDays)) {
    fail(OTHER_KEYS.logRetentionDays, `${settings.logRetentionDays} is not a CloudWatch retention; expected one of ${LOG_RETENTION_DAYS.join(', ')}`);
  }
  // CloudWatch's namespace rules; the AWS/ prefix is reserved for AWS services.
  if (!/^[A-Za-z0-9.\-_/#:]{1,255}$/.test(settings.metricsNamespace) || /^AWS\//i.test(settings.metricsNamespace)) {
    fail(OTHER_KEYS.metricsNamespace, `"${settings.metricsNamespace}" is not a CloudWatch namespace; expected letters, digits and . - _ / # : (not starting with AWS/), e.g. Greygate/prod`);
  }
  if (settings.alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(settings.alarmEmail)) {
    fail(OTHER_KEYS.alarmEmail, `"${settings.alarmEmail}" is not an e-mail address`);
  }
}

/** Parses the `greygate:*` entries of a context object (other keys are ignored). */
export function parseGreygateContext(context: Readonly<Record<string, unknown>>): GreygateSettings {
  const entries = Object.entries(context).filter(([key, value]) => key.startsWith(CONTEXT_PREFIX) && value !== undefined);
  for (const [key] of entries) {
    if (!CONTEXT_KEYS.includes(key)) {
      const near = CONTEXT_KEYS.find((known) => known.toLowerCase() === key.toLowerCase());
      throw new GreygateContextError(
        `${key}: unknown context key${near ? `; did you mean ${near}?` : ''} Known keys: ${CONTEXT_KEYS.join(', ')}`,
      );
    }
  }
  const get = (key: string): unknown => context[key];

  const policy: GreygatePolicySettings = {};
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
      case 'text':
        policy[prop] = text(key, value);
        break;
      case 'retry-window':
        policy[prop] = retryWindowHours(key, value);
        break;
    }
  }

  const tokens = get(TOKEN_SHA256_KEYS.context);
  const privacy = get(PRIVACY_KEYS.context);
  const retention = get(OTHER_KEYS.logRetentionDays);
  const namespace = get(OTHER_KEYS.metricsNamespace);
  const email = get(OTHER_KEYS.alarmEmail);
  const settings: GreygateSettings = {
    policy,
    tokenSha256: tokens === undefined ? [] : stringList(TOKEN_SHA256_KEYS.context, tokens),
    privacy: privacy === undefined ? DEFAULT_SETTINGS.privacy : boolean(PRIVACY_KEYS.context, privacy),
    logRetentionDays: retention === undefined ? DEFAULT_SETTINGS.logRetentionDays : wholeNumber(OTHER_KEYS.logRetentionDays, retention),
    metricsNamespace: namespace === undefined ? DEFAULT_SETTINGS.metricsNamespace : text(OTHER_KEYS.metricsNamespace, namespace),
    ...(email === undefined ? {} : { alarmEmail: text(OTHER_KEYS.alarmEmail, email).trim() }),
  };
  checkSettings(settings);
  return settings;
}

/** The settings from a construct tree's context (the App's, for the CDK app). */
export function readGreygateContext(node: Node): GreygateSettings {
  return parseGreygateContext(node.getAllContext() as Record<string, unknown>);
}
