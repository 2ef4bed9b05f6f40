// The Lambda's configuration, read from its environment once per container (at the first
// invocation). The greylisting options go through the one schema of functions/config.ts, so
// GREYGATE_DELAY, GREYGATE_MAX_AGE, … mean on Lambda exactly what they mean for `greygate serve`.
// On top of it, what only the cloud shape needs, with the cloud's stricter defaults:
//
//   GREYGATE_TABLE          required: the DynamoDB table (created by the CDK stack)
//   GREYGATE_TOKEN_SHA256   required: accepted bearer-token digests, comma-separated (`greygate token`)
//   GREYGATE_PRIVACY        on unless set to false: keys are stored as HMAC-SHA-256 …
//   GREYGATE_PRIVACY_KEY    … under this hex key (at least 32 hex digits), required while privacy is on
//   GREYGATE_WHITELIST_CLIENTS / _RECIPIENTS   optional comma-separated file paths (e.g. in a layer)
//                           that replace the whitelists bundled into the function
//   GREYGATE_DYNAMODB_ENDPOINT or the SDK's AWS_ENDPOINT_URL_DYNAMODB: another DynamoDB API (tests)
//   GREYGATE_METRICS_NAMESPACE   CloudWatch namespace of the EMF metrics (default Greygate)
//   AWS_REGION              set by Lambda itself

import type { PolicyConfig } from '../core/policy-config.ts';
import { parseServeConfig, UsageError } from '../config/serve-config.ts';
import { DEFAULT_METRICS_NAMESPACE } from './emf-metrics.ts';
import type { SelectiveConfig } from '../selective/selective-check.ts';

/** The esbuild `define` name under which the bundle carries greygate's default whitelist texts. */
export const BUNDLED_WHITELISTS_DEFINE = 'GREYGATE_BUNDLED_WHITELISTS';

export interface LambdaConfig extends SelectiveConfig {
  policy: PolicyConfig;
  table: string;
  region: string;
  /** Null: the SDK's own resolution (AWS_ENDPOINT_URL_DYNAMODB, else the regional endpoint). */
  dynamodbEndpoint: string | null;
  tokenSha256: readonly string[];
  /** Hex HMAC key when privacy is on; null when GREYGATE_PRIVACY=false. */
  privacyKeyHex: string | null;
  /** Files that replace the bundled whitelists; null keeps the bundled ones. */
  whitelistFiles: { clients: readonly string[] | null; recipients: readonly string[] | null };
  /** CloudWatch namespace of the Embedded Metric Format lines. */
  metricsNamespace: string;
  quiet: boolean;
  verbose: boolean;
}

export class LambdaConfigError extends Error {
  readonly code = 'lambda-config';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LambdaConfigError';
  }
}

type Env = Readonly<Record<string, string | undefined>>;

function isSet(env: Env, name: string): boolean {
  const value = env[name];
  return value !== undefined && value.trim() !== '';
}

/** Parses the Lambda's environment; throws LambdaConfigError naming the variable to fix. */
export function parseLambdaConfig(env: Env): LambdaConfig {
  const table = env.GREYGATE_TABLE?.trim() ?? '';
  if (table === '') {
    throw new LambdaConfigError('GREYGATE_TABLE is not set: name the DynamoDB table that holds the greylist (the CDK stack sets it)');
  }
  if (isSet(env, 'GREYGATE_STORE') && env.GREYGATE_STORE?.trim() !== 'dynamodb') {
    throw new LambdaConfigError(`GREYGATE_STORE is "${env.GREYGATE_STORE}": the Lambda always uses DynamoDB; remove the variable`);
  }
  const region = (env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '').trim();
  if (region === '') {
    throw new LambdaConfigError('AWS_REGION is not set: Lambda sets it; outside Lambda set it to the region of the table');
  }

  // `%h` of the X-Greylist header: a Lambda host name says nothing, the function's name does.
  const schemaEnv: Env =
    !isSet(env, 'GREYGATE_HOSTNAME') && isSet(env, 'AWS_LAMBDA_FUNCTION_NAME')
      ? { ...env, GREYGATE_HOSTNAME: env.AWS_LAMBDA_FUNCTION_NAME }
      : env;
  let parsed: ReturnType<typeof parseServeConfig>;
  try {
    // No argv on Lambda: every option comes from its GREYGATE_* variable, and errors name it.
    parsed = parseServeConfig([], schemaEnv);
  } catch (err) {
    if (err instanceof UsageError) throw new LambdaConfigError(err.message, { cause: err });
    throw err;
  }
  const { config } = parsed;

  if (config.tokenSha256.length === 0) {
    throw new LambdaConfigError(
      'GREYGATE_TOKEN_SHA256 is not set: the Lambda API always requires a bearer token; create one with `greygate token` and set its sha256 (comma-separated for several)',
    );
  }

  // Privacy is opt-in for a single host (postgrey's default) but opt-out in the cloud, where the
  // table lives in someone else's data centre and backups outlive the function.
  const privacy = isSet(env, 'GREYGATE_PRIVACY') ? config.privacy : true;
  let privacyKeyHex: string | null = null;
  if (privacy) {
    const key = env.GREYGATE_PRIVACY_KEY?.trim() ?? '';
    if (key === '') {
      throw new LambdaConfigError(
        'GREYGATE_PRIVACY_KEY is not set: privacy is on by default on Lambda and needs a hex key (e.g. `openssl rand -hex 32`); set it, or set GREYGATE_PRIVACY=false to store clear addresses',
      );
    }
    if (!/^(?:[0-9a-fA-F]{2}){16,}$/.test(key)) {
      throw new LambdaConfigError('GREYGATE_PRIVACY_KEY is not valid: expected an even number of hex digits, at least 32 (e.g. `openssl rand -hex 32`)');
    }
    privacyKeyHex = key.toLowerCase();
  }

  return Object.freeze({
    policy: config.policy,
    table,
    region,
    dynamodbEndpoint: config.dynamodbEndpoint,
    tokenSha256: Object.freeze([...config.tokenSha256]),
    privacyKeyHex,
    whitelistFiles: Object.freeze({
      clients: isSet(env, 'GREYGATE_WHITELIST_CLIENTS') ? config.whitelistClients : null,
      recipients: isSet(env, 'GREYGATE_WHITELIST_RECIPIENTS') ? config.whitelistRecipients : null,
    }),
    metricsNamespace: env.GREYGATE_METRICS_NAMESPACE?.trim() || DEFAULT_METRICS_NAMESPACE,
    selective: config.selective,
    dnsLists: config.dnsLists,
    dnsTimeoutMs: config.dnsTimeoutMs,
    dnsServers: config.dnsServers,
    quiet: config.quiet,
    verbose: config.verbose,
  });
}
