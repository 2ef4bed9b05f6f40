// Where each option's value comes from: the command line first, else its GREYGATE_* variable
// (comma-separated when the option is repeatable), with errors that name whichever was used.

import { envName } from './env-name.ts';
import { UsageError, type OptionSpec, type ParsedArgs } from './cli-args.ts';

/** Reads an option's values from argv, else from the environment (`GREYGATE_*`; comma-separated when repeatable). */
export class OptionSource {
  constructor(
    private readonly args: ParsedArgs,
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly specs: readonly OptionSpec[],
  ) {}

  private spec(name: string): OptionSpec {
    const spec = this.specs.find((s) => s.name === name);
    if (!spec) throw new Error(`internal: no option ${name}`);
    return spec;
  }

  /** Where a value came from, for error messages. */
  label(name: string): string {
    return this.args.has(name) ? `--${name}` : envName(name);
  }

  all(name: string): string[] | undefined {
    const fromArgs = this.args.get(name);
    if (fromArgs) return fromArgs;
    const fromEnv = this.env[envName(name)];
    if (fromEnv === undefined || fromEnv === '') return undefined;
    const spec = this.spec(name);
    if (spec.repeatable) return fromEnv.split(',').map((v) => v.trim()).filter((v) => v !== '');
    if (spec.kind === 'flag') {
      if (/^(1|true|yes|on)$/i.test(fromEnv)) return [''];
      if (/^(0|false|no|off)$/i.test(fromEnv)) return undefined;
      throw new UsageError(`${envName(name)}: expected true or false, got "${fromEnv}"`);
    }
    return [fromEnv];
  }

  one(name: string): string | undefined {
    const values = this.all(name);
    return values === undefined ? undefined : values[values.length - 1];
  }

  flag(name: string): boolean {
    return this.all(name) !== undefined;
  }

  /** A whole number in [min, max], `fallback` when not given; `form` tells the admin what fits. */
  integer(name: string, fallback: number, min: number, max: number, form: string): number {
    const raw = this.one(name);
    return raw === undefined ? fallback : parseInteger(raw, this.label(name), min, max, form);
  }
}

export function parseInteger(raw: string, label: string, min: number, max: number, form: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new UsageError(`${label}: "${raw}" is not valid; expected ${form}`);
  const n = Number(raw.trim());
  if (n < min || n > max) throw new UsageError(`${label}: ${n} is out of range; expected ${form}`);
  return n;
}
