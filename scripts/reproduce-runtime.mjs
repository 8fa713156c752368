#!/usr/bin/env node
// Reproduces the Dockerfile's runtime stage as a plain directory, for machines without a Docker
// engine:
//
//   npm run build && node scripts/reproduce-runtime.mjs <outDir>
//
// <outDir> then stands for the image's WORKDIR (/app). The list of what goes in is read from the
// runtime stage's COPY lines, so a Dockerfile change is mirrored here or fails loudly:
//   - a file copied from the build context is copied from the repository;
//   - `node_modules` copied from a stage that runs `npm ci` is installed the way that stage does it
//     (its own COPY lines into a scratch directory, then the same `npm ci` flags plus
//     --prefer-offline), so only what that stage would install ends up here;
//   - anything else copied from a stage that runs `npm run build` is taken from this checkout's
//     build output, which must exist (npm test builds first).
// Anything else is refused rather than guessed.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { dirname, isAbsolute, join, posix, relative, resolve } from 'node:path';
import process from 'node:process';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('..', import.meta.url));

class ReproductionError extends Error {}

/** Instructions with continuation lines joined and comments dropped, as Docker reads them. */
function instructionsOf(text) {
  const instructions = [];
  let pending = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw) || (pending === '' && raw.trim() === '')) continue;
    const line = raw.trimEnd();
    pending += pending === '' ? line : ` ${line.trim()}`;
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1).trimEnd();
      continue;
    }
    const match = /^\s*(\S+)\s*(.*)$/.exec(pending);
    if (match) instructions.push({ keyword: match[1].toUpperCase(), args: match[2].trim() });
    pending = '';
  }
  return instructions;
}

/** Stages by name (and index), each with its instructions and WORKDIR as of its end. */
function stagesOf(instructions) {
  const stages = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((word) => !word.startsWith('--'));
      const name = words[1]?.toUpperCase() === 'AS' ? words[2] : String(stages.length);
      stages.push({ name, workdir: '/', instructions: [] });
    } else if (stages.length > 0) {
      const stage = stages.at(-1);
      stage.instructions.push({ ...instruction, workdir: stage.workdir });
      if (instruction.keyword === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, instruction.args);
    }
  }
  if (stages.length === 0) throw new ReproductionError('the Dockerfile has no FROM instruction');
  return stages;
}

function parseCopy(instruction) {
  const words = instruction.args.split(/\s+/);
  const from = words.find((word) => word.startsWith('--from='))?.slice('--from='.length);
  const rest = words.filter((word) => !word.startsWith('--')).join(' ');
  const paths = rest.startsWith('[') ? JSON.parse(rest) : rest.split(/\s+/);
  if (paths.length < 2) throw new ReproductionError(`cannot read "COPY ${instruction.args}"`);
  const sources = paths.slice(0, -1);
  const glob = sources.find((source) => /[*?[]/.test(source));
  if (glob) throw new ReproductionError(`COPY source "${glob}" is a pattern; list the paths instead`);
  return { from, sources, dest: paths.at(-1), workdir: instruction.workdir };
}

/** Where each COPY source lands, as a path relative to `root` (Docker's rules for a trailing /). */
function destinations(copy, root) {
  const intoDirectory = copy.sources.length > 1 || copy.dest.endsWith('/');
  return copy.sources.map((source) => {
    const target = posix.resolve(copy.workdir, copy.dest, intoDirectory ? posix.basename(source) : '');
    const inside = posix.relative(root, target);
    if (inside === '' || inside.startsWith('..')) {
      throw new ReproductionError(
        `COPY ${source} to ${target}: only paths below the WORKDIR ${root} are reproduced`,
      );
    }
    return { source, target: inside };
  });
}

function npmCiArgs(stage) {
  for (const instruction of stage.instructions) {
    if (instruction.keyword !== 'RUN') continue;
    const match = /\bnpm\s+ci\b([^&;|]*)/.exec(instruction.args);
    if (match) return ['ci', ...match[1].trim().split(/\s+/).filter(Boolean)];
  }
  return undefined;
}

const runsBuild = (stage) =>
  stage.instructions.some((i) => i.keyword === 'RUN' && /\bnpm\s+run\s+build\b/.test(i.args));

/** What to do for each runtime COPY source: copy from the repository, or install like a stage. */
function planFor(stages) {
  const byName = new Map(stages.map((stage) => [stage.name, stage]));
  const runtime = stages.at(-1);
  const plan = [];
  for (const instruction of runtime.instructions.filter((i) => i.keyword === 'COPY')) {
    const copy = parseCopy(instruction);
    for (const { source, target } of destinations(copy, runtime.workdir)) {
      if (copy.from === undefined) {
        plan.push({ kind: 'copy', from: posix.normalize(source), target, origin: 'build context' });
        continue;
      }
      const stage = byName.get(copy.from);
      if (!stage) throw new ReproductionError(`COPY --from=${copy.from}: not a stage of this Dockerfile`);
      const path = posix.relative(stage.workdir, posix.resolve(stage.workdir, source));
      const ci = npmCiArgs(stage);
      if (path === 'node_modules' && ci) plan.push({ kind: 'install', stage, ci, target });
      else if (!path.startsWith('..') && runsBuild(stage)) {
        plan.push({ kind: 'copy', from: path, target, origin: `stage ${stage.name} (npm run build)` });
      } else {
        throw new ReproductionError(
          `COPY --from=${copy.from} ${source}: no way to reproduce it; teach scripts/reproduce-runtime.mjs`,
        );
      }
    }
  }
  return plan;
}

function requireInRepo(path, origin) {
  if (existsSync(join(repoRoot, path))) return;
  const hint = origin.includes('npm run build') ? ': run `npm run build` first (npm test does)' : '';
  throw new ReproductionError(`${path} is missing from ${repoRoot} (needed from ${origin})${hint}`);
}

/** The built entry point the image starts, e.g. dist/src/cli.js from ENTRYPOINT /app/dist/src/cli.js. */
function entryPointFiles(runtime) {
  const entrypoint = runtime.instructions.filter((i) => i.keyword === 'ENTRYPOINT').at(-1);
  if (!entrypoint?.args.startsWith('[')) return [];
  return JSON.parse(entrypoint.args)
    .filter((word) => word.startsWith(`${runtime.workdir}/`))
    .map((word) => posix.relative(runtime.workdir, word));
}

/** Runs a stage's own context COPYs and `npm ci` in a scratch directory; returns its node_modules. */
function install(step, scratchParent) {
  const scratch = mkdtempSync(join(scratchParent, `.reproduce-${step.stage.name}-`));
  try {
    for (const instruction of step.stage.instructions.filter((i) => i.keyword === 'COPY')) {
      const copy = parseCopy(instruction);
      if (copy.from !== undefined)
        throw new ReproductionError(`stage ${step.stage.name} copies from a stage`);
      for (const { source, target } of destinations(copy, step.stage.workdir)) {
        requireInRepo(posix.normalize(source), `stage ${step.stage.name}`);
        cpSync(join(repoRoot, source), join(scratch, target), { recursive: true });
      }
    }
    const args = step.ci.includes('--prefer-offline') ? step.ci : [...step.ci, '--prefer-offline'];
    process.stdout.write(`stage ${step.stage.name}: npm ${args.join(' ')}\n`);
    // npm's lifecycle variables (npm test → this script) describe the repository, not the scratch dir.
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([key]) => !/^(npm_(lifecycle|package)_|npm_config_local_prefix$)/.test(key),
      ),
    );
    const result = spawnSync('npm', args, { cwd: scratch, env, stdio: ['ignore', 'inherit', 'inherit'] });
    if (result.error) throw new ReproductionError(`npm could not be started: ${result.error.message}`);
    if (result.status !== 0) throw new ReproductionError(`npm ${args.join(' ')} exited ${result.status}`);
    return { scratch, nodeModules: join(scratch, 'node_modules') };
  } catch (error) {
    rmSync(scratch, { recursive: true, force: true });
    throw error;
  }
}

function sizeOf(path) {
  const stats = lstatSync(path);
  if (!stats.isDirectory()) return { bytes: stats.size, files: 1 };
  let total = { bytes: 0, files: 0 };
  for (const entry of readdirSync(path)) {
    const inner = sizeOf(join(path, entry));
    total = { bytes: total.bytes + inner.bytes, files: total.files + inner.files };
  }
  return total;
}

const humanSize = (bytes) =>
  bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 / 1024).toFixed(1)} MiB`;

/** A directory with node_modules above outDir would hide a dependency missing from outDir. */
function checkOutDir(outDir) {
  if (existsSync(outDir) && readdirSync(outDir).length > 0) {
    throw new ReproductionError(`${outDir} is not empty`);
  }
  for (let dir = dirname(outDir); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'node_modules'))) {
      throw new ReproductionError(
        `${join(dir, 'node_modules')} is above ${outDir}: a package missing from the reproduction would ` +
          'resolve from there; choose a directory outside the repository (e.g. under the system temp dir)',
      );
    }
    if (dirname(dir) === dir) return;
  }
}

function reproduce(outDir) {
  checkOutDir(outDir);
  const stages = stagesOf(instructionsOf(readFileSync(join(repoRoot, 'Dockerfile'), 'utf8')));
  const plan = planFor(stages);
  for (const file of entryPointFiles(stages.at(-1))) requireInRepo(file, 'the ENTRYPOINT; npm run build');
  for (const step of plan) if (step.kind === 'copy') requireInRepo(step.from, step.origin);
  mkdirSync(outDir, { recursive: true });
  for (const step of plan) {
    const target = join(outDir, ...step.target.split('/'));
    mkdirSync(dirname(target), { recursive: true });
    if (step.kind === 'copy') {
      cpSync(join(repoRoot, step.from), target, { recursive: true });
      continue;
    }
    const { scratch, nodeModules } = install(step, dirname(outDir));
    renameSync(nodeModules, target);
    rmSync(scratch, { recursive: true, force: true });
  }
  const lines = plan.map((step) => {
    const { bytes, files } = sizeOf(join(outDir, ...step.target.split('/')));
    return `  ${step.target.padEnd(24)} ${humanSize(bytes).padStart(10)}  ${files} files`;
  });
  const total = sizeOf(outDir);
  process.stdout.write(
    `runtime stage reproduced in ${outDir}: ${humanSize(total.bytes)} in ${total.files} files\n` +
      `${lines.join('\n')}\n`,
  );
}

const [outArg, ...extra] = process.argv.slice(2);
if (!outArg || extra.length > 0) {
  process.stderr.write('usage: node scripts/reproduce-runtime.mjs <outDir>\n');
  process.exitCode = 2;
} else {
  try {
    const outDir = resolve(outArg);
    const fromRepo = relative(repoRoot, outDir);
    if (fromRepo === '' || !(fromRepo.startsWith('..') || isAbsolute(fromRepo))) {
      throw new ReproductionError(`${outDir} is inside the repository; choose a directory outside it`);
    }
    reproduce(outDir);
  } catch (error) {
    if (!(error instanceof ReproductionError)) throw error;
    process.stderr.write(`reproduce-runtime: ${error.message}\n`);
    process.exitCode = 1;
  }
}
