import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * A `promtool` for the alert tests: the one named by PROMTOOL, else the one on PATH (Debian: the
 * `prometheus` package; .ci/promtool fetches one). No npm package evaluates PromQL, so without one
 * those tests are skipped with a warning.
 */
export function findPromtool(): string | undefined {
  const candidate = process.env.PROMTOOL ?? 'promtool';
  try {
    execFileSync(candidate, ['--version'], { stdio: 'ignore' });
    return candidate;
  } catch {
    return undefined;
  }
}

/** `promtool test rules <file>`: whether every case passed, and promtool's report of the ones that did not. */
export async function testRules(
  promtool: string,
  testFile: string,
): Promise<{ ok: boolean; output: string }> {
  return run(promtool, ['test', 'rules', testFile]).then(
    ({ stdout, stderr }) => ({ ok: true, output: `${stdout}${stderr}` }),
    (error: { stdout?: string; stderr?: string }) => ({
      ok: false,
      output: `${error.stdout ?? ''}${error.stderr ?? ''}`,
    }),
  );
}
