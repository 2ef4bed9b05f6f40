// What one row of the option table says, and the small readers rows are built from. A row's
// `read` turns what was given (or nothing) into the option's typed value, its default included, so
// the default lives in one place with the parser that checks the same value when it is given.

import { envName } from './env-name.ts';
import { parseBoolean, parseChoice, parseInteger } from './parsers.ts';

/** Who reads options: the daemons, the Lambda, the CDK app, and the one-shot commands. */
export type Runtime = 'serve' | 'lambda' | 'bridge' | 'cdk' | 'create-table' | 'import-postgrey' | 'report';

export const RUNTIME_NAMES: Readonly<Record<Runtime, string>> = {
  serve: 'greygate serve',
  lambda: 'the Lambda function',
  bridge: 'greygate-bridge',
  cdk: 'the CDK app',
  'create-table': 'greygate create-table',
  'import-postgrey': 'greygate import-postgrey',
  report: 'greygate report',
};

export type OptionKind = 'value' | 'flag' | 'optional-value';

/** Where the help text and the docs list an option. */
export type OptionGroup = 'listeners' | 'greylisting' | 'selective' | 'storage' | 'bridge' | 'lambda' | 'deployment' | 'meta';

export type Env = Readonly<Record<string, string | undefined>>;

/** What was given for one option: every value in order, from the command line or split from a variable's list. */
export interface Given {
  values: readonly string[];
  /** `--delay`, `GREYGATE_DELAY` or `greygate:delay`: what an error message names. */
  label: string;
  /** Filled by `--preset`, not by the admin: it counts as a default where options are checked against each other. */
  fromPreset?: boolean;
}

export interface ReadContext {
  runtime: Runtime;
  /** The process environment, for the defaults that come from it (host name, function name). */
  env: Env;
}

/** How a CDK context value maps onto the stack's settings (infra/lib/stack-props.ts). */
export interface CdkKey {
  /** `greygate:delay`. */
  key: string;
  /** The stack's setting it fills (infra/lib/stack-props.ts): top-level, or under `policy`. */
  prop: string;
  /** The shape a context value must have before the runtime's parser sees it. */
  shape: 'int' | 'bool' | 'text' | 'list' | 'retry-window';
}

export interface OptionRow<T = unknown> {
  /** The long flag without dashes, e.g. `max-age`; also the option's name in the config code. */
  readonly name: string;
  /** False for options that only an environment or the CDK can set (secrets, deployment). */
  readonly flag: boolean;
  /** Other spellings on the command line: `i` for `-i`, Postgrey's `syslogfacility`. */
  readonly aliases?: readonly string[];
  /** The variable; null when the option has none. */
  readonly env: string | null;
  readonly cdk?: CdkKey;
  readonly kind: OptionKind;
  /** Several values: repeated flags in order, or a comma-separated variable. */
  readonly repeatable?: boolean;
  /** The value's form in help and docs: `N`, `[HOST:]PORT`, `text|json`; empty for a flag. */
  readonly form: string;
  readonly runtimes: readonly Runtime[];
  readonly group: OptionGroup;
  /** One line (or a few, joined by \n) for `--help`. */
  readonly help: string;
  /** The meaning column of the docs' tables (Markdown). */
  readonly doc: string;
  /** Where a runtime's docs must say it otherwise (a variable is a comma-separated list, not a repeated flag). */
  readonly docFor?: Partial<Record<Runtime, string>>;
  /** A default with spaces that is a literal value (a reply text), not a description. */
  readonly literalDefault?: boolean;
  /** The default as help and docs show it; '' for none. */
  readonly defaultText: string;
  /** Where a runtime's default differs (the Lambda's privacy, for one). */
  readonly defaultTextFor?: Partial<Record<Runtime, string>>;
  /** Refused whenever given, with this advice (Postgrey's options that systemd replaces). */
  readonly refusal?: string;
  readonly read: (given: Given | undefined, context: ReadContext) => T;
}

type RowSpec<T> = Omit<OptionRow<T>, 'name' | 'env' | 'flag' | 'kind'> & {
  env?: string | null;
  flag?: boolean;
  kind?: OptionKind;
};

/** A row whose variable is `GREYGATE_<NAME>` unless it says otherwise. */
export function row<T>(name: string, spec: RowSpec<T>): OptionRow<T> {
  return Object.freeze({ ...spec, name, flag: spec.flag ?? true, kind: spec.kind ?? 'value', env: spec.env === undefined ? envName(name) : spec.env });
}

export function lastValue(given: Given): string {
  return given.values[given.values.length - 1] ?? '';
}

export type Reader<T> = OptionRow<T>['read'];

export function integer(fallback: number, min: number, max: number, form: string): Reader<number> {
  return (given) => (given === undefined ? fallback : parseInteger(lastValue(given), given.label, min, max, form));
}

export function choice<C extends string>(choices: readonly C[], fallback: C, form: string): Reader<C> {
  return (given) => (given === undefined ? fallback : parseChoice(lastValue(given), given.label, choices, form));
}

/** On when given on the command line; `true`/`false` in a variable. */
export function onOff(fallback: boolean | ((context: ReadContext) => boolean) = false): Reader<boolean> {
  return (given, context) => {
    if (given === undefined) return typeof fallback === 'function' ? fallback(context) : fallback;
    return parseBoolean(lastValue(given), given.label);
  };
}

/** A single value through `parse`, or `fallback` when not given. */
export function single<T, F>(parse: (raw: string, label: string) => T, fallback: F): Reader<T | F> {
  return (given) => (given === undefined ? fallback : parse(lastValue(given), given.label));
}

/** Every value through `parse`, in order; `fallback` when none was given. */
export function list<T, F>(parse: (raw: string, label: string) => T, fallback: F): Reader<readonly T[] | F> {
  return (given) => (given === undefined ? fallback : Object.freeze(given.values.map((raw) => parse(raw, given.label))));
}
