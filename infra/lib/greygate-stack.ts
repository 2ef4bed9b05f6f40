// greygate on AWS: one DynamoDB table, one function behind a Function URL, the privacy key, alarms
// and a dashboard. Environment-agnostic (no account or region in the code, no lookups), so it
// synthesizes offline and deploys to whichever account and region the CLI's credentials name.
//
//   MTA / greygate-bridge ─HTTPS─▶ Function URL ─▶ Lambda (Hono app) ─▶ DynamoDB table
//                                                     └─ EMF lines ─▶ CloudWatch metrics ─▶ alarms ─▶ SNS

import { Annotations, CfnOutput, Stack } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { checkSettings, TOKEN_SHA256_CONTEXT_KEY } from './greygate-context.ts';
import { GreygateFunction } from './greygate-function.ts';
import { GreygateObservability } from './greygate-observability.ts';
import { GreygateTable } from './greygate-table.ts';
import { PrivacyKeySecret } from './privacy-key-secret.ts';
import type { GreygateStackProps } from './stack-props.ts';

export class GreygateStack extends Stack {
  readonly table: GreygateTable;
  readonly function: GreygateFunction;
  readonly observability: GreygateObservability;
  readonly privacyKey: PrivacyKeySecret | null;

  constructor(scope: Construct, id: string, props: GreygateStackProps) {
    super(scope, id, props);
    const { settings } = props;
    // Settings built in code rather than from context get the same checks.
    checkSettings(settings);
    if (settings.tokenSha256.length === 0) {
      Annotations.of(this).addWarningV2(
        'greygate:no-token',
        `no ${TOKEN_SHA256_CONTEXT_KEY}: the function will answer every request 500 until it has one. Create a token with \`npm run greygate -- token\` and deploy with -c ${TOKEN_SHA256_CONTEXT_KEY}=<its sha256>`,
      );
    }

    this.table = new GreygateTable(this, 'Greylist');
    this.privacyKey = settings.privacy ? new PrivacyKeySecret(this, 'PrivacyKey') : null;
    this.function = new GreygateFunction(this, 'Decisions', {
      settings,
      table: this.table.table,
      privacyKey: this.privacyKey?.deployTimeValue() ?? null,
    });
    this.observability = new GreygateObservability(this, 'Observability', {
      fn: this.function.fn,
      table: this.table.table,
      metricsNamespace: settings.metricsNamespace,
      ...(settings.alarmEmail ? { alarmEmail: settings.alarmEmail } : {}),
    });

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the greygate API: bridges and MTAs POST to <ApiUrl>v1/check with their bearer token',
      value: this.function.url.url,
    });
    new CfnOutput(this, 'TableName', {
      description: 'The greylist table (retained when the stack is deleted)',
      value: this.table.table.tableName,
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      description: 'SNS topic every greygate alarm notifies; subscribe your pager to it',
      value: this.observability.topic.topicArn,
    });
    if (this.privacyKey) {
      new CfnOutput(this, 'PrivacyKeySecretArn', {
        description: 'The privacy HMAC key (retained with the table; back them up together)',
        value: this.privacyKey.secret.secretArn,
      });
    }
  }
}
