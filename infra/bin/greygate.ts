// The CDK app: `npx cdk synth` / `npx cdk deploy` run it through tsx (see cdk.json).
//
//   npm run synth                                   offline: no credentials, no lookups, no Docker
//   npx cdk deploy -c greygate:tokenSha256=<hex>    deploys the stack "Greygate" (-c greygate:stackName=… for another)
//
// Every option is a `greygate:*` context value (infra/lib/greygate-context.ts lists them); a bad
// one stops here with a message that names the key, before anything reaches CloudFormation.

import { App } from 'aws-cdk-lib';
import { GreygateContextError, readGreygateContext, readStackName } from '../lib/greygate-context.ts';
import { GreygateStack } from '../lib/greygate-stack.ts';
import type { GreygateSettings } from '../lib/stack-props.ts';

const app = new App();

let settings: GreygateSettings;
let stackName: string;
try {
  settings = readGreygateContext(app.node);
  stackName = readStackName(app.node);
} catch (err) {
  if (!(err instanceof GreygateContextError)) throw err;
  // The operator's mistake, not a bug: the message alone, without a stack trace.
  console.error(`greygate: ${err.message}`);
  process.exit(1);
}

// The artifact id stays `Greygate` (cdk.out/Greygate.template.json); the deployed stack takes the name.
new GreygateStack(app, 'Greygate', {
  stackName,
  description: 'greygate: greylisting decision service for mail servers (Function URL + Lambda + DynamoDB)',
  settings,
});
