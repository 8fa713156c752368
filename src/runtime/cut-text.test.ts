import { describe, expect, it } from 'vitest';
import { cutText } from './cut-text.js';

/** Every piece of `secret` at least two characters long that `text` holds. */
const fragmentsOf = (secret: string, text: string): string[] => {
  const found: string[] = [];
  for (let from = 0; from < secret.length; from += 1) {
    for (let to = from + 2; to <= secret.length; to += 1) {
      if (text.includes(secret.slice(from, to))) found.push(secret.slice(from, to));
    }
  }
  return found;
};

describe('cutText', () => {
  const secret = 'Q7XK9ZPW3VNM5RJT';

  it.each([1, 2, 8, 15])('drops a secret the cut goes through %i characters in, whole', (into) => {
    const head = 'the upstream server said that the token ';
    const text = `${head}${secret} was refused for this call`;
    const cut = cutText(text, head.length + into);
    expect(fragmentsOf(secret, cut)).toEqual([]);
    expect(cut).toBe('the upstream server said that the token…');
  });

  it('keeps a text within the limit as it is', () => {
    const text = `exactly as long as the limit, ${secret}`;
    expect(cutText(text, text.length)).toBe(text);
    expect(cutText('short', 300)).toBe('short');
  });

  it('keeps every word before a cut that falls on whitespace', () => {
    expect(cutText('first second third', 12)).toBe('first second…');
    expect(cutText('first second third', 13)).toBe('first second…');
  });

  it('keeps only the mark of a text with no whitespace at all', () => {
    expect(cutText(`${secret}${secret}`, 20)).toBe('…');
  });

  it('never keeps half of a surrogate pair', () => {
    const text = `name ${'😀'.repeat(10)} rest`;
    // The ten emoji are code units 5 to 24: every cut among them drops them all.
    for (let at = 5; at < 25; at += 1) expect(cutText(text, at)).toBe('name…');
    expect(cutText(text, 25)).toBe(`name ${'😀'.repeat(10)}…`);
  });
});
