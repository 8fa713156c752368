import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { DigestClient } from '../contract/digest-client.js';

const scriptPath = fileURLToPath(new URL('../../dist/src/sandbox/atlas/run-simulator.js', import.meta.url));

/** Runs the built standalone simulator and returns its first stdout line, parsed, and a stop. */
async function runSimulator(env: Record<string, string>) {
  if (!existsSync(scriptPath)) throw new Error(`${scriptPath} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [scriptPath], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const firstLine = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no line within 15 s:\n${output}`)), 15_000);
    const onData = (data: Buffer): void => {
      output += data.toString('utf8');
      if (output.includes('\n')) {
        clearTimeout(timer);
        resolve(output.slice(0, output.indexOf('\n')));
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the simulator exited:\n${output}`));
    });
  });
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await exited;
  };
  return { line: JSON.parse(firstLine) as { atlasSimulator: string }, stop };
}

describe('the standalone Atlas simulator script', () => {
  it('takes variables set to nothing as unset: loopback, any free port, the default key', async () => {
    const { line, stop } = await runSimulator({
      SANDBOX_ATLAS_HOST: '',
      SANDBOX_ATLAS_PORT: '',
      SANDBOX_ATLAS_PUBLIC_KEY: '',
      SANDBOX_ATLAS_PRIVATE_KEY: '',
      SANDBOX_ATLAS_FIXTURE: '',
    });
    try {
      // An empty host would have bound every interface, and an empty key been the key.
      expect(line.atlasSimulator).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const client = new DigestClient(
        line.atlasSimulator,
        'sandboxp',
        '00000000-0000-4000-8000-000000000000',
      );
      expect((await client.call('GET', '/groups')).status).toBe(200);
    } finally {
      await stop();
    }
  });
});
