// A small argv scanner that accepts Postgrey's option forms (Getopt::Long): `--delay=2` and
// `--delay 2`, short aliases (`-i 10023`), repeatable options, options whose value is optional
// (`--auto-whitelist-clients` alone, `--auto-whitelist-clients 2`, `--auto-whitelist-clients=2`),
// and, as Getopt::Long does, the last of a repeated single-value option (`--delay 60 --delay 120`).
// Short options also come bundled (`-vq`) or with their value attached (`-i10023`), as node:util
// parseArgs reads them. parseArgs cannot express the optional-value form, hence this file.

import type { OptionKind } from './option-row.ts';
import { UsageError } from './usage-error.ts';

export interface OptionSpec {
  /** Long name without dashes, e.g. `max-age`. */
  name: string;
  kind: OptionKind;
  /** Other long or short names, e.g. `['i']` for `-i`, `['syslogfacility']`. */
  aliases?: readonly string[];
}

/** name → values in the order given; a flag given without value is stored as `''`. */
export type ParsedArgs = Map<string, string[]>;

export function scanArgs(argv: readonly string[], specs: readonly OptionSpec[]): { options: ParsedArgs; positionals: string[] } {
  const byName = new Map<string, OptionSpec>();
  for (const spec of specs) {
    byName.set(spec.name, spec);
    for (const alias of spec.aliases ?? []) byName.set(alias, spec);
  }
  const options: ParsedArgs = new Map();
  const positionals: string[] = [];

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    if (!arg.startsWith('--') && arg.length > 2 && !arg.includes('=') && !byName.has(arg.slice(1))) {
      for (const [name, value] of shortForms(arg, byName)) options.set(name, [...(options.get(name) ?? []), value]);
      continue;
    }
    const body = arg.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const inlineValue = eq === -1 ? undefined : body.slice(eq + 1);
    const spec = byName.get(name);
    if (!spec) throw new UsageError(`unknown option ${arg.split('=')[0]} (see --help)`);

    let value: string;
    if (spec.kind === 'flag') {
      if (inlineValue !== undefined) throw new UsageError(`--${spec.name} takes no value (got "${inlineValue}")`);
      value = '';
    } else if (inlineValue !== undefined) {
      value = inlineValue;
    } else {
      const next = argv[i + 1];
      const nextIsValue = next !== undefined && !(next.startsWith('-') && next.length > 1 && !/^-\d/.test(next));
      if (nextIsValue) {
        value = next;
        i++;
      } else if (spec.kind === 'optional-value') {
        value = '';
      } else {
        throw new UsageError(`--${spec.name} needs a value`);
      }
    }
    // Every value is kept in order; a single-value option's reader takes the last.
    options.set(spec.name, [...(options.get(spec.name) ?? []), value]);
  }
  return { options, positionals };
}

/** `-vq` (one-letter flags bundled) or `-i10023` (a one-letter option with its value attached). */
function shortForms(arg: string, byName: ReadonlyMap<string, OptionSpec>): Array<[string, string]> {
  const letters = arg.slice(1);
  const first = byName.get(letters[0] ?? '');
  if (first === undefined) throw new UsageError(`unknown option ${arg} (see --help)`);
  if (first.kind !== 'flag') return [[first.name, letters.slice(1)]];
  return [...letters].map((letter) => {
    const spec = byName.get(letter);
    if (spec === undefined || spec.kind !== 'flag') throw new UsageError(`unknown option -${letter} in ${arg} (see --help)`);
    return [spec.name, ''];
  });
}
