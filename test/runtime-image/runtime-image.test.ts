// The container image's runtime stage, reproduced without Docker (scripts/reproduce-runtime.mjs)
// into a directory outside the repository, then run the way the image runs it: the Dockerfile's
// ENTRYPOINT + CMD, ENV and USER, a read-only application directory, and an environment that
// carries nothing from this process -- so a production dependency that only resolves from the
// repository's node_modules, or a file the daemon writes next to its code, fails here.
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  startReferenceControlPlane,
  type ReferenceControlPlane,
} from '../../src/sandbox/control-plane/reference-control-plane.js';
import { eventually } from '../e2e/daemon-process.js';
import {
  isRecord,
  spawnRuntime,
  treeChanges,
  treeSnapshot,
  waitForLog,
  type RuntimeProcess,
} from './runtime-process.js';
import { readRuntimeStage, repoRoot } from './runtime-stage.js';

const token = 'runtime-image-enrollment-token-7c31e0a4';
const stage = readRuntimeStage();
const runtimes: RuntimeProcess[] = [];
let controlPlane: ReferenceControlPlane | undefined;
let root = '';
let appDir = '';

/** Others (the image's USER) can reach `dir` only if every directory above it is searchable. */
function searchableByOthers(dir: string): boolean {
  for (let current = dir; ; current = dirname(current)) {
    if ((statSync(current).mode & 0o001) === 0) return false;
    if (dirname(current) === current) return true;
  }
}

/**
 * As root we can also drop to the image's numeric USER, which makes the read-only mode binding;
 * that user must reach both the scratch directory and this Node (one under root's home it cannot).
 */
const asImageUser = () =>
  process.getuid?.() === 0 &&
  stage.user !== undefined &&
  searchableByOthers(root) &&
  searchableByOthers(dirname(process.execPath)) &&
  (statSync(process.execPath).mode & 0o001) !== 0;

/** A fresh directory standing for the image's /tmp (the only writable path), owned by the runtime user. */
function scratchDir(name: string): string {
  const dir = mkdtempSync(join(root, `${name}-`));
  if (asImageUser() && stage.user) chownSync(dir, stage.user.uid, stage.user.gid);
  return dir;
}

function launch(dir: string, env: Record<string, string>): RuntimeProcess {
  const scratch = scratchDir(`${basename(dir)}-tmp-${runtimes.length}`);
  const runtime = spawnRuntime(stage, {
    appDir: dir,
    asImageUser: asImageUser(),
    env: {
      ...stage.env,
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: scratch,
      TMPDIR: scratch,
      NODE_PATH: '',
      ADMIN_PORT: '0',
      ADMIN_HOST: '127.0.0.1',
      ...env,
    },
  });
  runtimes.push(runtime);
  return runtime;
}

async function startControlPlane(): Promise<ReferenceControlPlane> {
  controlPlane = await startReferenceControlPlane({
    enrollmentToken: token,
    intervals: { heartbeatMs: 1_000, pollWaitMs: 2_000, leaseTtlMs: 5_000 },
    sweepIntervalMs: 100,
  });
  return controlPlane;
}

const remoteEnv = (cp: ReferenceControlPlane, connectorId: string) => ({
  CONTROL_PLANE_URL: cp.url,
  CONTROL_PLANE_TOKEN: token,
  CONNECTOR_ID: connectorId,
  DRAIN_TIMEOUT_SECONDS: '10',
});

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url);
  return { status: response.status, body: await response.text() };
}

const record = (value: unknown): Record<string, unknown> => (isRecord(value) ? value : {});
const readJson = (path: string): Record<string, unknown> => record(JSON.parse(readFileSync(path, 'utf8')));

beforeAll(async () => {
  // Under the system temp dir: outside the repository, with no node_modules above it (the script
  // refuses otherwise), so nothing can resolve from the repository's own dependencies.
  root = mkdtempSync(join(tmpdir(), 'atlas-runtime-image-'));
  chmodSync(root, 0o755);
  appDir = join(root, 'app');
  const script = join(repoRoot, 'scripts', 'reproduce-runtime.mjs');
  const { stdout } = await promisify(execFile)(process.execPath, [script, appDir], {
    cwd: repoRoot,
    maxBuffer: 16 * 1024 * 1024,
  });
  console.log(stdout.trim());
  // `readOnlyRootFilesystem`: the image's files belong to root and are not writable by its user.
  execFileSync('chmod', ['-R', 'a-w', appDir]);
}, 180_000);

afterEach(async () => {
  for (const runtime of runtimes) runtime.kill('SIGKILL');
  await Promise.all(runtimes.splice(0).map((runtime) => runtime.exited));
  await controlPlane?.close();
  controlPlane = undefined;
});

// Two copies of the runtime tree (~27k files) to make writable and delete: slow on a loaded machine.
afterAll(() => {
  if (!root || !existsSync(root)) return;
  execFileSync('chmod', ['-R', 'u+w', root]);
  rmSync(root, { recursive: true, force: true });
}, 120_000);

describe('the runtime image reproduced without Docker', () => {
  it('holds exactly the paths the runtime stage copies, with every production and no dev-only package', () => {
    const children = new Map<string, Set<string>>();
    for (const path of stage.copiedPaths) {
      const segments = path.split('/');
      segments.forEach((segment, i) => {
        const parent = segments.slice(0, i).join('/');
        children.set(parent, (children.get(parent) ?? new Set()).add(segment));
      });
    }
    for (const [parent, expected] of children) {
      expect(readdirSync(join(appDir, parent)).sort(), `entries of /${parent}`).toEqual([...expected].sort());
    }
    const manifest = readJson(join(repoRoot, 'package.json'));
    const lock = readJson(join(repoRoot, 'package-lock.json'));
    const installed = (name: string) => existsSync(join(appDir, 'node_modules', name, 'package.json'));
    const production = Object.keys(record(manifest.dependencies));
    expect(
      production.filter((name) => !installed(name)),
      'production packages missing',
    ).toEqual([]);
    const locked = record(lock.packages);
    const devOnly = Object.keys(record(manifest.devDependencies)).filter(
      (name) => record(locked[`node_modules/${name}`]).dev === true,
    );
    expect(devOnly.length).toBeGreaterThan(0);
    expect(devOnly.filter(installed), 'dev-only packages installed').toEqual([]);
  });

  it('becomes ready, runs a ping job and drains to exit 0 on SIGTERM from its read-only directory alone', async () => {
    const before = treeSnapshot(appDir);
    const cp = await startControlPlane();
    const daemon = launch(appDir, remoteEnv(cp, 'runtime-image'));
    const started = await waitForLog(
      daemon,
      (line) => line.msg === 'connector started',
      '"connector started"',
    );
    const admin = `http://127.0.0.1:${Number(started.adminPort)}`;

    expect((await get(`${admin}/livez`)).status).toBe(200);
    await eventually(async () => ((await get(`${admin}/readyz`)).status === 200 ? true : undefined));
    expect((await get(`${admin}/metrics`)).body).toContain('# TYPE');
    const jobId = cp.store.enqueueJob({ type: 'ping', payload: { echo: 'from the runtime image' } });
    const job = await eventually(() => {
      const current = cp.store.job(jobId);
      return current && !['queued', 'leased'].includes(current.state) ? current : undefined;
    });
    expect(job).toMatchObject({ state: 'succeeded', result: { echo: 'from the runtime image' } });

    daemon.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
    expect(daemon.logLines().map((line) => line.msg)).toContain('drained');
    expect(daemon.stdout() + daemon.stderr()).not.toContain(token);
    expect(treeChanges(before, treeSnapshot(appDir)), 'writes under the application directory').toEqual([]);
  });

  it('refuses to start without CONTROL_PLANE_URL (exit 78), naming the variable and the sandbox command', async () => {
    const daemon = launch(appDir, {});

    const exit = await daemon.exited;
    expect(exit).toEqual({ code: 78, signal: null });
    expect(daemon.stderr()).toContain('CONTROL_PLANE_URL is not set');
    expect(daemon.stderr()).toContain('use the "sandbox" command');
    expect(daemon.logLines().some((line) => line.msg === 'connector started')).toBe(false);
  });

  it('fails to start, naming the package, when a production dependency is missing', async () => {
    const broken = join(root, 'app-without-pino');
    const pino = join(appDir, 'node_modules', 'pino');
    expect(existsSync(pino)).toBe(true);
    cpSync(appDir, broken, { recursive: true, filter: (source) => source !== pino });
    const cp = await startControlPlane();
    const daemon = launch(broken, remoteEnv(cp, 'runtime-image-broken'));

    const exit = await daemon.exited;
    expect(exit.signal).toBeNull();
    expect(exit.code).not.toBe(0);
    expect(daemon.stderr()).toContain('ERR_MODULE_NOT_FOUND');
    expect(daemon.stderr()).toMatch(/Cannot find package 'pino'/);
    expect(daemon.logLines().some((line) => line.msg === 'connector started')).toBe(false);
    // Copying the runtime tree (~27k files) takes tens of seconds on a loaded machine.
  }, 120_000);
});
