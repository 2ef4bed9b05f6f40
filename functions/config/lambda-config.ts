// The Lambda's projection of the option table, read from its environment once per container. The
// greylisting options mean exactly what they mean for `greygate serve`; on top of them come what
// only the cloud shape needs, with the cloud's stricter defaults (docs/http-api.md lists them):
// a table and a token are required, and privacy is on unless GREYGATE_PRIVACY=false. A variable the
// Lambda does not take (GREYGATE_INET, …) is refused by name.

import { greylistingOptions, type GreylistingOptions } from './greylisting-options.ts';
import type { Env } from './option-row.ts';
import { environmentSource, readOptions } from './option-reader.ts';
import { UsageError } from './usage-error.ts';
import { statisticsOptions, type StatisticsSettings } from './statistics-options.ts';

export interface LambdaConfig extends GreylistingOptions {
  table: string;
  region: string;
  /** Null: the SDK's own resolution (AWS_ENDPOINT_URL_DYNAMODB, else the regional endpoint). */
  dynamodbEndpoint: string | null;
  tokenSha256: readonly string[];
  /** Admin token digests; empty = admin routes off (404). */
  adminTokenSha256: readonly string[];
  /** Hex HMAC key when privacy is on; null when GREYGATE_PRIVACY=false. */
  privacyKeyHex: string | null;
  /** Files that replace the bundled whitelists; null keeps the bundled ones. */
  whitelistFiles: { clients: readonly string[] | null; recipients: readonly string[] | null };
  /** CloudWatch namespace of the Embedded Metric Format lines. */
  metricsNamespace: string;
  quiet: boolean;
  verbose: boolean;
  /** Hourly statistics in the store (functions/stats/). */
  statistics: StatisticsSettings;
}

export class LambdaConfigError extends UsageError {
  override readonly code = 'lambda-config';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LambdaConfigError';
  }
}

/** Parses the Lambda's environment; throws LambdaConfigError naming the variable to fix. */
export function parseLambdaConfig(env: Env): LambdaConfig {
  try {
    return readLambdaConfig(env);
  } catch (err) {
    if (err instanceof UsageError && !(err instanceof LambdaConfigError)) throw new LambdaConfigError(err.message, { cause: err });
    throw err;
  }
}

function readLambdaConfig(env: Env): LambdaConfig {
  const reading = readOptions('lambda', environmentSource('lambda', env), env);
  const table = reading.get('table') ?? '';
  if (table === '') {
    throw new LambdaConfigError('GREYGATE_TABLE is not set: name the DynamoDB table that holds the greylist (the CDK stack sets it)');
  }
  const region = (env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? '').trim();
  if (region === '') {
    throw new LambdaConfigError('AWS_REGION is not set: Lambda sets it; outside Lambda set it to the region of the table');
  }
  const tokenSha256 = reading.get('token-sha256');
  if (tokenSha256.length === 0) {
    throw new LambdaConfigError(
      'GREYGATE_TOKEN_SHA256 is not set: the Lambda API always requires a bearer token; create one with `greygate token` and set its sha256 (comma-separated for several)',
    );
  }
  // Privacy is opt-in for a single host (postgrey's default) but opt-out in the cloud, where the
  // table lives in someone else's data centre and backups outlive the function.
  const privacy = reading.get('privacy');
  const privacyKeyHex = privacy ? reading.get('privacy-key') : null;
  if (privacy && privacyKeyHex === null) {
    throw new LambdaConfigError(
      'GREYGATE_PRIVACY_KEY is not set: privacy is on by default on Lambda and needs a hex key (e.g. `openssl rand -hex 32`); set it, or set GREYGATE_PRIVACY=false to store clear addresses',
    );
  }

  const greylisting = greylistingOptions(reading, env);
  return Object.freeze({
    ...greylisting,
    table,
    region,
    dynamodbEndpoint: reading.get('dynamodb-endpoint'),
    tokenSha256,
    adminTokenSha256: reading.get('admin-token-sha256'),
    privacyKeyHex,
    whitelistFiles: Object.freeze({ clients: reading.get('whitelist-clients'), recipients: reading.get('whitelist-recipients') }),
    metricsNamespace: reading.get('metrics-namespace'),
    quiet: reading.get('quiet'),
    verbose: reading.get('verbose'),
    statistics: statisticsOptions(reading),
  });
}
