// The function's code asset: the Lambda bundle of build/bundle-options.ts, built by esbuild from
// node_modules in this process. No Docker, no network, no credentials.
//
// Why not NodejsFunction: its bundling props are a projection of esbuild's options (format,
// banner, minify, externals…) that would have to be translated from the shared settings and kept
// in sync by hand; `define`, `legalComments` and the forbidden-input check have no direct prop.
// Calling esbuild's API with the shared definition instead (build/build.ts's buildBundleSync, the
// one `npm run build` uses) makes the deployed index.mjs and chunks/ byte-identical to dist/lambda/.
//
// The asset hash is the hash of the bundle itself (AssetHashType.OUTPUT): a change anywhere in the
// import graph, in node_modules or in the settings changes the code CloudFormation deploys, and
// nothing else does.

import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { buildBundleSync } from '../../build/build.ts';
import { bundleDefinitions, type BundleDefinition } from '../../build/bundle-options.ts';
import { LAMBDA_ASSET_FILE } from './lambda-handler.ts';

export { LAMBDA_ASSET_FILE, LAMBDA_HANDLER } from './lambda-handler.ts';

export function lambdaBundleDefinition(): BundleDefinition {
  const definition = bundleDefinitions().find((d) => d.name === 'lambda');
  if (!definition) throw new Error('build/bundle-options.ts defines no lambda bundle');
  return definition;
}

// One esbuild run per process: every stack synthesized by a test file, or by the app, gets the
// same bytes. The build goes to a private temp directory, removed at exit, because build.ts
// writes the metafile next to the bundle's directory and the metafile has no business in the zip.
let built: string | undefined;

/** The directory holding the bundle (index.mjs and its chunks/), built on first use. */
export function lambdaBundleDir(): string {
  if (!built) {
    const dir = mkdtempSync(join(tmpdir(), 'greygate-lambda-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    built = dirname(buildBundleSync(lambdaBundleDefinition(), dir).outfile);
  }
  return built;
}

export function lambdaCode(): Code {
  const definition = lambdaBundleDefinition();
  return Code.fromAsset(resolve(definition.entry, '..'), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type; never pulled: local bundling below either succeeds or throws, so
      // CDK never falls back to Docker.
      image: DockerImage.fromRegistry('greygate-local-bundling-only'),
      local: {
        tryBundle(outputDir: string): boolean {
          cpSync(lambdaBundleDir(), outputDir, { recursive: true });
          return existsSync(join(outputDir, LAMBDA_ASSET_FILE));
        },
      },
    },
  });
}
