// `npm run build`: every bundle of bundle-options.ts into dist/ (dist/lambda/index.mjs,
// dist/greygate.mjs with its worker file dist/sqlite-checkpoint-worker.mjs, and
// dist/greygate-bridge.mjs once the bridge has an entry), each with its metafile in dist/
// (`dist/<name>.meta.json`, readable by https://esbuild.github.io/analyze/). Prints each size and
// the largest packages in it; fails when a forbidden input (better-sqlite3 in the Lambda) slipped in,
// or when the code that starts a worker did not land beside the worker's file.
//
// It also writes the declarations of `greygate/cdk` (dist/cdk/index.d.ts and dist/cdk/types/), so a
// TypeScript CDK app type-checks the construct's props.
//
// Importing this module builds nothing; the CDK stack and the tests call buildBundle().

import { execFileSync } from 'node:child_process';
import { rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build, buildSync, type BuildOptions, type Metafile } from 'esbuild';
import { bundleDefinitions, REPO_ROOT, type BundleDefinition } from './bundle-options.ts';

export interface BuiltBundle {
  name: BundleDefinition['name'];
  /** Absolute path of the written bundle. */
  outfile: string;
  /** Absolute paths of its worker files (BundleDefinition.workers), beside `outfile`. */
  workerFiles: string[];
  bytes: number;
  metafile: Metafile;
}

export class BundleCheckError extends Error {
  readonly code = 'bundle-forbidden-input';
  constructor(message: string) {
    super(message);
    this.name = 'BundleCheckError';
  }
}

function checkInputs(definition: BundleDefinition, metafile: Metafile): void {
  const bad = Object.keys(metafile.inputs).filter((input) => definition.forbiddenInputs.some((re) => re.test(input)));
  if (bad.length > 0) {
    throw new BundleCheckError(
      `the ${definition.name} bundle must not contain ${bad.slice(0, 5).join(', ')}; an import chain from ${relative(REPO_ROOT, definition.entry)} reaches it (see the metafile)`,
    );
  }
}

/** Each worker's file must sit beside the code that starts it, which finds it there. */
function checkWorkers(definition: BundleDefinition, metafile: Metafile): void {
  const outputs = Object.entries(metafile.outputs);
  for (const worker of definition.workers ?? []) {
    const entry = relative(REPO_ROOT, worker.entry);
    const workerOutput = outputs.find(([, output]) => output.entryPoint === entry)?.[0];
    const starters = outputs.filter(([, output]) => worker.startedBy in output.inputs).map(([path]) => path);
    if (workerOutput === undefined || starters.length === 0) {
      throw new BundleCheckError(`the ${definition.name} bundle lacks ${entry} or ${worker.startedBy}, which starts it`);
    }
    const misplaced = starters.filter((path) => dirname(path) !== dirname(workerOutput));
    if (misplaced.length > 0) {
      throw new BundleCheckError(
        `${worker.startedBy} landed in ${misplaced.join(', ')}, not beside ${workerOutput}, the worker it starts: ` +
          'esbuild moved it into a chunk, so it would not find the worker file at run time',
      );
    }
  }
}

function finish(definition: BundleDefinition, outDir: string, outfile: string, metafile: Metafile | undefined): BuiltBundle {
  if (!metafile) throw new Error(`esbuild returned no metafile for ${definition.name}`);
  checkInputs(definition, metafile);
  checkWorkers(definition, metafile);
  // Beside the bundle's directory, not in it: dist/lambda/ is the function's code asset as is.
  writeFileSync(join(outDir, `${definition.name}.meta.json`), JSON.stringify(metafile));
  const workerFiles = (definition.workers ?? []).map((worker) => join(dirname(outfile), `${worker.out}.mjs`));
  return { name: definition.name, outfile, workerFiles, bytes: statSync(outfile).size, metafile };
}

/**
 * esbuild options for one definition written to `outDir`. A bundle with code splitting (the CLI:
 * modules only some commands need, such as the AWS SDK, load on demand) is written as its entry
 * file plus a `chunks/` folder beside it, and its workers' files beside the entry file; the others
 * as one file.
 */
function outputOptions(definition: BundleDefinition, outDir: string): { options: BuildOptions; outfile: string } {
  const outfile = resolve(outDir, definition.outfile);
  const workers = definition.workers ?? [];
  if (!definition.options.splitting) {
    if (workers.length > 0) throw new Error(`the ${definition.name} bundle has workers, which need code splitting`);
    return { options: { ...definition.options, entryPoints: [definition.entry], outfile, absWorkingDir: REPO_ROOT }, outfile };
  }
  const out = dirname(outfile);
  // Chunk names carry content hashes: each build would otherwise leave the last one's behind.
  rmSync(join(out, 'chunks'), { recursive: true, force: true });
  return {
    options: {
      ...definition.options,
      entryPoints: [
        { in: definition.entry, out: basename(outfile, '.mjs') },
        ...workers.map((worker) => ({ in: worker.entry, out: worker.out })),
      ],
      outdir: out,
      outExtension: { '.js': '.mjs' },
      chunkNames: 'chunks/[name]-[hash]',
      absWorkingDir: REPO_ROOT,
    },
    outfile,
  };
}

/** Builds one bundle into `outDir` (its `outfile` is relative to it). */
export async function buildBundle(definition: BundleDefinition, outDir: string): Promise<BuiltBundle> {
  const { options, outfile } = outputOptions(definition, outDir);
  const result = await build(options);
  return finish(definition, outDir, outfile, result.metafile);
}

/** The same, synchronously: CDK's local bundling hook (ILocalBundling.tryBundle) cannot await. */
export function buildBundleSync(definition: BundleDefinition, outDir: string): BuiltBundle {
  const { options, outfile } = outputOptions(definition, outDir);
  const result = buildSync(options);
  return finish(definition, outDir, outfile, result.metafile);
}

/** Bytes in the output per package (or per source file outside node_modules), largest first. */
export function bytesByPackage(metafile: Metafile): Array<[string, number]> {
  const totals = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? input.replace(/^(functions|bridge)\/.*/, '$1/ (greygate)');
      totals.set(pkg, (totals.get(pkg) ?? 0) + bytesInOutput);
    }
  }
  return [...totals].sort((a, b) => b[1] - a[1]);
}

export async function buildAll(outDir: string = join(REPO_ROOT, 'dist')): Promise<BuiltBundle[]> {
  const built: BuiltBundle[] = [];
  for (const definition of bundleDefinitions()) built.push(await buildBundle(definition, outDir));
  return built;
}

function kib(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KiB`;
}

/**
 * Declarations for `greygate/cdk` (package.json exports), emitted by TypeScript from the sources.
 * The synth-time build (lambda-asset.ts, build/) is left out: the package's construct uses the
 * shipped Lambda bundle instead, and no exported type refers to either.
 */
export function emitCdkTypes(outDir: string = join(REPO_ROOT, 'dist')): string {
  const types = join(outDir, 'cdk/types');
  rmSync(types, { recursive: true, force: true });
  execFileSync(
    process.execPath,
    [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(REPO_ROOT, 'build/tsconfig.cdk-types.json'), '--outDir', types],
    { stdio: 'inherit' },
  );
  rmSync(join(types, 'build'), { recursive: true, force: true });
  rmSync(join(types, 'infra/lib/lambda-asset.d.ts'), { force: true });
  const index = join(outDir, 'cdk/index.d.ts');
  writeFileSync(index, "export * from './types/infra/lib/index.ts';\n");
  return index;
}

async function main(): Promise<void> {
  console.log(`${relative(REPO_ROOT, emitCdkTypes())}  (declarations of greygate/cdk)`);
  for (const bundle of await buildAll()) {
    console.log(`${relative(REPO_ROOT, bundle.outfile)}  ${kib(bundle.bytes)}`);
    for (const file of bundle.workerFiles) console.log(`${relative(REPO_ROOT, file)}  ${kib(statSync(file).size)}`);
    for (const [pkg, bytes] of bytesByPackage(bundle.metafile).slice(0, 8)) {
      console.log(`  ${kib(bytes).padStart(10)}  ${pkg}`);
    }
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? `build failed: ${err.message}` : err);
    process.exit(1);
  });
}
