// Turns what the AWS SDK throws into the store port's errors, so nothing above the adapter sees an
// SDK type. The message says what an admin can do; the SDK error stays as `cause`.

import { StoreError, StoreMisconfiguredError, StoreUnavailableError } from './store-port.ts';

export interface DynamoDbErrorContext {
  tableName: string;
  /** For messages only; `the configured region` when unknown. */
  region: string;
  /** The IAM action of the call that failed, e.g. `dynamodb:UpdateItem`. */
  action: string;
}

const THROTTLING = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'LimitExceededException',
  'TooManyRequestsException',
]);

const SERVER_SIDE = new Set(['InternalServerError', 'InternalFailure', 'ServiceUnavailable', 'ServiceUnavailableException']);

// Errors from the socket, not from DynamoDB: the request may never have arrived.
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'UND_ERR_SOCKET',
]);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'AbortError', 'NetworkingError']);

const CREDENTIALS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'ExpiredTokenException',
  'IncompleteSignature',
  'MissingAuthenticationToken',
  'InvalidClientTokenId',
  'CredentialsProviderError',
]);

function field(error: unknown, key: string): unknown {
  return typeof error === 'object' && error !== null && key in error ? (error as Record<string, unknown>)[key] : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The SDK's error name (`ConditionalCheckFailedException`, ...), or the Node error code. */
export function dynamoDbErrorName(error: unknown): string {
  return text(field(error, 'name')) ?? text(field(error, 'code')) ?? 'Error';
}

export function isConditionalCheckFailed(error: unknown): boolean {
  return dynamoDbErrorName(error) === 'ConditionalCheckFailedException';
}

export function translateDynamoDbError(error: unknown, ctx: DynamoDbErrorContext): StoreError {
  if (error instanceof StoreError) return error;
  const options = { cause: error };
  const name = dynamoDbErrorName(error);
  const code = text(field(error, 'code')) ?? text(field(field(error, 'cause'), 'code'));
  const detail = text(field(error, 'message')) ?? name;
  const table = `the DynamoDB table "${ctx.tableName}" in ${ctx.region}`;
  const status = field(field(error, '$metadata'), 'httpStatusCode');

  if (name === 'ResourceNotFoundException') {
    return new StoreMisconfiguredError(
      `${table} does not exist (or is not ACTIVE yet). Create it with \`greygate create-table --table ${ctx.tableName}\` ` +
        '(add --dynamodb-endpoint for a local endpoint) or deploy the stack, and check the table name and region ' +
        `greygate is configured with. (${name}: ${detail})`,
      options,
    );
  }
  if (name === 'AccessDeniedException') {
    // The message names the action DynamoDB refused, e.g. "... not authorized to perform: dynamodb:UpdateItem on ...".
    const action = /perform: ([\w:*-]+)/.exec(detail)?.[1] ?? ctx.action;
    return new StoreMisconfiguredError(
      `not allowed to call ${action} on ${table}: grant ${action} on the table to the role or user greygate runs as. (${detail})`,
      options,
    );
  }
  if (CREDENTIALS.has(name)) {
    return new StoreMisconfiguredError(
      `the AWS credentials greygate found were missing or rejected when calling ${ctx.action} on ${table} (${name}: ${detail}). ` +
        'Check the role, profile or AWS_* variables greygate runs with.',
      options,
    );
  }
  if (THROTTLING.has(name)) {
    return new StoreUnavailableError(
      `DynamoDB throttled ${ctx.action} on ${table} (${name}); answers recover when the load drops. If it persists, ` +
        'check the table is on-demand and the account limits.',
      options,
    );
  }
  if (SERVER_SIDE.has(name) || (typeof status === 'number' && status >= 500)) {
    return new StoreUnavailableError(`DynamoDB failed ${ctx.action} on ${table} (${name}: ${detail}); retry later`, options);
  }
  if (NETWORK_NAMES.has(name) || (code !== undefined && NETWORK_CODES.has(code))) {
    return new StoreUnavailableError(
      `cannot reach DynamoDB for ${table} (${code ?? name}: ${detail}); check the network, the endpoint and the region`,
      options,
    );
  }
  return new StoreError(`DynamoDB refused ${ctx.action} on ${table} (${name}: ${detail})`, options);
}
