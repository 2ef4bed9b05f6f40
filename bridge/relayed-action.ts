// Which of the API's actions the bridge passes on to Postfix. The bridge promises that it never
// stops mail: a deferral is the worst an answer can do. An API that is compromised, spoofed or
// mistaken (a DNS or proxy error, a wrong --api) could otherwise answer `REJECT` and bounce mail,
// `BCC`/`REDIRECT` and copy or steal it, `OK` and skip the restrictions after the policy check,
// or `DISCARD`/`HOLD`/`FILTER`. So only the answers greygate's decision produces are relayed:
//
//   DUNNO                           a pass (whitelists, known triplet, auto-whitelisted client)
//   DEFER_IF_PERMIT text            the greylist action (serve's --greylist-action, one word, then
//   DEFER text                      the reply text): a deferral, never a rejection
//   4NN text                        e.g. `451 4.7.1 Greylisted`
//   PREPEND X-Greylist: text        the first pass's header; no other header, which could tell a
//                                   later filter that a message is clean or authenticated
//
// Words are case-insensitive, as Postfix reads them. Nothing may hold a control character: a CR
// or LF would end the policy answer early and let the rest become a second answer line.

/** Greygate's answers, the only ones relayed. The text after the word is free but single-line. */
const RELAYED = /^(?:DUNNO|(?:DEFER_IF_PERMIT|DEFER|4\d\d)(?: .*)?|PREPEND X-Greylist:.*)$/i;
/** C0 and C1 controls and DEL: line ends, NUL, escapes. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Undefined when `action` may go to Postfix; otherwise why not, for the log. */
export function unrelayableReason(action: string): string | undefined {
  if (CONTROL.test(action)) return 'it holds a control character (CR, LF, …)';
  if (!RELAYED.test(action)) return 'greygate never answers it (only DUNNO, DEFER_IF_PERMIT, DEFER, 4NN and PREPEND X-Greylist: are passed on)';
  return undefined;
}

/** True for the first-pass header answer, the one that is kept once per message. */
export function isHeaderAction(action: string): boolean {
  return /^PREPEND X-Greylist:/i.test(action);
}
