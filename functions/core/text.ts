// Small string helpers that copy how Perl treated Postgrey's strings.

/**
 * Lower-cases ASCII letters only. Postgrey ran `lc` on byte strings, which leaves every non-ASCII
 * byte alone; doing the same keeps greygate's keys identical to Postgrey's for UTF-8 addresses.
 */
export function asciiLower(value: string): string {
  // Every decision lower-cases its addresses, which are mostly lower case already.
  if (!UPPER_ASCII.test(value)) return value;
  // toLowerCase alone would also change non-ASCII letters, which Perl's lc on bytes left alone.
  return NON_ASCII.test(value) ? value.replace(/[A-Z]+/g, (letters) => letters.toLowerCase()) : value.toLowerCase();
}

const UPPER_ASCII = /[A-Z]/;
const NON_ASCII = /[^\x00-\x7f]/;

/** Perl truthiness of a string attribute: Postgrey skips log fields that are empty or `0`. */
export function perlTruthy(value: string | undefined): value is string {
  return value !== undefined && value !== '' && value !== '0';
}

/** The recipient domain for `%r`: everything after the last `@` (all of it when there is none). */
export function recipientDomain(recipient: string): string {
  return recipient.slice(recipient.lastIndexOf('@') + 1);
}
