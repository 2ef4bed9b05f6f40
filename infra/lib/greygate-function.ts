// The decision function: the Lambda bundle behind a Function URL, allowed exactly what it does.
//
// Sizing, and why:
//   timeout 5 s    Postfix waits up to its policy timeout (10 s in the recommended
//                  check_policy_service line, 100 s by default), but the bridge gives up after a
//                  few seconds and answers DUNNO (fail open). A decision is one DynamoDB round
//                  trip (single-digit ms); the DynamoDB client gives up on a call within about
//                  3 s, retry included (DYNAMODB_CLIENT_LIMITS in functions/store/dynamodb-table.ts),
//                  and a cold first request adds the bundle's import and the client set-up
//                  (hundreds of ms). 5 s leaves the app time to answer 503 after a failed call
//                  instead of being killed mid-request, and caps what a hung call can bill.
//   memory 1024 MB CPU share grows with memory (a full vCPU at 1769 MB). Warm decisions wait on
//                  the network, so more memory barely shortens them, but a cold start parses and
//                  compiles the minified bundle: at 128-256 MB (1/14 to 1/7 vCPU) that alone would
//                  take the best part of a second, at 1024 MB (~0.58 vCPU) a few hundred ms
//                  at most. The price of the headroom is small: at 10-20 ms per warm decision,
//                  1 GB costs $0.13-0.27 per million decisions, next to $0.20 of request fees and
//                  ~$0.89 of DynamoDB (docs/deploy.md works it out).
//   arm64          ~20% cheaper per GB-second than x86_64 for the same work; the bundle is pure
//                  JavaScript, nothing native to rebuild.

import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Function as LambdaFunction, FunctionUrlAuthType, Runtime, type FunctionUrl } from 'aws-cdk-lib/aws-lambda';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { GREYGATE_DYNAMODB_ACTIONS } from './dynamodb-actions.ts';
import { functionEnvironment } from './function-environment.ts';
import { LAMBDA_HANDLER, lambdaCode } from './lambda-asset.ts';
import type { GreygateSettings } from './stack-props.ts';

export const FUNCTION_MEMORY_MB = 1024;
export const FUNCTION_TIMEOUT_SECONDS = 5;

export interface GreygateFunctionProps {
  settings: GreygateSettings;
  table: ITable;
  /** GREYGATE_PRIVACY_KEY's value (a deploy-time dynamic reference), or null without privacy. */
  privacyKey: string | null;
}

export class GreygateFunction extends Construct {
  readonly fn: LambdaFunction;
  readonly url: FunctionUrl;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: GreygateFunctionProps) {
    super(scope, id);
    const { settings, table } = props;

    this.logGroup = new LogGroup(this, 'Logs', {
      retention: settings.logRetentionDays,
      // Logs outlive the stack (until their retention ends): they answer "why was this mail
      // delayed?" after a teardown too. Nothing names the group, so a redeploy never collides.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // An explicit role instead of the default one: the default attaches AWSLambdaBasicExecutionRole,
    // whose log permissions apply to every log group in the account (Resource "*").
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'greygate decision function: its own log group and its own table, nothing else',
    });
    this.logGroup.grantWrite(role);
    role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'GreylistTable',
        actions: [...GREYGATE_DYNAMODB_ACTIONS],
        // The table has no index, so its ARN alone covers every call.
        resources: [table.tableArn],
      }),
    );

    this.fn = new LambdaFunction(this, 'Function', {
      description: 'greygate: greylisting decisions for a mail fleet (POST /v1/check)',
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      handler: LAMBDA_HANDLER,
      code: lambdaCode(),
      memorySize: FUNCTION_MEMORY_MB,
      timeout: Duration.seconds(FUNCTION_TIMEOUT_SECONDS),
      role,
      logGroup: this.logGroup,
      environment: functionEnvironment(settings, {
        tableName: table.tableName,
        privacyKey: props.privacyKey,
        metricsNamespace: settings.metricsNamespace,
      }),
    });

    // AuthType NONE on purpose: the MTAs and bridges are not AWS principals and cannot sign
    // requests with SigV4. The app itself refuses every /v1 request without a bearer token whose
    // SHA-256 is in GREYGATE_TOKEN_SHA256 (constant-time compare, functions/http/bearer-auth.ts);
    // only /healthz answers without one, and it says nothing internal.
    this.url = this.fn.addFunctionUrl({ authType: FunctionUrlAuthType.NONE });
  }
}
