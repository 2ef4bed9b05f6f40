// Reads the whitelist files named in the config and builds the matchers. Postgrey's rules: a
// missing file is a warning (`can't open <f>`), except files whose names end in `.local`, which
// are optional by design.

import { readFile } from 'node:fs/promises';
import { buildWhitelists, type Whitelists } from '../core/index.ts';
import type { Logger } from '../../policy/logger.ts';

async function readAll(paths: readonly string[], logger: Logger): Promise<Array<{ source: string; text: string }>> {
  const files: Array<{ source: string; text: string }> = [];
  for (const path of paths) {
    try {
      files.push({ source: path, text: await readFile(path, 'utf8') });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' && path.endsWith('.local')) continue;
      logger.warn(`can't open ${path}: ${(err as Error).message}`);
    }
  }
  return files;
}

export async function loadWhitelistFiles(
  paths: { clients: readonly string[]; recipients: readonly string[] },
  logger: Logger,
): Promise<Whitelists> {
  const [clients, recipients] = await Promise.all([readAll(paths.clients, logger), readAll(paths.recipients, logger)]);
  const { whitelists, warnings } = buildWhitelists({ clients, recipients });
  for (const warning of warnings) logger.warn(warning);
  return whitelists;
}
