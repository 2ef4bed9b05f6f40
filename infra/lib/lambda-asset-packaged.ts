// The function's code asset in the installed package (`greygate/cdk`, docs/deploy.md): the Lambda
// bundle that `npm pack` built into dist/lambda/, beside this module's own bundle in dist/cdk/.
// A CDK app that installs greygate synthesizes without esbuild or greygate's sources; the package's
// build swaps this module in for lambda-asset.ts (build/bundle-options.ts, the cdk bundle), so both
// export the same names.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Code } from 'aws-cdk-lib/aws-lambda';

export { LAMBDA_HANDLER } from './lambda-handler.ts';

export function lambdaCode(): Code {
  const dir = fileURLToPath(new URL('../lambda/', import.meta.url));
  if (!existsSync(join(dir, 'index.mjs'))) {
    throw new Error(`${dir}index.mjs is missing: the greygate package is incomplete; reinstall it (npm install greygate)`);
  }
  // The directory holds the bundle alone, so the asset hash is the bundle's.
  return Code.fromAsset(dir);
}
