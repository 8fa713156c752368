import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { isConnectorError } from '../../src/errors/connector-error.js';
import { startDaemon } from '../../src/main.js';
import {
  startReferenceControlPlane,
  type ReferenceControlPlane,
} from '../../src/sandbox/control-plane/reference-control-plane.js';
import { captureLogs } from '../fakes/log-capture.js';
import { doctor } from '../kits/doctor-test-kit.js';

/**
 * An operator rotating the enrollment token leaves the old and the new one on two lines of the
 * token file. Sent as a bearer value, the line break makes `fetch` refuse the header with an
 * error that quotes it whole; the daemon and doctor refuse such a token up front, by name only.
 */
const oldToken = 'cpe_old_4f9a8b7c6d5e4f3a2b1c';
const newToken = 'cpe_new_0a1b2c3d4e5f6a7b8c9d';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function twoLineTokenFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'enrollment-token-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'enrollment-token');
  writeFileSync(path, `${oldToken}\n${newToken}\n`);
  return path;
}

describe('an enrollment token file holding two tokens', () => {
  it('stops the daemon before it listens, naming the variable and neither token', async () => {
    const config = loadConfig({
      CONTROL_PLANE_URL: 'http://127.0.0.1:9',
      CONTROL_PLANE_TOKEN_FILE: twoLineTokenFile(),
      CONNECTOR_ID: 'token-check',
      ADMIN_HOST: '127.0.0.1',
      ADMIN_PORT: '0',
    });
    const logs = captureLogs();

    const error: unknown = await startDaemon(config, {
      env: {},
      logger: logs.logger,
      scrubber: logs.scrubber,
    }).then(
      async (daemon) => {
        await daemon.shutdown();
        return undefined;
      },
      (caught: unknown) => caught,
    );

    expect(isConnectorError(error) && error.code).toBe('config_invalid');
    expect(String(error)).toContain('CONTROL_PLANE_TOKEN_FILE: the enrollment token contains whitespace');
    for (const output of [String(error), logs.text()]) {
      expect(output).not.toContain(oldToken);
      expect(output).not.toContain(newToken);
    }
  });

  it('fails doctor on the variable, and no part of either token is printed', async () => {
    const plane: ReferenceControlPlane = await startReferenceControlPlane({
      enrollmentToken: 'the-real-enrollment-token-123456',
    });
    cleanups.push(() => plane.close());

    for (const variables of [
      { CONTROL_PLANE_TOKEN_FILE: twoLineTokenFile() },
      { CONTROL_PLANE_TOKEN: `${oldToken}\n${newToken}` },
    ]) {
      const run = await doctor([], {
        CONTROL_PLANE_URL: plane.url,
        CONNECTOR_ID: 'token-check',
        ...variables,
      });

      expect(run.code).toBe(1);
      expect(run.text).toContain('the enrollment token contains whitespace');
      expect(run.text).not.toContain(oldToken);
      expect(run.text).not.toContain(newToken);
    }
  });
});
