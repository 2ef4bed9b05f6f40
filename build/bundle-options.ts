// The esbuild settings of greygate's deployable bundles, in one place: `npm run build`
// (build/build.ts), the bundle test and the CDK stack all take them from here, so the function
// AWS runs is the file the tests exercised.
//
// The Lambda bundle, and why each setting:
//   format esm, .mjs     Node's ESM loader on nodejs22.x; top-level code runs once per container.
//   platform node, target node22   the Lambda runtime; nothing is lowered for older engines.
//   minify               smaller file = faster cold start (the code is read and parsed per container).
//   mainFields module first   the SDK's ES module builds tree-shake; its CJS builds do not.
//   AWS SDK bundled      not the runtime's copy: the version we test is the version we run, and a
//                        bundled, tree-shaken SDK loads faster than the runtime's full one.
//   credential providers external, except env and container/IMDS: the SDK's default chain loads
//                        each provider with a dynamic import() only when the earlier ones found
//                        nothing. On Lambda the first link (fromEnv: the AWS_ACCESS_KEY_ID/… the
//                        runtime sets from the execution role) always answers, so SSO, ini files,
//                        credential_process and web-identity files (and the STS/SSO clients they
//                        pull in, ~115 KB minified) are never reached there. Left out, the chain is
//                        unchanged; outside Lambda without env credentials it fails with "Cannot
//                        find package '@aws-sdk/credential-provider-ini'" instead of reading ~/.aws.
//   banner createRequire CJS dependencies bundled into ESM call `require('node:…')`; esbuild's
//                        shim throws "Dynamic require … is not supported" unless `require` exists.
//   define GREYGATE_BUNDLED_WHITELISTS   the texts of whitelists/clients and whitelists/recipients.
//                        A `with { type: 'text' }` import or the text loader would do the same in
//                        the bundle, but the module could then no longer be loaded unbundled (tsx,
//                        vitest), where lambda.ts reads the files instead.
//   sourcemap off        an inline map would double the file; an external one is only used with
//                        --enable-source-maps, which slows every stack trace and the cold start.
//                        Errors are logged with their name, code and message, which is enough
//                        to act on; the metafile (dist/*.meta.json) maps sizes back to sources.
//   splitting            modules only some configurations use (the Public Suffix List of organisation
//                        identity, the SDK's event streams) are chunks beside index.mjs, loaded on
//                        first use: a cold start reads and compiles what every decision needs.
//   legalComments none   a smaller file; the bundled packages' licences are in node_modules and
//                        the lock file. Use 'linked' if the bundle is ever handed to third parties.

import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';
import { BUNDLED_WHITELISTS_DEFINE } from '../functions/packaged-files.ts';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Gives CJS code bundled into an ES module a working `require` for Node built-ins. */
// Aliased so a bundled module's own `import { createRequire }` cannot collide with it.
export const CREATE_REQUIRE_BANNER =
  "import { createRequire as __greygateCreateRequire } from 'module'; const require = __greygateCreateRequire(import.meta.url);";

export interface BundleDefinition {
  name: 'lambda' | 'bridge' | 'cli' | 'cdk';
  /** Absolute path of the entry module. */
  entry: string;
  /** Output path relative to the output directory (dist/ for `npm run build`). */
  outfile: string;
  /** esbuild options without entryPoints and outfile. */
  options: BuildOptions;
  /** Inputs that must never end up in the bundle (checked against the metafile after each build). */
  forbiddenInputs: readonly RegExp[];
  /** Entry modules of worker threads the bundle starts, each written as its own file (see WorkerEntry). */
  workers?: readonly WorkerEntry[];
}

/**
 * A worker thread's entry module, built with the bundle into a file of its own beside the bundle's
 * entry file. The module that starts the worker finds that file beside its own code, so the build
 * checks that esbuild put that module's code in the same directory (the entry file, not a chunk).
 */
export interface WorkerEntry {
  /** Absolute path of the worker's entry module. */
  entry: string;
  /** Its output file's name without the extension, e.g. `sqlite-checkpoint-worker` (.mjs). */
  out: string;
  /** The module that starts the worker, relative to the repository (as in esbuild's metafile). */
  startedBy: string;
}

/** Reached by the SDK's default credential chain only after fromEnv found nothing; see the header. */
export const LAMBDA_UNUSED_CREDENTIAL_PROVIDERS: readonly string[] = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
];

/** The Lambda's esbuild options (without entryPoints/outfile); the CDK stack uses these. */
export function lambdaEsbuildOptions(root: string = REPO_ROOT): BuildOptions {
  const whitelists = {
    clients: readFileSync(join(root, 'whitelists/clients'), 'utf8'),
    recipients: readFileSync(join(root, 'whitelists/recipients'), 'utf8'),
  };
  return {
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'esm',
    minify: true,
    mainFields: ['module', 'main'],
    external: [...LAMBDA_UNUSED_CREDENTIAL_PROVIDERS],
    banner: { js: CREATE_REQUIRE_BANNER },
    define: { [BUNDLED_WHITELISTS_DEFINE]: JSON.stringify(whitelists) },
    splitting: true,
    sourcemap: false,
    legalComments: 'none',
    metafile: true,
    logLevel: 'warning',
  };
}

/** What the programs run on the mail hosts' own Node (20 or later) share: readable, unminified ESM. */
const HOST_SCRIPT_OPTIONS: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  minify: false,
  sourcemap: false,
  legalComments: 'none',
  metafile: true,
  logLevel: 'warning',
};

/**
 * The bridge runs next to Postfix on the MX hosts' own Node (20 or later); it uses Node built-ins
 * only, so the bundle is just its modules in one readable file.
 */
export function bridgeEsbuildOptions(): BuildOptions {
  return { ...HOST_SCRIPT_OPTIONS, banner: { js: '#!/usr/bin/env node' } };
}

/**
 * The `greygate` command (serve, bridge, create-table, token) as an entry file plus on-demand
 * chunks and the SQLite checkpoint worker's file (BundleDefinition.workers), so an installed
 * greygate starts without compiling TypeScript: about a third less memory than running the sources
 * through tsx. better-sqlite3 (a native module) and the AWS SDK stay in node_modules, where npm
 * installed them.
 */
export function cliEsbuildOptions(): BuildOptions {
  return {
    ...HOST_SCRIPT_OPTIONS,
    // Packages stay in node_modules, so no CommonJS code is bundled and no `require` shim is needed.
    packages: 'external',
    // The AWS SDK (~17 MiB resident) loads only for --store dynamodb and create-table.
    splitting: true,
  };
}

/**
 * The CDK construct as the package's `greygate/cdk` entry (docs/deploy.md): its modules in one
 * readable file, with aws-cdk-lib, constructs and greygate's own dependencies left to the app's
 * node_modules. The Lambda code asset is the one the package ships in dist/lambda/
 * (lambda-asset-packaged.ts), instead of a build at synth with esbuild and the sources, which an
 * installed package has neither of. The bundle is written by the asynchronous build only
 * (esbuild runs plugins there).
 */
export function cdkEsbuildOptions(root: string = REPO_ROOT): BuildOptions {
  const packagedAsset: Plugin = {
    name: 'greygate-packaged-lambda-asset',
    setup(build) {
      build.onResolve({ filter: /\/lambda-asset\.ts$/ }, () => ({ path: join(root, 'infra/lib/lambda-asset-packaged.ts') }));
    },
  };
  return { ...HOST_SCRIPT_OPTIONS, packages: 'external', plugins: [packagedAsset] };
}

/** Every bundle `npm run build` makes; the bridge's appears once bridge/main.ts exists. */
export function bundleDefinitions(root: string = REPO_ROOT): BundleDefinition[] {
  const definitions: BundleDefinition[] = [
    {
      name: 'lambda',
      entry: join(root, 'functions/runtime/lambda.ts'),
      outfile: 'lambda/index.mjs',
      options: lambdaEsbuildOptions(root),
      // The Lambda never opens SQLite: a native module in the bundle would fail to load on Lambda.
      forbiddenInputs: [/(^|\/)better-sqlite3\//, /(^|\/)functions\/store\/sqlite-[^/]*$/],
    },
  ];
  definitions.push({
    name: 'cli',
    entry: join(root, 'functions/runtime/cli.ts'),
    outfile: 'greygate.mjs',
    options: cliEsbuildOptions(),
    forbiddenInputs: [],
    // The SQLite store's WAL checkpoints run in this worker (functions/store/sqlite-checkpointer.ts).
    workers: [
      {
        entry: join(root, 'functions/store/sqlite-checkpoint-worker.ts'),
        out: 'sqlite-checkpoint-worker',
        startedBy: 'functions/store/sqlite-checkpointer.ts',
      },
    ],
  });
  definitions.push({
    name: 'cdk',
    entry: join(root, 'infra/lib/index.ts'),
    outfile: 'cdk/index.mjs',
    options: cdkEsbuildOptions(root),
    // Neither the synth-time build (esbuild, build/) nor any package's code.
    forbiddenInputs: [/(^|\/)build\//, /(^|\/)node_modules\//, /(^|\/)infra\/lib\/lambda-asset\.ts$/],
  });
  const bridgeEntry = join(root, 'bridge/main.ts');
  if (existsSync(bridgeEntry)) {
    definitions.push({
      name: 'bridge',
      entry: bridgeEntry,
      outfile: 'greygate-bridge.mjs',
      options: bridgeEsbuildOptions(),
      // The bridge is dependency-free at run time: nothing from node_modules may be bundled.
      forbiddenInputs: [/(^|\/)node_modules\//],
    });
  }
  return definitions;
}
