// The stand-alone app's template (infra/bin/greygate.ts run as `cdk synth` runs it: a child
// process with CDK_OUTDIR and CDK_CONTEXT_JSON), for the test that keeps it unchanged.
//
// The fixtures were written from the app as it stood before the stack became the `Greygate`
// construct. Rewrite them only for a change meant to alter deployed stacks:
//   npx tsx test/infra/standalone-template.ts --write

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from '../../build/bundle-options.ts';

/** The deployments compared: every option set, and the bare defaults. */
export const STANDALONE_CASES: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  full: {
    'greygate:tokenSha256': `${'a1'.repeat(32)},${'b2'.repeat(32)}`,
    'greygate:delay': '120',
    'greygate:maxAge': '20',
    'greygate:retryWindow': '12h',
    'greygate:autoWhitelistClients': '3',
    'greygate:greylistAction': '451',
    'greygate:ipv6cidr': '56',
    'greygate:selective': 'score',
    'greygate:dnsbl': 'zen.example.org=2',
    'greygate:logRetentionDays': '14',
    'greygate:metricsNamespace': 'Greygate/test',
    'greygate:alarmEmail': 'postmaster@example.org',
  },
  defaults: { 'greygate:privacy': 'false' },
};

const FEATURE_FLAGS = (JSON.parse(readFileSync(join(REPO_ROOT, 'cdk.json'), 'utf8')) as { context: Record<string, unknown> }).context;

export function fixturePath(name: string): string {
  return join(REPO_ROOT, 'test/infra/fixtures', `standalone-${name}.template.json`);
}

/** The app's template for the context, with the code asset's hash (it follows every source edit) blanked. */
export function synthStandalone(context: Readonly<Record<string, string>>, stackArtifact = 'Greygate'): unknown {
  const outdir = mkdtempSync(join(tmpdir(), 'greygate-standalone-'));
  try {
    const run = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'infra/bin/greygate.ts')], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_OUTDIR: outdir, CDK_CONTEXT_JSON: JSON.stringify({ ...FEATURE_FLAGS, ...context }) },
    });
    if (run.status !== 0) throw new Error(`infra/bin/greygate.ts failed (${run.status}): ${run.stderr}`);
    const text = readFileSync(join(outdir, `${stackArtifact}.template.json`), 'utf8');
    return JSON.parse(text.replace(/"[0-9a-f]{64}\.zip"/g, '"ASSET_HASH.zip"')) as unknown;
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

if (process.argv.includes('--write')) {
  for (const [name, context] of Object.entries(STANDALONE_CASES)) {
    writeFileSync(fixturePath(name), `${JSON.stringify(synthStandalone(context), null, 2)}\n`);
  }
}
