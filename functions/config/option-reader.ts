// Reads the option table for one runtime: from the command line and the environment (flags win),
// or from CDK context. Every option the runtime takes is parsed at once, so a bad value stops
// start-up before anything opens; an option the runtime does not take is refused by name, since
// an admin who sets one believes it is in effect.

import { scanArgs, type OptionSpec } from './cli-args.ts';
import { lastValue, RUNTIME_NAMES, type Env, type Given, type OptionRow, type Runtime } from './option-row.ts';
import { OPTION_ROWS, OPTIONS, type OptionName, type OptionValue } from './option-table.ts';
import { parseBoolean } from './parsers.ts';
import { PRESETS } from './presets.ts';
import { UsageError } from './usage-error.ts';

/** One runtime's options, parsed. */
export interface OptionReading {
  get<N extends OptionName>(name: N): OptionValue<N>;
  /** Whether this runtime takes the option at all. */
  takes(name: OptionName): boolean;
  /** Given explicitly (a flag, a variable or a context value), not defaulted nor filled by the preset. */
  given(name: OptionName): boolean;
  /** What a message names for this option: what it was given as, else the runtime's usual form. */
  label(name: OptionName): string;
  /** The text it was given as, and where (a flag, a variable, the preset); undefined = defaulted. */
  raw(name: OptionName): Given | undefined;
  /** Command-line words that are not options. */
  readonly positionals: readonly string[];
}

/** Where the runtime's values come from. */
export interface OptionSource {
  given(row: OptionRow): Given | undefined;
  /** How this source names an option that was not given. */
  label(row: OptionRow): string;
  readonly positionals?: readonly string[];
  /** `--help` was asked for: every other option then keeps its default, so help prints whatever else is wrong. */
  readonly helpOnly?: boolean;
}

function rowOf(name: string): OptionRow {
  const found = OPTION_ROWS.find((r) => r.name === name);
  if (!found) throw new Error(`internal: no option ${name} in the table`);
  return found;
}

/**
 * The source with `--preset`'s values under it: a preset fills only what the source leaves unset,
 * so an admin's flag or variable always wins (presets.ts).
 */
function withPreset(runtime: Runtime, source: OptionSource, env: Env): OptionSource {
  if (!OPTIONS.preset.runtimes.includes(runtime) || source.helpOnly) return source;
  const given = source.given(OPTIONS.preset);
  const name = OPTIONS.preset.read(given, { runtime, env });
  const values = PRESETS[name];
  if (given === undefined || Object.keys(values).length === 0) return source;
  for (const option of Object.keys(values)) {
    if (!rowOf(option).runtimes.includes(runtime)) throw new Error(`internal: preset ${name} sets --${option}, which ${RUNTIME_NAMES[runtime]} does not take`);
  }
  const label = `${given.label}=${name}`;
  return {
    ...source,
    given(row) {
      const own = source.given(row);
      if (own !== undefined) return own;
      const preset = values[row.name];
      return preset === undefined ? undefined : { values: preset, label, fromPreset: true };
    },
  };
}

export function readOptions(runtime: Runtime, plain: OptionSource, env: Env = {}): OptionReading {
  const source = withPreset(runtime, plain, env);
  const values = new Map<string, unknown>();
  const raws = new Map<string, Given>();
  for (const row of OPTION_ROWS) {
    if (!row.runtimes.includes(runtime)) continue;
    const given = source.helpOnly && row.name !== 'help' ? undefined : source.given(row);
    if (given !== undefined) {
      raws.set(row.name, given);
      if (row.refusal !== undefined && refused(row, given)) throw new UsageError(`${given.label} is not supported: ${row.refusal}`);
    }
    values.set(row.name, row.read(given, { runtime, env }));
  }
  const taken = (name: string): OptionRow => {
    const row = rowOf(name);
    if (!row.runtimes.includes(runtime)) throw new Error(`internal: ${RUNTIME_NAMES[runtime]} does not take --${name}`);
    return row;
  };
  return Object.freeze({
    positionals: Object.freeze([...(source.positionals ?? [])]),
    get<N extends OptionName>(name: N): OptionValue<N> {
      taken(name);
      return values.get(name) as OptionValue<N>;
    },
    takes: (name: OptionName) => rowOf(name).runtimes.includes(runtime),
    given: (name: OptionName) => {
      const raw = raws.get(taken(name).name);
      return raw !== undefined && raw.fromPreset !== true;
    },
    label: (name: OptionName) => raws.get(name)?.label ?? source.label(taken(name)),
    raw: (name: OptionName) => raws.get(taken(name).name),
  });
}

/** A refused on/off option set to false asks for nothing, so it is let through. */
function refused(row: OptionRow, given: Given): boolean {
  return row.kind !== 'flag' || parseBoolean(lastValue(given), given.label);
}

/** Where an admin finds the options of a runtime. */
const OPTION_DOCS: Readonly<Record<Runtime, string>> = {
  serve: '`greygate serve --help` and docs/configuration.md',
  lambda: 'docs/http-api.md',
  bridge: '`greygate-bridge --help` and docs/bridge.md',
  cdk: 'docs/deploy.md',
  'create-table': '`greygate create-table --help`',
  'import-postgrey': '`greygate import-postgrey --help` and docs/migration-from-postgrey.md',
  report: '`greygate report --help` and docs/metrics.md',
};

/** Who else takes an option, for the message that refuses it. */
function takenBy(row: OptionRow): string {
  const names = row.runtimes.filter((r) => r !== 'cdk' || row.cdk === undefined).map((r) => RUNTIME_NAMES[r]);
  if (row.cdk !== undefined) names.push(`the CDK app (${row.cdk.key})`);
  return names.length <= 1 ? names.join('') : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** Runtimes that run for long, where an ignored setting would mislead for as long as they run. */
const STRICT_ENVIRONMENT: readonly Runtime[] = ['serve', 'lambda', 'bridge'];

/**
 * The command line, then each option's variable (`--max-age` ↔ GREYGATE_MAX_AGE; a repeatable
 * option's variable is comma-separated; on/off options take true/false). A flag of another
 * runtime, and in the long-running runtimes a GREYGATE_* variable that this runtime does not take,
 * are refused by name.
 */
export function commandLineSource(runtime: Runtime, argv: readonly string[], env: Env): OptionSource {
  const specs: OptionSpec[] = OPTION_ROWS.filter((r) => r.flag).map((r) => ({
    name: r.name,
    kind: r.kind,
    ...(r.aliases ? { aliases: r.aliases } : {}),
  }));
  const { options, positionals } = scanArgs(argv, specs);
  const helpOnly = options.has('help') && OPTIONS.help.runtimes.includes(runtime);
  for (const name of helpOnly ? [] : options.keys()) {
    const row = rowOf(name);
    if (!row.runtimes.includes(runtime)) {
      throw new UsageError(`--${name} is not an option of ${RUNTIME_NAMES[runtime]} (it is one of ${takenBy(row)}; see --help)`);
    }
  }
  if (STRICT_ENVIRONMENT.includes(runtime) && !helpOnly) checkEnvironment(runtime, env);

  return {
    positionals,
    helpOnly,
    label: (row) => (row.flag ? `--${row.name}` : row.env ?? row.name),
    given(row) {
      const fromArgs = options.get(row.name);
      if (fromArgs !== undefined) return { values: fromArgs, label: `--${row.name}` };
      return fromEnvironment(row, env);
    },
  };
}

function fromEnvironment(row: OptionRow, env: Env, label?: string): Given | undefined {
  if (row.env === null) return undefined;
  const raw = env[row.env];
  // Blank counts as unset: systemd's `Environment=GREYGATE_X=` and an emptied line in an env file.
  if (raw === undefined || raw.trim() === '') return undefined;
  const values = row.repeatable ? raw.split(',').map((v) => v.trim()).filter((v) => v !== '') : [raw];
  return { values, label: label ?? row.env };
}

/** The Lambda's source: its environment alone, so every message names a variable. */
export function environmentSource(runtime: Runtime, env: Env): OptionSource {
  if (STRICT_ENVIRONMENT.includes(runtime)) checkEnvironment(runtime, env);
  return {
    label: (row) => row.env ?? row.name,
    given: (row) => fromEnvironment(row, env),
  };
}

/**
 * The environment a deployment will give the function, with the CDK context keys as labels: the
 * stack checks its settings with the runtime's own parsers, and the admin reads the key to fix.
 */
export function contextLabelledSource(env: Env): OptionSource {
  const label = (row: OptionRow): string => row.cdk?.key ?? row.env ?? row.name;
  return {
    label,
    given: (row) => fromEnvironment(row, env, label(row)),
  };
}

function checkEnvironment(runtime: Runtime, env: Env): void {
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith('GREYGATE_') || (env[name] ?? '').trim() === '') continue;
    const row = OPTION_ROWS.find((r) => r.env === name);
    if (row === undefined) {
      const near = OPTION_ROWS.find((r) => r.env !== null && r.runtimes.includes(runtime) && nearlyEqual(r.env, name));
      throw new UsageError(
        `${name} is not a greygate variable${near?.env ? `; did you mean ${near.env}?` : ''} (${RUNTIME_NAMES[runtime]}'s are listed in ${OPTION_DOCS[runtime]})`,
      );
    }
    if (row.refusal !== undefined && !row.runtimes.includes(runtime)) {
      throw new UsageError(`${name} is not used by ${RUNTIME_NAMES[runtime]}: ${row.refusal}; remove it from this environment`);
    }
    if (!row.runtimes.includes(runtime)) {
      throw new UsageError(`${name} is not used by ${RUNTIME_NAMES[runtime]} (it is an option of ${takenBy(row)}); remove it from this environment`);
    }
  }
}

/** One edit apart (a typo), or the same apart from a trailing S. */
function nearlyEqual(a: string, b: string): boolean {
  if (Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const restA = a.slice(i);
  const restB = b.slice(i);
  return restA.slice(1) === restB.slice(1) || restA.slice(1) === restB || restA === restB.slice(1);
}
