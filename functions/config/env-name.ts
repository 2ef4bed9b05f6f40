// The environment variable that stands for a command-line option, for greygate and the bridge
// alike: `--timeout-ms` ↔ `GREYGATE_TIMEOUT_MS`. Its own module so that neither program loads the
// other's option parsing to share one rule.

export function envName(option: string): string {
  return `GREYGATE_${option.toUpperCase().replace(/-/g, '_')}`;
}
