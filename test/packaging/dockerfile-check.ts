import type { Problem } from './problem.js';

export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly line: number;
  readonly instructions: Instruction[];
}

/** Instructions with continuation lines joined and comments dropped, as Docker reads them. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trimEnd();
    if (/^\s*#/.test(line) || (pending === undefined && line.trim() === '')) return;
    const continued = line.endsWith('\\');
    const piece = continued ? line.slice(0, -1) : line;
    pending = pending
      ? { text: `${pending.text} ${piece.trim()}`, line: pending.line }
      : { text: piece, line: index + 1 };
    if (continued) return;
    const m = /^\s*(\S+)\s*(.*)$/.exec(pending.text);
    if (m?.[1])
      instructions.push({ keyword: m[1].toUpperCase(), args: (m[2] ?? '').trim(), line: pending.line });
    pending = undefined;
  });
  return instructions;
}

function substitute(text: string, args: ReadonlyMap<string, string>): string {
  return text.replace(
    /\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g,
    (_, braced: string, fallback: string, bare: string) => {
      return args.get(braced ?? bare) ?? fallback ?? '';
    },
  );
}

/** Stages with their base image, global ARG defaults substituted. */
export function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const globalArgs = new Map<string, string>();
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const image = substitute(words[0] ?? '', globalArgs);
      const name = words[1]?.toUpperCase() === 'AS' ? words[2] : undefined;
      stages.push({ image, name, line: instruction.line, instructions: [] });
    } else if (stages.length === 0 && instruction.keyword === 'ARG') {
      const m = /^(\w+)(?:=(.*))?$/.exec(instruction.args);
      if (m?.[1]) globalArgs.set(m[1], substitute((m[2] ?? '').replace(/^"(.*)"$/, '$1'), globalArgs));
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

/**
 * Why a base image reference is not pinned, or undefined when it is. Pinned means a digest, or a
 * tag carrying a full x.y.z version. Distroless publishes no version tags: a variant tag such as
 * `nonroot` is accepted when the repository name itself carries the runtime version
 * (`nodejs24-debian13`), and release builds add the digest.
 */
export function unpinnedReason(image: string): string | undefined {
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return undefined;
  const slash = image.lastIndexOf('/');
  const colon = image.indexOf(':', slash + 1);
  if (colon < 0) return 'has no tag (implicitly :latest)';
  const repository = image.slice(slash + 1, colon);
  const tag = image.slice(colon + 1);
  if (/^(latest|lts|current|stable)(-|$)/.test(tag)) return `uses the floating tag "${tag}"`;
  if (/^\d/.test(tag)) {
    return /^\d+\.\d+\.\d+(-|$)/.test(tag) ? undefined : `tag "${tag}" floats (pin a full x.y.z version)`;
  }
  return /\d/.test(repository) ? undefined : `tag "${tag}" carries no version`;
}

/** Source paths of a COPY/ADD (every word but the flags and the destination). */
export function copySources(instruction: Instruction): string[] {
  return instruction.args
    .split(/\s+/)
    .filter((word) => !word.startsWith('--'))
    .slice(0, -1);
}

function isExecForm(args: string): boolean {
  try {
    const parsed: unknown = JSON.parse(args);
    return Array.isArray(parsed) && parsed.length > 0 && parsed.every((item) => typeof item === 'string');
  } catch {
    return false;
  }
}

function runtimeStageProblems(stage: Stage, problem: (line: number, message: string) => void): void {
  const last = (keyword: string) => stage.instructions.filter((i) => i.keyword === keyword).at(-1);
  const user = last('USER');
  if (!user) problem(stage.line, 'the runtime stage sets no USER (it would run as root)');
  else if (!/^\d+(:\d+)?$/.test(user.args)) {
    problem(user.line, `USER "${user.args}" must be numeric (uid:gid) so runAsNonRoot can verify it`);
  } else if (/^0(:|$)/.test(user.args)) problem(user.line, 'USER must not be 0 (root)');
  const entrypoint = last('ENTRYPOINT');
  if (!entrypoint) problem(stage.line, 'the runtime stage has no ENTRYPOINT');
  for (const instruction of [entrypoint, last('CMD')]) {
    if (instruction && !isExecForm(instruction.args)) {
      problem(
        instruction.line,
        `${instruction.keyword} must use the exec form (a JSON array), not a shell string`,
      );
    }
  }
  const env = stage.instructions.filter((i) => i.keyword === 'ENV').map((i) => i.args);
  if (!env.some((args) => /(^|\s)NODE_ENV=("?)production\2(\s|$)/.test(args))) {
    problem(stage.line, 'the runtime stage does not set NODE_ENV=production');
  }
  for (const copy of stage.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')) {
    if (copy.keyword === 'ADD') problem(copy.line, 'use COPY, not ADD, in the runtime stage');
    else if (!copy.args.includes('--from=') && copySources(copy).some((source) => /^\.\/?$/.test(source))) {
      problem(copy.line, 'the runtime stage copies the whole build context');
    }
  }
}

/** The Dockerfile's packaging rules; see the module's tests for what each one catches. */
export function checkDockerfile(text: string, file = 'Dockerfile'): Problem[] {
  const problems: Problem[] = [];
  const problem = (line: number, message: string) =>
    problems.push({ check: 'dockerfile', file, line, message });
  const instructions = parseDockerfile(text);
  const stages = stagesOf(instructions);
  const runtime = stages.at(-1);
  if (!runtime) return [{ check: 'dockerfile', file, message: 'no FROM instruction' }];
  if (stages.length < 2) problem(runtime.line, 'not a multi-stage build');
  const stageNames = new Set(stages.map((stage) => stage.name).filter((name) => name !== undefined));
  for (const stage of stages) {
    const reason = stageNames.has(stage.image) ? undefined : unpinnedReason(stage.image);
    if (reason) problem(stage.line, `base image "${stage.image}" ${reason}`);
  }
  if (!instructions.some((i) => i.keyword === 'RUN' && /\bnpm ci\b.*--omit=dev/.test(i.args))) {
    problem(1, 'no stage installs production dependencies with `npm ci --omit=dev`');
  }
  runtimeStageProblems(runtime, problem);
  return problems;
}

/** Sources the runtime (last) stage copies, e.g. `prod-deps:/app/node_modules` or `package.json`. */
export function runtimeCopySources(text: string): string[] {
  const runtime = stagesOf(parseDockerfile(text)).at(-1);
  return (runtime?.instructions ?? [])
    .filter((i) => i.keyword === 'COPY')
    .flatMap((i) => {
      const from = /(?:^|\s)--from=(\S+)/.exec(i.args)?.[1];
      return copySources(i).map((path) => (from ? `${from}:${path}` : path));
    });
}
