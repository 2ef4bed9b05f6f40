// The reasons a decision can carry, in the JSON answer (`signals`) and at the end of the log line.
// They are the core's vocabulary so that decisions, log lines and answers can be typed here; the
// features that raise them (functions/selective/) import this file, never the reverse.

/** S25R's rules by number; 0 is the dynamic-pattern list of the rule set (functions/selective/s25r-rules.ts). */
export type S25rRuleNumber = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/**
 * Why a DNS list gave no usable answer. `refused-by-list`: the list answered with its own error code
 * (Spamhaus-style 127.255.255.x, dnswl.org's 127.0.0.255), typically because the query came through
 * a public resolver or exceeded the free quota.
 */
export type DnsListErrorCode = 'timeout' | 'servfail' | 'refused' | 'refused-by-list' | 'unexpected-answer' | 'failed';

/** What the client says of itself (functions/selective/client-signals.ts), weighed in score mode. */
export type ClientSignalName = 'no-verified-name' | 'helo-ip-literal' | 'helo-localhost' | 'helo-bare-word' | 'helo-other-org';

export type Signal =
  | { name: 's25r'; rule: S25rRuleNumber | 'dynamic-pattern'; pattern?: string }
  /** The name matched a rule but belongs to a known real mail server (it adds nothing). */
  | { name: 's25r-exception'; rule: S25rRuleNumber | 'dynamic-pattern'; exception: string }
  | { name: 'dnsbl'; zone: string }
  | { name: 'dnswl'; zone: string }
  /** A configured list gave no usable answer (timeout, SERVFAIL, refused); it adds nothing. */
  | { name: 'dns-error'; zone: string; error: DnsListErrorCode }
  | { name: ClientSignalName }
  /** The run-time allow entry that let the request through (its id, `client:192.0.2.0/24`). */
  | { name: 'allow-entry'; entry: string };
