import type { Problem } from './problem.js';
import { copySources, parseDockerfile } from './dockerfile-check.js';

interface Rule {
  readonly regex: RegExp;
  readonly exclude: boolean;
}

function toRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i += 1) {
    const ch = pattern[i] ?? '';
    if (pattern.startsWith('**/', i)) {
      source += '(?:.*/)?';
      i += 2;
    } else if (pattern.startsWith('**', i)) {
      source += '.*';
      i += 1;
    } else if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/**
 * A `.dockerignore` as Docker applies it: patterns in order, the last one that matches a path
 * (or one of its parent directories) decides, and `!` re-includes.
 */
export class DockerIgnore {
  private readonly rules: Rule[];

  constructor(text: string) {
    this.rules = text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('#'))
      .map((line) => {
        const exclude = !line.startsWith('!');
        const pattern = (exclude ? line : line.slice(1)).trim().replace(/^\/+/, '').replace(/\/+$/, '');
        return { regex: toRegex(pattern), exclude };
      });
  }

  /** Whether the file at this context-relative path is left out of the build context. */
  ignores(path: string): boolean {
    const parts = path.split('/');
    const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of this.rules) {
      if (candidates.some((candidate) => rule.regex.test(candidate))) ignored = rule.exclude;
    }
    return ignored;
  }
}

/** Paths that must never reach the build context, with a sample file under each. */
export const mustExclude: readonly string[] = [
  '.env',
  '.env.production',
  '.git/HEAD',
  'test/setup.ts',
  'node_modules/zod/package.json',
  'dist/src/cli.js',
  'coverage/index.html',
  'bench/run.ts',
  'helm/atlas-jit-connector/values.yaml',
  'docs/operations.md',
  'src/config/env.test.ts',
];

/** Files the build needs, which must stay in the context. */
export const mustInclude: readonly string[] = [
  'package.json',
  'package-lock.json',
  '.npmrc',
  'tsconfig.json',
  'tsconfig.build.json',
  'src/cli.ts',
  'src/config/env.ts',
];

export function checkDockerignore(
  ignoreText: string,
  dockerfileText: string,
  file = '.dockerignore',
): Problem[] {
  const ignore = new DockerIgnore(ignoreText);
  const problems: Problem[] = [];
  for (const path of mustExclude) {
    if (!ignore.ignores(path))
      problems.push({ check: 'dockerignore', file, message: `does not exclude ${path}` });
  }
  for (const path of mustInclude) {
    if (ignore.ignores(path))
      problems.push({ check: 'dockerignore', file, message: `excludes ${path}, which the build needs` });
  }
  for (const instruction of parseDockerfile(dockerfileText)) {
    if (instruction.keyword !== 'COPY' || instruction.args.includes('--from=')) continue;
    for (const source of copySources(instruction)) {
      if (ignore.ignores(source.replace(/^\.\//, '').replace(/\/$/, ''))) {
        problems.push({
          check: 'dockerignore',
          file,
          message: `excludes ${source}, which the Dockerfile copies (line ${instruction.line})`,
        });
      }
    }
  }
  return problems;
}
