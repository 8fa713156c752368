import { readFile } from 'node:fs/promises';
import { parseFixtureText } from './fixture.js';
import { startAtlasSimulator } from './simulator.js';
import { simulatorSettings } from './simulator-env.js';

/**
 * Runs the Atlas simulator on its own: `node dist/src/sandbox/atlas/run-simulator.js`.
 * SANDBOX_ATLAS_PORT (default 0 = any free port), SANDBOX_ATLAS_HOST (default 127.0.0.1),
 * SANDBOX_ATLAS_PUBLIC_KEY / SANDBOX_ATLAS_PRIVATE_KEY (the ORG_OWNER Digest key) and
 * SANDBOX_ATLAS_FIXTURE (path to a fixture JSON file; default: the built-in seed). A variable set
 * to nothing is unset, as for the daemon (src/sandbox/atlas/simulator-env.ts).
 * Prints one JSON line with the URL and each cluster's wire-protocol connection string, then serves until SIGINT/SIGTERM.
 */
async function main(env: NodeJS.ProcessEnv): Promise<void> {
  const { fixturePath, ...settings } = simulatorSettings(env);
  const fixture = fixturePath ? parseFixtureText(await readFile(fixturePath, 'utf8')) : undefined;
  const sim = await startAtlasSimulator({ ...settings, ...(fixture !== undefined ? { fixture } : {}) });
  const clusters = Object.fromEntries(
    sim.state
      .snapshot()
      .clusters.map((c) => [`${c.projectId}/${c.name}`, sim.connectionString(c.projectId, c.name)]),
  );
  process.stdout.write(
    `${JSON.stringify({ atlasSimulator: sim.url, api: `${sim.url}/api/atlas/v2`, clusters })}\n`,
  );
  const stop = (): void => {
    sim.close().then(
      () => (process.exitCode ??= 0),
      (error: unknown) => {
        process.stderr.write(`failed to close the simulator: ${String(error)}\n`);
        process.exitCode = 1;
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.env).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
