// Sender normalisation for the triplet key, exactly as Postgrey 1.37 did it (postgrey.md §1), so
// that per-message sender tags do not create a new triplet (and a new delay) for every mail.

const BATV_TAG = /^[0-9a-z]{10}/;

/** Perl's `split /=/, $s`: like String#split, but trailing empty fields are dropped. */
function perlSplitOnEquals(value: string): string[] {
  const pieces = value.split('=');
  while (pieces.length > 0 && pieces[pieces.length - 1] === '') pieces.pop();
  return pieces;
}

/**
 * BATV (`prvs=TAG=user`): keep the piece that does not look like the 10-character tag. The test is
 * case-sensitive, as in Postgrey, and only applies when the local part splits into exactly 3 pieces.
 */
function stripBatv(local: string): string {
  if (!local.startsWith('prvs=')) return local;
  const pieces = perlSplitOnEquals(local);
  if (pieces.length !== 3) return local;
  const second = pieces[1] ?? '';
  const third = pieces[2] ?? '';
  if (BATV_TAG.test(third) && !BATV_TAG.test(second)) return second;
  return third;
}

/**
 * Returns the sender as it goes into the key (before the key is lower-cased):
 * BATV tag removed, `+extension` removed, every standalone digit run (`\b\d+\b`) replaced by `#`.
 * Only the local part changes; a sender without `@` (the null sender, `MAILER-DAEMON`) is unchanged.
 * SRS and `=`-style VERP are left alone, as in Postgrey.
 */
export function normalizeSender(sender: string): string {
  const at = sender.indexOf('@');
  if (at < 0) return sender;
  let local = stripBatv(sender.slice(0, at));
  const plus = local.indexOf('+');
  if (plus >= 0) local = local.slice(0, plus);
  local = local.replace(/\b\d+\b/g, '#');
  return `${local}${sender.slice(at)}`;
}
