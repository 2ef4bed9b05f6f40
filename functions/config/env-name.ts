// The environment variable that stands for a command-line option, for greygate and the bridge
// alike: `--timeout-ms` ↔ `GREYGATE_TIMEOUT_MS`. The option table names every row's variable with it.

export function envName(option: string): string {
  return `GREYGATE_${option.toUpperCase().replace(/-/g, '_')}`;
}
