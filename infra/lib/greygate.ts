// greygate as one construct to add to any CDK stack: the greylist table, the privacy key, the
// decision function behind its Function URL, the alarms, the dashboard and the outputs. The
// stand-alone app (infra/bin/greygate.ts) is a stack holding one of these; a CDK user adds one,
// or several (one per mail fleet, say), to a stack of their own.
//
// Nothing is given a fixed physical name except the dashboard (CloudWatch requires one), which is
// derived from the stack's name and this construct's id, so instances never collide. Under the id
// `Default` the construct adds nothing to its children's logical IDs: the stand-alone stack keeps
// the IDs it had before the construct existed.

import { Annotations, Aws, CfnOutput, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { checkSettings, TOKEN_SHA256_CONTEXT_KEY } from './greygate-context.ts';
import { GreygateFunction } from './greygate-function.ts';
import { GreygateObservability } from './greygate-observability.ts';
import { GreygateTable } from './greygate-table.ts';
import { PrivacyKeySecret } from './privacy-key-secret.ts';
import type { GreygateSettings } from './stack-props.ts';

export interface GreygateProps {
  /** Every setting of the deployment; DEFAULT_SETTINGS and parseGreygateContext build them. */
  settings: GreygateSettings;
  /**
   * The CloudWatch dashboard's name (global to the account). Default: `<stack name>-<region>` for
   * the id `Default`, `<stack name>-<id>-<region>` otherwise.
   */
  dashboardName?: string;
}

/** CloudWatch dashboard names allow letters, digits, `-` and `_`. */
function dashboardPart(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, '-');
}

export class Greygate extends Construct {
  readonly table: GreygateTable;
  readonly function: GreygateFunction;
  readonly observability: GreygateObservability;
  readonly privacyKey: PrivacyKeySecret | null;

  constructor(scope: Construct, id: string, props: GreygateProps) {
    super(scope, id);
    const { settings } = props;
    // Settings built in code rather than from context get the same checks.
    checkSettings(settings);
    if (settings.tokenSha256.length === 0) {
      Annotations.of(this).addWarningV2(
        'greygate:no-token',
        `no ${TOKEN_SHA256_CONTEXT_KEY}: the function will answer every request 500 until it has one. Create a token with \`npm run greygate -- token\` and deploy with -c ${TOKEN_SHA256_CONTEXT_KEY}=<its sha256>`,
      );
    }

    const stackName = Stack.of(this).stackName;
    const dashboardName = props.dashboardName ?? (id === 'Default' ? `${stackName}-${Aws.REGION}` : `${stackName}-${dashboardPart(id)}-${Aws.REGION}`);

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
      dashboardName,
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
