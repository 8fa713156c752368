/**
 * JSON text as an operator's file or secret holds it: a leading UTF-8 byte order mark (Windows
 * editors save one) is dropped first, so the same file reads alike whoever saved it. Throws as
 * `JSON.parse` does; callers must not pass that error's text on (it quotes the input).
 */
export function parseJsonText(text: string): unknown {
  return JSON.parse(text.replace(/^\uFEFF/, '')) as unknown;
}
