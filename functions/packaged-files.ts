// Where greygate's shipped files live. This module stays one folder below the package root on
// purpose: its URL then resolves alike from the source tree (functions/) and from the bundle that
// inlines it (dist/greygate.mjs), in a checkout and in an installed package.

import { fileURLToPath } from 'node:url';

export const PACKAGED_WHITELIST_DIR = fileURLToPath(new URL('../whitelists/', import.meta.url));

/**
 * The esbuild `define` under which the Lambda bundle carries the texts of the default whitelists
 * (build/bundle-options.ts): a Lambda has no greygate checkout to read them from.
 */
export const BUNDLED_WHITELISTS_DEFINE = 'GREYGATE_BUNDLED_WHITELISTS';
