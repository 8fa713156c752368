import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { shortHash, usernameFor } from '../../src/adapters/database-access/model/user-model.js';

const root = join(import.meta.dirname, '../..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');
const markdownFiles = ['README.md', ...readdirSync(join(root, 'docs')).map((name) => `docs/${name}`)].filter(
  (file) => file.endsWith('.md'),
);

/** GitHub's heading anchor: lower-cased, punctuation dropped, spaces to dashes; repeats get `-1`, `-2`… */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let inCode = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) inCode = !inCode;
    const heading = inCode ? undefined : /^#{1,6}\s+(.*)$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug);
    seen.set(slug, (count ?? -1) + 1);
    anchors.add(count === undefined ? slug : `${slug}-${count + 1}`);
  }
  return anchors;
}

describe('links between the docs', () => {
  it('every relative link names an existing file and, with #anchor, one of its headings', () => {
    const broken: string[] = [];
    for (const file of markdownFiles) {
      for (const match of read(file).matchAll(/\]\(([^)\s]+)\)/g)) {
        const link = match[1] ?? '';
        if (/^[a-z]+:/.test(link)) continue;
        const [target = '', anchor] = link.split('#');
        const path = target === '' ? file : normalize(join(dirname(file), target));
        if (!existsSync(join(root, path))) broken.push(`${file}: ${link} (no such file)`);
        else if (anchor !== undefined && path.endsWith('.md') && !anchorsOf(read(path)).has(anchor))
          broken.push(`${file}: ${link} (no such heading)`);
      }
    }
    expect(broken).toEqual([]);
  });
});

describe('the usernames the docs show', () => {
  // Each doc's example requester: its per-requester usernames must be the ones usernameFor computes.
  const examples = [
    { file: 'README.md', requester: { id: 'bob', email: 'bob@example.com' } },
    { file: 'README.md', requester: { id: 'sandbox-user-alice', email: 'alice@example.com' } },
    { file: 'README.md', requester: { id: 'sandbox-user-dora', email: 'dora@example.com' } },
    { file: 'docs/database-access.md', requester: { id: 'u-123', email: 'alice@example.com' } },
    { file: 'docs/deep-discovery.md', requester: { id: 'sandbox-user-dora', email: 'dora@example.com' } },
    { file: 'docs/discovery-and-sweep.md', requester: { id: 'req-alice', email: 'alice@example.com' } },
  ];

  it.each(examples)('$file: $requester.id', ({ file, requester }) => {
    const perRequester = usernameFor('per-requester', requester);
    const prefix = perRequester.slice(0, perRequester.lastIndexOf('-') + 1);
    const shown = [...read(file).matchAll(new RegExp(`${prefix}[0-9a-f]{4}(?:-c-[0-9a-f]{8})?`, 'g'))].map(
      (match) => match[0],
    );
    expect(shown.length).toBeGreaterThan(0);
    const cluster = `-c-${shortHash('Cluster0', 8)}`;
    expect(shown.filter((name) => name !== perRequester && name !== `${perRequester}${cluster}`)).toEqual([]);
  });
});
