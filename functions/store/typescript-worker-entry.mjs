// The entry of a worker thread whose module is TypeScript, when greygate runs from its sources
// (tsx, vitest). Node starts a worker without the TypeScript loader of the thread that started it,
// so this plain JavaScript file registers tsx in the worker, then loads the module whose URL the
// starter passed as the worker's first argument (Worker's `argv` option). It uses tsx's require
// hook, which works within the thread, rather than its ESM loader, which would start a loader thread
// for each worker; the module must therefore not use top-level await. The bundle needs none of
// this: its worker modules are JavaScript already.

import { createRequire } from 'node:module';
import { argv } from 'node:process';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/cjs/api';

const moduleUrl = argv[2];
if (moduleUrl === undefined) throw new Error('typescript-worker-entry.mjs: no module URL in argv');
register();
createRequire(import.meta.url)(fileURLToPath(moduleUrl));
