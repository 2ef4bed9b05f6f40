// The DynamoDB actions the function's role may perform on its table: exactly the commands the
// adapter (functions/store/dynamodb-requests.ts builds them) sends. test/infra/greygate-stack.test.ts reads the
// adapter's source and fails when this list and the code drift apart, in either direction.
//
//   GetItem     consistent reads of a triplet or client record; /healthz's ping
//   UpdateItem  every conditional write (the speculative touch, decided writes)
//   DeleteItem  removing a record a decision's own touch created and did not need
//   Scan        purgeExpired/countRecords, diagnostics the Lambda never calls today (TTL purges
//               the table for free); granted because the adapter can send it
// No CreateTable/DescribeTable/UpdateTimeToLive: those are `greygate create-table`'s
// (dynamodb-table.ts), and the stack owns the table.

import { Operation } from 'aws-cdk-lib/aws-dynamodb';

export const GREYGATE_DYNAMODB_ACTIONS = Object.freeze([
  'dynamodb:GetItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
  'dynamodb:Scan',
] as const);

/** The data-plane operations among them, for the table's throttling metrics. */
export function dataPlaneOperations(actions: readonly string[] = GREYGATE_DYNAMODB_ACTIONS): Operation[] {
  const operations: readonly string[] = Object.values(Operation);
  return actions
    .map((action) => action.replace(/^dynamodb:/, ''))
    .filter((name): name is Operation => operations.includes(name));
}
