import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { integrationKinds, kindDefinition } from './registry.js';

/** The README table and the Helm NOTES list exactly the registered kinds (one list of kinds). */

const root = path.resolve(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(path.join(root, file), 'utf8');

function readmeKindRows(): string[][] {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Integration kinds and jobs'));
  const table = section.slice(0, section.indexOf('\n\n', section.indexOf('|')));
  return table
    .split('\n')
    .filter((line) => line.startsWith('| `'))
    .map((line) =>
      line
        .split('|')
        .slice(1, -1)
        .map((cell) => cell.trim()),
    );
}

describe('the kind lists in the docs', () => {
  it('README: one row per registered kind, with its summary and operations, in registry order', () => {
    const expected = integrationKinds.map((kind) => {
      const definition = kindDefinition(kind);
      return [`\`${kind}\``, definition.summary, definition.operations.join(', ')];
    });
    expect(readmeKindRows()).toEqual(expected);
  });

  it('Helm NOTES: names exactly the registered kinds, and doctor examples use only those', () => {
    const notes = read('helm/atlas-jit-connector/templates/NOTES.txt');
    const served = /Kinds this connector serves: ([^.\n]+)\./.exec(notes)?.[1]?.split(', ');
    expect(served).toEqual([...integrationKinds]);
    const named = [...notes.matchAll(/--kind ([a-z-]+)/g)].map((match) => match[1]);
    expect(named.filter((kind) => !integrationKinds.some((registered) => registered === kind))).toEqual([]);
  });
});
