import path from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The import-boundary lint rules fire where they should, and only there. */

const root = path.resolve(import.meta.dirname, '../..');
const eslint = new ESLint({ cwd: root });

async function boundaryErrors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(root, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('import boundaries', () => {
  it.each([
    { file: 'src/worker/x.ts', from: '../adapters/registry.js' },
    { file: 'src/atlas/x.ts', from: '../adapters/adapter.js' },
    { file: 'src/atlas/auth/x.ts', from: '../../worker/job-context.js' },
    { file: 'src/atlas/x.ts', from: '../secrets/secret-resolver.js' },
    { file: 'src/atlas/x.ts', from: '../sandbox/atlas/index.js' },
    { file: 'src/adapters/database-access/grant/x.ts', from: '../../../sandbox/atlas/index.js' },
  ])('refuses $from in $file', async ({ file, from }) => {
    const errors = await boundaryErrors(file, `import { x } from '${from}';\nexport const y = x;\n`);
    expect(errors).toHaveLength(1);
  });

  it.each([
    { file: 'src/adapters/x.ts', from: '../atlas/index.js' },
    { file: 'src/worker/x.ts', from: '../runtime/clock.js' },
    { file: 'src/adapters/x.test.ts', from: '../sandbox/atlas/index.js' },
  ])('allows $from in $file', async ({ file, from }) => {
    expect(await boundaryErrors(file, `import { x } from '${from}';\nexport const y = x;\n`)).toEqual([]);
  });
});
