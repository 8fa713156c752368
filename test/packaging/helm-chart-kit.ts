import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import type { HelmBinary } from './helm-binary.js';
import { parseManifests, type RenderedObject } from './rendered-objects.js';

/** The chart's sources. */
export const chartDir = join(import.meta.dirname, '../../helm/atlas-jit-connector');

/** The settings every install must give: a control plane and its token, the connector's id. */
export const required = {
  controlPlane: { url: 'https://connect.example.com', existingSecret: { name: 'cp-token', key: 'token' } },
  connector: { id: 'prod-eu-1' },
};

export const kindsOf = (objects: readonly RenderedObject[]) => objects.map((o) => o.kind).sort();

const run = promisify(execFile);

/**
 * Runs the real `helm` on values files written to a suite's scratch directory (`suiteTempDir`),
 * which is also helm's HOME, so no run reads or writes the user's helm configuration.
 */
export function helmRunner(helm: HelmBinary, scratch: () => string) {
  const valuesFile = (name: string, values: unknown): string => {
    const file = join(scratch(), `${name.replace(/\W+/g, '-')}.yaml`);
    writeFileSync(file, stringify(values));
    return file;
  };
  const helmRun = async (args: readonly string[]): Promise<{ ok: boolean; output: string }> => {
    if ('skip' in helm) throw new Error(helm.skip);
    try {
      const { stdout, stderr } = await run(helm.path, args, {
        env: { PATH: process.env.PATH, HOME: scratch() },
      });
      return { ok: true, output: `${stdout}${stderr}` };
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string };
      return { ok: false, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
    }
  };
  /** `helm template` as `release` (default `rel`) in namespace `atlas-jit`; the render must succeed. */
  const template = async (chart: string, values: string, release = 'rel'): Promise<RenderedObject[]> => {
    const result = await helmRun(['template', release, chart, '--namespace', 'atlas-jit', '-f', values]);
    expect(result.ok, result.output).toBe(true);
    return parseManifests(result.output);
  };
  return { valuesFile, helmRun, template };
}
