// A fixed delay in front of every DynamoDB request a client sends, as an SDK middleware: it stands
// in for the network between a Lambda and DynamoDB, so that a decision's latency shows how many
// sequential round trips it made (`npm run bench`).

import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const FIXED_DELAY_MIDDLEWARE = 'greygateFixedDelay';

/** Delays each HTTP attempt (retries included) by `delayMs` before it is sent. */
export function addFixedDelay(client: DynamoDBClient, delayMs: number): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return next(args);
    },
    { step: 'finalizeRequest', name: FIXED_DELAY_MIDDLEWARE },
  );
}
