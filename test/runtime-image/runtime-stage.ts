import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { copySources, parseDockerfile, stagesOf, type Instruction } from '../packaging/dockerfile-check.js';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

/** What the Dockerfile's runtime (last) stage says about how the image runs. */
export interface RuntimeStage {
  /** The image's working directory, e.g. `/app`: the reproduction directory stands for it. */
  readonly workdir: string;
  /** Paths below the workdir that the stage's COPY lines create, e.g. `dist/src`. */
  readonly copiedPaths: readonly string[];
  /** ENTRYPOINT followed by CMD, as written (image paths). */
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  /** Numeric USER, when set. */
  readonly user: { readonly uid: number; readonly gid: number } | undefined;
}

function execForm(instruction: Instruction | undefined): string[] {
  if (!instruction) return [];
  const parsed: unknown = JSON.parse(instruction.args);
  if (!Array.isArray(parsed) || !parsed.every((word) => typeof word === 'string')) {
    throw new Error(`line ${instruction.line}: ${instruction.keyword} is not an exec-form array`);
  }
  return parsed;
}

/** `ENV A=1 B="two"` (the key=value form; the Dockerfile uses no other). */
function envOf(instructions: readonly Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const instruction of instructions.filter((i) => i.keyword === 'ENV')) {
    for (const match of instruction.args.matchAll(/(\w+)=("([^"]*)"|\S*)/g)) {
      env[match[1]!] = match[3] ?? match[2]!;
    }
  }
  return env;
}

export function readRuntimeStage(dockerfile = `${repoRoot}/Dockerfile`): RuntimeStage {
  const runtime = stagesOf(parseDockerfile(readFileSync(dockerfile, 'utf8'))).at(-1);
  if (!runtime) throw new Error(`${dockerfile} has no stages`);
  let workdir = '/';
  const copiedPaths: string[] = [];
  for (const instruction of runtime.instructions) {
    if (instruction.keyword === 'WORKDIR') workdir = posix.resolve(workdir, instruction.args);
    if (instruction.keyword !== 'COPY') continue;
    const sources = copySources(instruction);
    const dest = instruction.args.split(/\s+/).at(-1) ?? '';
    const intoDirectory = sources.length > 1 || dest.endsWith('/');
    for (const source of sources) {
      const target = posix.resolve(workdir, dest, intoDirectory ? posix.basename(source) : '');
      copiedPaths.push(posix.relative(workdir, target));
    }
  }
  const last = (keyword: string) => runtime.instructions.filter((i) => i.keyword === keyword).at(-1);
  const user = /^(\d+)(?::(\d+))?$/.exec(last('USER')?.args ?? '');
  return {
    workdir,
    copiedPaths,
    command: [...execForm(last('ENTRYPOINT')), ...execForm(last('CMD'))],
    env: envOf(runtime.instructions),
    user: user ? { uid: Number(user[1]), gid: Number(user[2] ?? user[1]) } : undefined,
  };
}
