import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sandboxIds, type AtlasSimulator } from '../../sandbox/atlas/index.js';
import {
  startReferenceControlPlane,
  type ReferenceControlPlane,
} from '../../sandbox/control-plane/reference-control-plane.js';
import {
  apiKeyPayload,
  capturedOutput,
  doctor,
  expectNoSecretPrinted,
  sandboxKey,
  startSimulator,
  statuses,
  tableCheck,
} from '../../../test/kits/doctor-test-kit.js';

const enrollmentToken = 'doctor-enrollment-token-81f0c2';

let sim: AtlasSimulator;
let plane: ReferenceControlPlane;
let tempDir: string;

beforeAll(async () => {
  sim = await startSimulator();
  plane = await startReferenceControlPlane({ enrollmentToken });
  tempDir = await mkdtemp(join(tmpdir(), 'doctor-'));
});
afterAll(async () => {
  await Promise.all([sim.close(), plane.close(), rm(tempDir, { recursive: true, force: true })]);
});
afterEach(() => {
  const output = capturedOutput.join('\n');
  expect(output, 'doctor printed the enrollment token').not.toContain(enrollmentToken);
  expectNoSecretPrinted();
});

/** The baseline for remote mode: a control plane URL, its token and a connector id. */
function remoteEnv(tweaks: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    ATLAS_BASE_URL: sim.url,
    ATLAS_KEY: apiKeyPayload(sandboxKey),
    CONTROL_PLANE_URL: plane.url,
    CONTROL_PLANE_TOKEN: enrollmentToken,
    CONNECTOR_ID: 'doctor-test',
    ...tweaks,
  };
}

const args = [
  '--kind',
  'atlas-project',
  '--secret-ref',
  'env://ATLAS_KEY',
  '--project-id',
  sandboxIds.payments,
];

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe('doctor against a control plane', () => {
  it('passes every check against the reference control plane without registering a session', async () => {
    const run = await doctor(args, remoteEnv());

    expect(run.code).toBe(0);
    expect(Object.values(statuses(run))).toEqual(Array(7).fill('pass'));
    const check = tableCheck(run, 'control plane').block;
    expect(check).toContain('answers protocol v1 (HTTP 405 to a read-only probe)');
    expect(check).toContain('the enrollment token is not verified');
    expect(plane.store.sessions()).toEqual([]);
  });

  it('fails when nothing listens at CONTROL_PLANE_URL', async () => {
    const server = createServer();
    const url = await listen(server);
    await close(server);

    const run = await doctor(args, remoteEnv({ CONTROL_PLANE_URL: url }));

    expect(run.code).toBe(1);
    const check = tableCheck(run, 'control plane');
    expect(check.status).toBe('fail');
    expect(check.block).toContain(
      `cannot reach the control plane at ${url} (connect ECONNREFUSED ${new URL(url).host})`,
    );
    expect(check.block).toContain('fix: check DNS and egress');
  });

  it('warns when something answers that does not speak the protocol', async () => {
    const server = createServer((_req, res) => res.writeHead(404).end('<html>not here</html>'));
    const url = await listen(server);
    try {
      const run = await doctor(args, remoteEnv({ CONTROL_PLANE_URL: url }));

      expect(run.code).toBe(0);
      const check = tableCheck(run, 'control plane');
      expect(check.status).toBe('warn');
      expect(check.block).toContain('answered HTTP 404, but not as a protocol v1 control plane');
    } finally {
      await close(server);
    }
  });

  it('fails when CONTROL_PLANE_TOKEN_FILE cannot be read, as the daemon would at start', async () => {
    const missing = join(tempDir, 'no-such-token');
    const run = await doctor(
      args,
      remoteEnv({ CONTROL_PLANE_TOKEN: undefined, CONTROL_PLANE_TOKEN_FILE: missing }),
    );

    expect(run.code).toBe(1);
    expect(tableCheck(run, 'control plane').block).toContain(
      `CONTROL_PLANE_TOKEN_FILE: cannot read ${missing} (ENOENT)`,
    );
  });

  it('fails a token file holding two tokens on two lines without printing either', async () => {
    const path = join(tempDir, 'two-tokens');
    await writeFile(path, 'cpe_old_4f9a8b7c6d5e\ncpe_new_0a1b2c3d4e5f\n');

    const run = await doctor(
      args,
      remoteEnv({ CONTROL_PLANE_TOKEN: undefined, CONTROL_PLANE_TOKEN_FILE: path }),
    );

    expect(run.code).toBe(1);
    expect(tableCheck(run, 'control plane').block).toContain(
      `CONTROL_PLANE_TOKEN_FILE: ${path}: the enrollment token contains whitespace`,
    );
    expect(run.text).not.toContain('cpe_old_4f9a8b7c6d5e');
    expect(run.text).not.toContain('cpe_new_0a1b2c3d4e5f');
  });

  it('passes with a readable token file and never prints the token it read', async () => {
    const path = join(tempDir, 'token');
    await writeFile(path, `${enrollmentToken}\n`);

    const run = await doctor(
      args,
      remoteEnv({ CONTROL_PLANE_TOKEN: undefined, CONTROL_PLANE_TOKEN_FILE: path }),
    );

    expect(run.code).toBe(0);
    expect(tableCheck(run, 'control plane').status).toBe('pass');
  });
});
