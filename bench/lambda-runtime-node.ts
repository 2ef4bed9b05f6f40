// The Node.js the deployed function runs on (the nodejs22.x runtime: Node 22), for the cold-start
// probe of bench/lambda-bundle-bench.ts. The bench machine's own Node may be an older major (20
// here, pinned by the test tooling), and the start-up of the same bundle differs between majors:
// V8's tiers and Node's loader both changed. So the probe runs on both, and this finds the second.
//
// In order: this process's node when it is already of that major; BENCH_LAMBDA_NODE (a path, or
// `none` for this machine's node alone); a copy cached under node_modules/.cache by an earlier
// run; else the package node-<platform>-<arch>@22 from the npm registry, fetched with `npm pack`
// into that cache (about 30 MB; again after each fresh `npm install`, which empties the cache).
// That package is the Node.js release binary as the `node` npm package installs it, repackaged
// by that package's maintainers, not by the Node.js project, and no checksum is checked here: it
// only runs the bench's probes. Not a dependency of the project: only the bench wants it.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../build/bundle-options.ts';

export const LAMBDA_NODE_MAJOR = 22;

export type RuntimeNode = { path: string; version: string } | { missing: string };

function versionOf(path: string): string {
  return execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 10_000 }).trim();
}

function ofMajor(version: string): boolean {
  return version.startsWith(`v${LAMBDA_NODE_MAJOR}.`);
}

function checked(path: string, from: string): RuntimeNode {
  try {
    const version = versionOf(path);
    return ofMajor(version) ? { path, version } : { missing: `${from} (${path}) is ${version}, not Node ${LAMBDA_NODE_MAJOR}` };
  } catch (err) {
    return { missing: `${from} (${path}) does not run: ${(err as Error).message}` };
  }
}

export function lambdaRuntimeNode(): RuntimeNode {
  if (ofMajor(process.version)) return { path: process.execPath, version: process.version };
  const given = process.env.BENCH_LAMBDA_NODE;
  if (given === 'none') return { missing: 'BENCH_LAMBDA_NODE=none' };
  if (given) return checked(given, 'BENCH_LAMBDA_NODE');

  const platform = process.platform === 'win32' ? 'win' : process.platform;
  if (platform !== 'linux' && platform !== 'darwin') return { missing: `no Node ${LAMBDA_NODE_MAJOR} package for ${platform}; set BENCH_LAMBDA_NODE` };
  const pkg = `node-${platform}-${process.arch}`;
  const cache = join(REPO_ROOT, 'node_modules/.cache/greygate-bench', `${pkg}-${LAMBDA_NODE_MAJOR}`);
  const binary = join(cache, 'package/bin/node');
  if (!existsSync(binary)) {
    // Fetched and unpacked beside the cache, then renamed into place: an interrupted run leaves
    // no half-unpacked binary that a later run would take for a whole one.
    mkdirSync(join(cache, '..'), { recursive: true });
    const staging = mkdtempSync(`${cache}.partial-`);
    try {
      const tarball = execFileSync('npm', ['pack', `${pkg}@${LAMBDA_NODE_MAJOR}`, '--silent', '--pack-destination', staging], {
        encoding: 'utf8',
        timeout: 180_000,
        stdio: ['ignore', 'pipe', 'pipe'],
      })
        .trim()
        .split('\n')
        .pop();
      if (!tarball) return { missing: `npm pack ${pkg}@${LAMBDA_NODE_MAJOR} named no file` };
      execFileSync('tar', ['xzf', join(staging, tarball), '-C', staging], { timeout: 120_000 });
      rmSync(join(staging, tarball));
      rmSync(cache, { recursive: true, force: true });
      renameSync(staging, cache);
    } catch (err) {
      return { missing: `could not fetch ${pkg}@${LAMBDA_NODE_MAJOR} with npm pack (${(err as Error).message.split('\n')[0]}); set BENCH_LAMBDA_NODE` };
    } finally {
      rmSync(staging, { recursive: true, force: true });
    }
  }
  return checked(binary, `the cached ${pkg}@${LAMBDA_NODE_MAJOR}`);
}
