// `.ci/promtool` and `.ci/node-image` are best effort: CI runs them under `set -e` (`.ci/run`), so
// any failure of theirs would fail the build, though what they feed (the alert evaluations, the
// second run on the image's Node) is optional and said to be skipped without them.
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

symlinkSync('/bin/bash', join(scratch, 'bash'));

describe.each(['.ci/promtool', '.ci/node-image'])('%s', (script) => {
  it('prints nothing and exits 0 where it cannot get its tool, even without HOME', async () => {
    // Only bash on PATH: no promtool, apt-get, npm or node; and no HOME (a runner started with `env -i`).
    const { stdout } = await run(join(root, script), [], { env: { PATH: scratch } });
    expect(stdout).toBe('');
  });
});
