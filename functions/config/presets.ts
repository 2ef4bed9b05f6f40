// Named sets of option values. A preset fills only the options that neither a flag nor a variable
// (nor a context value) gives: what an admin sets always wins, and `--print-config` shows where
// each value came from.
//
// `recommended` is the combination the effectiveness bench measures best (`npm run bench`, section
// effectiveness; docs/client-identity.md): big senders keyed and whitelisted by organisation, greylisting only for
// clients whose name or HELO looks like a bot's. The default stays Postgrey's behaviour, for
// drop-in users.

export const PRESET_NAMES = ['none', 'recommended'] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

/**
 * Option name → the values it gets, as a flag's. Keyed by plain names (the option table imports
 * this file); option-reader.ts refuses a name the runtime does not take.
 */
export const PRESETS: Readonly<Record<PresetName, Readonly<Record<string, readonly string[]>>>> = Object.freeze({
  none: {},
  recommended: {
    'client-identity': ['org'],
    'auto-whitelist-orgs': ['5'],
    selective: ['score'],
    'signal-weight': ['helo-ip-literal=1', 'helo-localhost=1', 'helo-bare-word=1', 'helo-other-org=1'],
  },
});
