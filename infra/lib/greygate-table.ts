// The greylist table, as DESIGN.md's single-table model and `greygate create-table` define it:
// partition key `pk` (String, prefixed per record kind), TTL on `expires_at` (epoch seconds). The
// names come from the adapter's own module, so the stack cannot create a table the code misreads.
//
// - On-demand: mail arrives in bursts and idles at night; no capacity to plan or to be throttled by.
// - TTL: DynamoDB deletes expired records for free (no write units), within days; the adapter
//   already treats a record past `expires_at` as absent, so the lag changes nothing.
// - Point-in-time recovery and deletion protection: the table is the fleet's whole memory of who
//   retried; losing it greylists every sender once more, so it is guarded and retained when the
//   stack is deleted (docs/deploy.md says how to delete it on purpose).
// - No table name: CloudFormation picks a unique one, so a retained table never blocks a redeploy.

import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { TABLE_PARTITION_KEY, TABLE_TTL_ATTRIBUTE } from '../../functions/store/dynamodb-table.ts';

export class GreygateTable extends Construct {
  readonly table: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new Table(this, 'Table', {
      partitionKey: { name: TABLE_PARTITION_KEY, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: TABLE_TTL_ATTRIBUTE,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      // An AWS-owned key: encrypted at rest with no KMS key to pay for or to grant the function.
      encryption: TableEncryption.DEFAULT,
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
