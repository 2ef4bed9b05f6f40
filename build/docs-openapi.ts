// `npm run docs:openapi`: writes docs/openapi.json anew from the schemas (functions/http/openapi.ts).
// test/http/openapi.test.ts fails while it differs from what GET /openapi.json serves.

import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { openApiText } from '../functions/http/openapi.ts';
import { REPO_ROOT } from './bundle-options.ts';

export const OPENAPI_DOC = 'docs/openapi.json';

const path = join(REPO_ROOT, OPENAPI_DOC);
let before = '';
try {
  before = readFileSync(path, 'utf8');
} catch {
  // First run: the file does not exist yet.
}
const after = openApiText();
if (after !== before) writeFileSync(path, after);
process.stdout.write(`${OPENAPI_DOC}: ${after === before ? 'up to date' : 'rewritten'}\n`);
