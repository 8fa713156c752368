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

describe('what the docs quote from the code', () => {
  const sources = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true, recursive: true })
      .filter((entry) => entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts'))
      .map((entry) => read(join(entry.parentPath.slice(root.length + 1), entry.name)));

  it('every log message of operations.md’s troubleshooting table is one the daemon logs', () => {
    const code = sources('src').join('\n');
    const section =
      read('docs/operations.md').split('## Troubleshooting by log message')[1]?.split('\n## ')[0] ?? '';
    const quoted = section
      .split('\n')
      .filter((line) => line.startsWith('| `'))
      .flatMap((line) => (line.split('|')[1] ?? '').split(' / '))
      .map((part) => /^\s*`([^`]+)`/.exec(part)?.[1] ?? '');
    expect(quoted.length).toBeGreaterThan(20);
    // As the start of a string literal, not merely somewhere in a comment.
    expect(
      quoted.filter((message) => !["'", '"', '`'].some((quote) => code.includes(quote + message))),
    ).toEqual([]);
  });

  it('every warn, error and fatal line the daemon logs is in operations.md’s troubleshooting table', () => {
    // The other way round from the test above: a warning an operator finds in the logs and not in
    // the table is one nobody told them how to read. A call whose message is a variable (a
    // registration's, picked from constants the table quotes) is not checked; nor is the sandbox's.
    const section =
      read('docs/operations.md').split('## Troubleshooting by log message')[1]?.split('\n## ')[0] ?? '';
    const daemon = readdirSync(join(root, 'src'), { withFileTypes: true, recursive: true }).filter(
      (entry) =>
        entry.isFile() &&
        entry.name.endsWith('.ts') &&
        !entry.name.endsWith('.test.ts') &&
        !entry.parentPath.startsWith(join(root, 'src/sandbox')),
    );
    const messages = daemon.flatMap((entry) => {
      const code = readFileSync(join(entry.parentPath, entry.name), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/^\s*\/\/.*$/gm, '');
      return [...code.matchAll(/\b(?:log|logger)\s*(?:\.(?:warn|error|fatal)|\[[^\]]+\])\s*\(/g)].flatMap(
        (call) => {
          let end = (call.index ?? 0) + call[0].length;
          for (let depth = 1; depth > 0 && end < code.length; end += 1)
            depth += code[end] === '(' ? 1 : code[end] === ')' ? -1 : 0;
          const args = code.slice((call.index ?? 0) + call[0].length, end - 1);
          const last = /'([^']+)',?\s*$/.exec(args)?.[1];
          return last === undefined || last.startsWith('sandbox ') ? [] : [last];
        },
      );
    });
    expect(messages.length).toBeGreaterThan(20);
    expect([...new Set(messages.filter((message) => !section.includes(`\`${message}\``)))].sort()).toEqual(
      [],
    );
  });

  it('the README’s environment table lists every variable env.ts reads, with .env.example’s default', () => {
    const example = new Map(
      read('.env.example')
        .split('\n')
        .filter((line) => /^[A-Z][A-Z0-9_]*=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const rows = [...read('README.md').matchAll(/^\| `([A-Z][A-Z0-9_]*)` \| (?:`([^`]*)`|—) \|/gm)].map(
      (match) => [match[1] ?? '', match[2] ?? ''] as const,
    );
    expect(rows.map(([name]) => name).sort()).toEqual([...example.keys()].sort());
    expect(rows.filter(([name, shown]) => example.get(name) !== shown)).toEqual([]);
  });
});
