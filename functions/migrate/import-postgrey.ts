// `greygate import-postgrey`: Postgrey's triplets and auto-whitelisted clients into greygate's
// store. The Berkeley DB files are read through `db_dump -p` (Debian's db-util), never parsed here,
// and are left untouched, so going back to Postgrey stays possible.

import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { PolicyConfig } from '../core/policy-config.ts';
import type { ImportingStore } from '../store/store-port.ts';
import { parseDbDump } from './db-dump-parser.ts';
import {
  clientFromPostgrey,
  looksHashed,
  mergeClient,
  mergeTriplet,
  tripletFromPostgrey,
  type Converted,
  type SkipReason,
} from './postgrey-records.ts';

const run = promisify(execFile);

/** Debian ships the tool as db_dump (db-util) and as db5.3_dump (db5.3-util). */
const DB_DUMP_NAMES = ['db_dump', 'db5.3_dump'];

export class ImportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ImportError';
  }
}

export interface ImportOptions {
  now: number;
  policy: Pick<PolicyConfig, 'delaySeconds' | 'retryWindowSeconds' | 'maxAgeDays'>;
  /** One line of output (counts, skipped entries, what a dry run would write). */
  print: (line: string) => void;
  /**
   * serve's `--privacy` hash: records are stored under the hashed key, as serve looks them up.
   * Postgrey's clear keys are what greygate hashes, so they match.
   */
  hashKey?: (clear: string) => string;
}

export interface ImportCounts {
  triplets: { imported: number; unchanged: number };
  clients: { imported: number; unchanged: number };
  skipped: Record<SkipReason, number>;
}

async function dumpFile(file: string, dbDump: string | undefined): Promise<Array<[string, string]>> {
  const names = dbDump === undefined ? DB_DUMP_NAMES : [dbDump];
  for (const name of names) {
    try {
      const { stdout } = await run(name, ['-p', file], { maxBuffer: 1 << 30, encoding: 'utf8' });
      return parseDbDump(stdout).entries;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      const stderr = (error as { stderr?: string }).stderr?.trim();
      throw new ImportError(`${name} -p ${file} failed: ${stderr || (error as Error).message}`);
    }
  }
  throw new ImportError(
    `db_dump is not installed: it reads Postgrey's Berkeley DB files. Install it with \`apt-get install db-util\` (Debian/Ubuntu), then run the import again`,
  );
}

/** Postgrey's two files as key/value pairs, as db_dump printed them. */
export interface PostgreyDatabase {
  triplets: Array<[string, string]>;
  clients: Array<[string, string]>;
}

/**
 * Reads and checks Postgrey's database before anything is opened for writing, so a refused
 * database (missing, a --privacy one) leaves the target store untouched, not even created.
 */
export async function readPostgreyDatabase(from: string, dbDump?: string): Promise<PostgreyDatabase> {
  const tripletFile = join(from, 'postgrey.db');
  const clientFile = join(from, 'postgrey_clients.db');
  if (!existsSync(tripletFile)) {
    throw new ImportError(`${tripletFile} not found: --from names Postgrey's database directory (its --dbdir, /var/lib/postgrey on Debian)`);
  }
  const triplets = await dumpFile(tripletFile, dbDump);
  // Postgrey creates postgrey_clients.db only with auto-whitelisting on.
  const clients = existsSync(clientFile) ? await dumpFile(clientFile, dbDump) : [];
  if (looksHashed([...triplets, ...clients].map(([key]) => key))) {
    throw new ImportError(
      `${from} holds a Postgrey --privacy database: its keys are SHA-1 digests of the triplets, which greygate ` +
        `cannot turn back into keys it would look up (greygate --privacy uses a keyed hash). Nothing imported; ` +
        `greygate starts with an empty database and greylists each correspondent once`,
    );
  }
  return { triplets, clients };
}

/** Merges `db` into `store`, or with a null store (--dry-run) prints what it would write. */
export async function importPostgrey(store: ImportingStore | null, db: PostgreyDatabase, opts: ImportOptions): Promise<ImportCounts> {
  const { triplets, clients } = db;
  const counts: ImportCounts = {
    triplets: { imported: 0, unchanged: 0 },
    clients: { imported: 0, unchanged: 0 },
    skipped: { malformed: 0, expired: 0, future: 0 },
  };
  const stored = opts.hashKey ?? ((clear: string) => clear);

  /** One file's entries: converted, then printed (dry run) or merged into the store, and counted. */
  async function importAll<R>(
    kind: 'triplet' | 'client',
    entries: Array<[string, string]>,
    convert: (key: string, value: string) => Converted<R>,
    describe: (record: R) => string,
    write: (target: ImportingStore, key: string, record: R) => Promise<boolean>,
  ): Promise<void> {
    const tally = counts[kind === 'triplet' ? 'triplets' : 'clients'];
    for (const [key, value] of entries) {
      const c = convert(key, value);
      if (!c.ok) {
        counts.skipped[c.reason] += 1;
        opts.print(`skipped ${kind} ${c.key}: ${c.reason} (${c.detail})`);
      } else if (store === null) {
        opts.print(`would import ${kind} ${c.key} ${describe(c.record)}`);
        tally.imported += 1;
      } else {
        tally[(await write(store, stored(c.key), c.record)) ? 'imported' : 'unchanged'] += 1;
      }
    }
  }

  await importAll(
    'triplet',
    triplets,
    (key, value) => tripletFromPostgrey(key, value, opts.now, opts.policy),
    (r) => `first=${r.firstSeen} last=${r.lastSeen}`,
    (target, key, r) => target.importTriplet(key, opts.now, (held) => mergeTriplet(held, r)),
  );
  await importAll(
    'client',
    clients,
    (key, value) => clientFromPostgrey(key, value, opts.now, opts.policy),
    (r) => `count=${r.count} last=${r.lastSeen}`,
    (target, key, r) => target.importClient(key, opts.now, (held) => mergeClient(held, r)),
  );
  const verb = store === null ? 'would import' : 'imported';
  const s = counts.skipped;
  opts.print(
    `${verb} ${counts.triplets.imported} triplets and ${counts.clients.imported} clients` +
      (store === null ? '' : ` (already up to date: ${counts.triplets.unchanged} triplets, ${counts.clients.unchanged} clients)`) +
      `; skipped ${s.malformed + s.expired + s.future} (malformed ${s.malformed}, expired ${s.expired}, in the future ${s.future})`,
  );
  return counts;
}
