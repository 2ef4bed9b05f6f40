// The stand-alone greygate stack: one `Greygate` construct (infra/lib/greygate.ts), environment-
// agnostic (no account or region in the code, no lookups), so it synthesizes offline and deploys
// to whichever account and region the CLI's credentials name.
//
//   MTA / greygate-bridge ─HTTPS─▶ Function URL ─▶ Lambda (Hono app) ─▶ DynamoDB table
//                                                     └─ EMF lines ─▶ CloudWatch metrics ─▶ alarms ─▶ SNS

import { Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { Greygate } from './greygate.ts';
import type { GreygateFunction } from './greygate-function.ts';
import type { GreygateObservability } from './greygate-observability.ts';
import type { GreygateTable } from './greygate-table.ts';
import type { PrivacyKeySecret } from './privacy-key-secret.ts';
import type { GreygateStackProps } from './stack-props.ts';

export class GreygateStack extends Stack {
  readonly greygate: Greygate;
  readonly table: GreygateTable;
  readonly function: GreygateFunction;
  readonly observability: GreygateObservability;
  readonly privacyKey: PrivacyKeySecret | null;

  constructor(scope: Construct, id: string, props: GreygateStackProps) {
    super(scope, id, props);
    // The id `Default` keeps the logical IDs the stack had before the construct existed.
    this.greygate = new Greygate(this, 'Default', { settings: props.settings });
    ({ table: this.table, function: this.function, observability: this.observability, privacyKey: this.privacyKey } = this.greygate);
  }
}
