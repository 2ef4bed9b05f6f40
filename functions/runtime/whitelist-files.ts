// Reads the whitelist files named in the config and builds the matchers. Postgrey's rules: a
// missing file is a warning (`can't open <f>`), except files whose names end in `.local`, which
// are optional by design.

import { readFile } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { WhitelistBuilder, type WhitelistFile, type Whitelists } from '../core/whitelist.ts';
import type { Logger } from '../../policy/logger.ts';

/**
 * Lines parsed between two turns of the event loop. A reload (SIGHUP) builds the new lists while
 * serve goes on answering with the old ones; a slice this size keeps each pause to milliseconds
 * even for a list of a million lines.
 */
export const LINES_PER_SLICE = 2_000;

async function readAll(paths: readonly string[], logger: Logger): Promise<WhitelistFile[]> {
  const files: WhitelistFile[] = [];
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

/** `file` in slices of LINES_PER_SLICE lines, each with the file's number of its first line. */
export function* whitelistSlices(file: WhitelistFile): Generator<WhitelistFile> {
  const { source, text } = file;
  let start = 0;
  let firstLine = 1;
  for (;;) {
    let cut = start - 1;
    let lines = 0;
    while (lines < LINES_PER_SLICE) {
      const newline = text.indexOf('\n', cut + 1);
      if (newline < 0) break;
      cut = newline;
      lines += 1;
    }
    if (lines < LINES_PER_SLICE) {
      yield { source, text: text.slice(start), firstLine };
      return;
    }
    yield { source, text: text.slice(start, cut), firstLine };
    start = cut + 1;
    firstLine += LINES_PER_SLICE;
  }
}

export async function loadWhitelistFiles(
  paths: { clients: readonly string[]; recipients: readonly string[] },
  logger: Logger,
): Promise<Whitelists> {
  const [clients, recipients] = await Promise.all([readAll(paths.clients, logger), readAll(paths.recipients, logger)]);
  const builder = new WhitelistBuilder();
  for (const file of clients) {
    for (const slice of whitelistSlices(file)) {
      builder.addClients(slice);
      await nextTurn();
    }
  }
  for (const file of recipients) {
    for (const slice of whitelistSlices(file)) {
      builder.addRecipients(slice);
      await nextTurn();
    }
  }
  const { whitelists, warnings } = builder.build();
  for (const warning of warnings) logger.warn(warning);
  return whitelists;
}
