// A Lambda Function URL event as AWS delivers it (payload format version 2.0), for the Lambda
// tests, the bundle test and the bundle benchmark alike.

import type { LambdaEvent } from 'hono/aws-lambda';

export interface EventInput {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string | null;
  isBase64Encoded?: boolean;
}

/** 2026-01-01T00:00:00Z: the request time the events carry. */
const EVENT_TIME_MS = 1_767_225_600_000;

export function functionUrlEvent(input: EventInput = {}): LambdaEvent {
  const method = input.method ?? 'POST';
  const path = input.path ?? '/v1/check';
  const domain = 'abcdefghij.lambda-url.eu-west-1.on.aws';
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: path,
    rawQueryString: '',
    headers: {
      host: domain,
      'x-forwarded-proto': 'https',
      'x-forwarded-for': '198.51.100.10',
      'user-agent': 'greygate-bridge/0.1.0',
      ...input.headers,
    },
    requestContext: {
      accountId: 'anonymous',
      apiId: 'abcdefghij',
      authentication: null,
      authorizer: {} as never,
      domainName: domain,
      domainPrefix: 'abcdefghij',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '198.51.100.10', userAgent: 'greygate-bridge/0.1.0' },
      requestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
      routeKey: '$default',
      stage: '$default',
      time: '01/Jan/2026:00:00:00 +0000',
      timeEpoch: EVENT_TIME_MS,
    },
    body: input.body ?? null,
    isBase64Encoded: input.isBase64Encoded ?? false,
  };
}

