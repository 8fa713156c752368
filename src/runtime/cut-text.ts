/** Marks where `cutText` cut a text. */
const cutMark = '…';

/**
 * `text` cut to at most `maxLength` characters (plus the `…` that marks a cut) before it goes into
 * an error message or a log line. The secret scrubber redacts registered values only whole, so a
 * cut through a token, key or password would leave its first part in clear: the run of
 * non-whitespace characters the cut goes through is dropped whole. Whitespace is never half of a
 * surrogate pair, so no character is cut in two either. A text with no whitespace before the cut
 * keeps nothing but the mark.
 */
export function cutText(text: string, maxLength: number): string {
  if (text.length <= maxLength) return text;
  let end = Math.max(0, maxLength);
  if (!/\s/.test(text.charAt(end))) {
    while (end > 0 && !/\s/.test(text.charAt(end - 1))) end -= 1;
  }
  return `${text.slice(0, end).trimEnd()}${cutMark}`;
}
