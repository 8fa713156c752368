// `.ci/promtool` is best effort: CI runs it under `set -e` (`.ci/run`), so any failure of it would
// fail the build, though the alert evaluations it feeds are optional and skipped without it.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../..');
const run = promisify(execFile);
const scratch = mkdtempSync(join(tmpdir(), 'ci-promtool-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('.ci/promtool', () => {
  it('prints nothing and exits 0 where it cannot get a promtool, even without HOME', async () => {
    // Only bash on PATH: no promtool, no apt-get; and no HOME (a runner started with `env -i`).
    symlinkSync('/bin/bash', join(scratch, 'bash'));
    const { stdout } = await run(join(root, '.ci/promtool'), [], { env: { PATH: scratch } });
    expect(stdout).toBe('');
  });
});
