import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, onTestFinished } from 'vitest';

/** Test-only scratch directories under the OS temp dir, each removed again by the suite that made it. */

const remove = (dir: string) => rmSync(dir, { recursive: true, force: true });

/** A fresh directory (named `<prefix>XXXXXX`), removed when the calling test finishes. Call it inside a test. */
export function testTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => remove(dir));
  return dir;
}

/**
 * A directory shared by the tests of the enclosing suite (or file): made before its first test and
 * removed after its last. Hooks of a suite whose tests are all skipped never run, so a skipped suite
 * makes nothing, where a directory made as the file loads would be left behind. Read it inside a test.
 */
export function suiteTempDir(prefix: string): () => string {
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), prefix));
  });
  afterAll(() => {
    if (dir !== undefined) remove(dir);
    dir = undefined;
  });
  return () => {
    if (dir === undefined)
      throw new Error(`the ${prefix} scratch directory is read outside its suite's tests`);
    return dir;
  };
}
