import { spawn } from 'node:child_process';
import { lstatSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import { eventually } from '../e2e/daemon-process.js';
import type { RuntimeStage } from './runtime-stage.js';

export interface RuntimeProcess {
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** JSON log lines printed on stdout so far. */
  readonly logLines: () => Record<string, unknown>[];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill(signal: NodeJS.Signals): void;
}

export interface RuntimeLaunch {
  /** The reproduction directory, standing for the image's WORKDIR. */
  readonly appDir: string;
  /** The complete environment: nothing is inherited from the test process. */
  readonly env: Readonly<Record<string, string>>;
  /** Run as the stage's USER (possible only when the test runs as root). */
  readonly asImageUser: boolean;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Starts the image's ENTRYPOINT + CMD from the reproduction: the image's node becomes this node,
 * and paths below the image's WORKDIR become paths below `appDir`, which is also the cwd.
 */
export function spawnRuntime(stage: RuntimeStage, launch: RuntimeLaunch): RuntimeProcess {
  const [, ...args] = stage.command.map((word) =>
    word.startsWith(`${stage.workdir}/`)
      ? join(launch.appDir, ...posix.relative(stage.workdir, word).split('/'))
      : word,
  );
  const user = launch.asImageUser ? stage.user : undefined;
  const child = spawn(process.execPath, args, {
    cwd: launch.appDir,
    env: launch.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(user ? { uid: user.uid, gid: user.gid } : {}),
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  child.stdout.on('data', (data: Buffer) => stdout.push(data.toString('utf8')));
  child.stderr.on('data', (data: Buffer) => stderr.push(data.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const logLines = () =>
    stdout
      .join('')
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .flatMap((line) => {
        try {
          const parsed: unknown = JSON.parse(line);
          return isRecord(parsed) ? [parsed] : [];
        } catch {
          return []; // a line cut off mid-write; it is complete on the next poll
        }
      });
  return {
    stdout: () => stdout.join(''),
    stderr: () => stderr.join(''),
    logLines,
    exited,
    kill: (signal) => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    },
  };
}

/** Waits for a log line; fails at once, with the output, if the process exits first. */
export async function waitForLog(
  runtime: RuntimeProcess,
  predicate: (line: Record<string, unknown>) => boolean,
  what: string,
): Promise<Record<string, unknown>> {
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void runtime.exited.then((status) => (exit = status));
  return eventually(
    () => {
      const line = runtime.logLines().find(predicate);
      if (line || !exit) return line;
      throw new Error(
        `the daemon exited (${JSON.stringify(exit)}) before logging ${what}; ` +
          `stdout:\n${runtime.stdout().slice(-3000)}\nstderr:\n${runtime.stderr().slice(-3000)}`,
      );
    },
    20_000,
    what,
  );
}

/** Every entry below `dir` with its type, mode, size and mtime: any write under `dir` changes it. */
export function treeSnapshot(dir: string): Map<string, string> {
  const entries = new Map<string, string>();
  const walk = (relative: string): void => {
    const stats = lstatSync(join(dir, relative));
    const kind = stats.isDirectory() ? 'dir' : stats.isSymbolicLink() ? 'link' : 'file';
    entries.set(relative || '.', `${kind} ${stats.mode.toString(8)} ${stats.size} ${stats.mtimeMs}`);
    if (stats.isDirectory()) {
      for (const name of readdirSync(join(dir, relative))) walk(relative ? `${relative}/${name}` : name);
    }
  };
  walk('');
  return entries;
}

/** Entries added, removed or changed between two snapshots, e.g. `+ node_modules/.cache`. */
export function treeChanges(before: Map<string, string>, after: Map<string, string>): string[] {
  const changes: string[] = [];
  for (const [path, stat] of after) {
    if (!before.has(path)) changes.push(`+ ${path}`);
    else if (before.get(path) !== stat) changes.push(`~ ${path}: ${before.get(path)} -> ${stat}`);
  }
  for (const path of before.keys()) if (!after.has(path)) changes.push(`- ${path}`);
  return changes;
}
