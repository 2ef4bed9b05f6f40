// Where greygate's shipped files live. This module is functions/packaged-files.ts in the source
// tree and lands in dist/ or in one of its chunks/ once bundled, so the package root is found by
// walking up from it to the folder that holds the shipped whitelists, rather than by a fixed depth.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function packageRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here, up = 0; up < 4; up++, dir = dirname(dir)) {
    if (existsSync(join(dir, 'whitelists', 'clients'))) return dir;
  }
  // Not found: the paths below then name where the files were expected, in the "can't open" warning.
  return dirname(here);
}

export const PACKAGED_WHITELIST_DIR = `${join(packageRoot(), 'whitelists')}/`;

/**
 * The esbuild `define` under which the Lambda bundle carries the texts of the default whitelists
 * (build/bundle-options.ts): a Lambda has no greygate checkout to read them from.
 */
export const BUNDLED_WHITELISTS_DEFINE = 'GREYGATE_BUNDLED_WHITELISTS';
