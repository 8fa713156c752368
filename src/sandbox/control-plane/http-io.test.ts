import { describe, expect, it } from 'vitest';
import { isConnectorError } from '../../errors/connector-error.js';
import { jsonValue, maxJsonDepth } from './http-io.js';

/** `levels` arrays, one inside the other. */
function nested(levels: number): string {
  return `${'['.repeat(levels)}${']'.repeat(levels)}`;
}

function refusal(text: string): string | undefined {
  try {
    jsonValue(Buffer.from(text));
    return undefined;
  } catch (error) {
    return isConnectorError(error)
      ? `${String(error.details.httpStatus)} ${error.message}`
      : 'not a ConnectorError';
  }
}

describe('jsonValue nesting limit', () => {
  it.each([
    ['an object holding the deepest field allowed', `{"result":${nested(maxJsonDepth - 1)}}`, undefined],
    [
      'a field one level deeper',
      `{"result":${nested(maxJsonDepth)}}`,
      '400 result: nested deeper than 64 levels',
    ],
    ['a top-level array too deep', nested(maxJsonDepth + 1), '400 body: nested deeper than 64 levels'],
  ])('%s', (_name, text, expected) => {
    expect(refusal(text)).toBe(expected);
  });
});
