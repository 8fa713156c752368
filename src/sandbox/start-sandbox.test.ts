import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { testTempDir } from '../../test/kits/temp-dir-test-kit.js';
import { loadConfig } from '../config/env.js';
import { defaultFixture } from './atlas/default-fixture.js';
import { startSandbox } from './start-sandbox.js';

describe('startSandbox', () => {
  it('reads a SANDBOX_ATLAS_FIXTURE file saved with a UTF-8 byte order mark (Windows editors save one)', async () => {
    const fixture = defaultFixture();
    const file = join(testTempDir('fixture-'), 'fixture.json');
    writeFileSync(
      file,
      `\uFEFF${JSON.stringify({ ...fixture, organizations: [{ ...fixture.organizations[0], name: 'BOM Org' }] })}`,
    );
    const config = loadConfig({
      SANDBOX_ATLAS_FIXTURE: file,
      SANDBOX_CONTROL_PLANE_PORT: '0',
      SANDBOX_ATLAS_PORT: '0',
    });
    const { logger, scrubber } = captureLogs('silent');

    const sandbox = await startSandbox(config, { logger, scrubber });
    try {
      expect(sandbox.atlas.state.snapshot().organizations.map((org) => org.name)).toEqual(['BOM Org']);
    } finally {
      await sandbox.close();
    }
  });
});
