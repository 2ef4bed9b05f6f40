// `npm run docs:options`: writes the option tables of the docs anew from the option table
// (functions/config/option-table.ts). test/config/option-table.test.ts fails while they differ.

import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { regenerateDocTables } from '../functions/config/option-help.ts';
import { REPO_ROOT } from './bundle-options.ts';

export const OPTION_DOCS = ['docs/configuration.md', 'docs/bridge.md', 'docs/deploy.md', 'docs/http-api.md'] as const;

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  for (const doc of OPTION_DOCS) {
    const path = join(REPO_ROOT, doc);
    const before = readFileSync(path, 'utf8');
    const after = regenerateDocTables(before);
    if (after !== before) writeFileSync(path, after);
    process.stdout.write(`${doc}: ${after === before ? 'up to date' : 'rewritten'}\n`);
  }
}
