import nock from 'nock';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { readOnlyApiKey, sandboxIds, type AtlasSimulator } from '../../sandbox/atlas/index.js';
import { loopbackServers } from '../../../test/integration/loopback-servers.js';
import {
  startReferenceControlPlane,
  type ReferenceControlPlane,
} from '../../sandbox/control-plane/reference-control-plane.js';
import {
  apiKeyPayload,
  doctor,
  expectNoSecretPrinted,
  sandboxKey,
  startSimulator,
  testKinds,
} from '../../../test/kits/doctor-test-kit.js';
import { runDoctor } from './doctor.js';

const enrollmentToken = 'doctor-environment-enrollment-3e9a';
let sim: AtlasSimulator;
let plane: ReferenceControlPlane;

beforeAll(async () => {
  sim = await startSimulator();
  plane = await startReferenceControlPlane({ enrollmentToken });
  plane.store.putIntegration({
    id: 'payments',
    kind: 'atlas-project',
    config: { projectId: sandboxIds.payments, clusterName: 'Cluster0' },
    secretRef: 'env://ATLAS_KEY',
  });
  plane.store.putIntegration({
    id: 'read-only',
    kind: 'atlas-multi-project',
    config: { projectIds: [sandboxIds.payments] },
    secretRef: 'env://READ_ONLY_KEY',
  });
});
afterAll(async () => {
  await plane.close();
  await sim.close();
});
afterEach(expectNoSecretPrinted);

/** The daemon's environment, as its pod has it: nothing names an integration. */
const daemonEnv = () => ({
  CONTROL_PLANE_URL: plane.url,
  CONTROL_PLANE_TOKEN: enrollmentToken,
  CONNECTOR_ID: 'prod-eu-1',
  ATLAS_BASE_URL: sim.url,
  ATLAS_KEY: apiKeyPayload(sandboxKey),
  READ_ONLY_KEY: apiKeyPayload(readOnlyApiKey),
});

describe('doctor with no flags: the daemon’s own environment', () => {
  it('sends the integrations’ Atlas checks through HTTP_PROXY, as the daemon does', async () => {
    const servers = loopbackServers();
    // Real sockets through a real proxy: nock's interceptor would hand the proxy agent no socket.
    nock.restore();
    try {
      const seen: string[] = [];
      const proxy = await servers.proxy(seen);
      const run = await doctor([], { ...daemonEnv(), HTTP_PROXY: proxy }, { realCli: true });
      expect(run.text).toContain('PASS  atlas authentication');
      expect(seen.filter((url) => url.startsWith(sim.url)).length).toBeGreaterThan(0);
    } finally {
      nock.activate();
      await servers.closeAll();
    }
  });

  it('checks the control plane, then every integration the control plane lists for the connector', async () => {
    const run = await doctor([], daemonEnv());

    expect(run.stderr).toEqual([]);
    expect(run.text).toContain('doctor: connector prod-eu-1, from the daemon');
    expect(run.text).toMatch(/PASS {2}control plane/);
    expect(run.text).toMatch(
      /PASS {2}integrations +2 integration\(s\): payments \(atlas-project\), read-only \(atlas-multi-project\); the control plane accepted the enrollment token/,
    );
    // The list is read with the token: the report must not say the token went unchecked.
    expect(run.text).not.toContain('the enrollment token is not verified');
    const payments = run.text.slice(
      run.text.indexOf('== integration payments'),
      run.text.indexOf('== integration read-only'),
    );
    expect(payments).toMatch(/PASS {2}secret reference +env:\/\/ATLAS_KEY/);
    expect(payments).toMatch(/PASS {2}atlas roles/);
    const readOnly = run.text.slice(run.text.indexOf('== integration read-only'));
    expect(readOnly).toMatch(/FAIL {2}atlas roles/);
    expect(run.code).toBe(1);
  });

  it('fails the integration list, naming the reason, when the enrollment token is wrong', async () => {
    const run = await doctor([], { ...daemonEnv(), CONTROL_PLANE_TOKEN: 'not-the-token' });

    expect(run.code).toBe(1);
    expect(run.text).toMatch(
      /FAIL {2}integrations +cannot list the integrations of connector "prod-eu-1": .*401/,
    );
  });

  it('never prints the proxy’s password or a cloud credential that a network error echoes', async () => {
    // Test-only stand-ins, none a real credential; the error is what a proxy or an SDK might say.
    const proxyPassword = 'test-proxy-password-77';
    const cloud = ['test-aws-secret-value-0001', 'test-aws-session-value-0002', 'test-azure-secret-0003'];
    const lines: string[] = [];
    const code = await runDoctor([], {
      env: {
        ...daemonEnv(),
        HTTPS_PROXY: `http://ops:${proxyPassword}@proxy.internal:3128`,
        AWS_SECRET_ACCESS_KEY: cloud[0],
        AWS_SESSION_TOKEN: cloud[1],
        AZURE_CLIENT_SECRET: cloud[2],
      },
      stdout: (line) => lines.push(line),
      stderr: (line) => lines.push(line),
      fetch: () =>
        Promise.reject(
          new Error('fetch failed', {
            cause: new Error(`proxy refused the password ${proxyPassword}; ${cloud.join(', ')}`),
          }),
        ),
      kinds: testKinds,
    });

    const text = lines.join('\n');
    expect(code).toBe(1);
    expect(text).toContain('proxy refused the password [REDACTED]; [REDACTED], [REDACTED], [REDACTED]');
    for (const value of [proxyPassword, ...cloud]) expect(text).not.toContain(value);
  });

  it('says there is nothing to ask without CONTROL_PLANE_URL, and how to name an integration instead', async () => {
    const run = await doctor([], { ATLAS_BASE_URL: sim.url });

    expect(run.code).toBe(1);
    expect(run.text).toContain('CONTROL_PLANE_URL is not set');
    expect(run.text).toContain('doctor --kind <kind> --secret-ref <ref>');
  });

  it('prints one JSON object with a section per integration', async () => {
    const run = await doctor(['--json'], daemonEnv());
    const report = JSON.parse(run.stdout[0] ?? '') as {
      ok: boolean;
      sections: { title: string; ok: boolean }[];
    };

    expect(report.sections.map((s) => [s.title, s.ok])).toEqual([
      ['connector', true],
      ['integration payments (atlas-project)', true],
      ['integration read-only (atlas-multi-project)', false],
    ]);
  });

  it('checks each listed integration’s config as --integration does: its scope fields and the kind’s own check', async () => {
    // As the control plane sends them; every job of each would fail invalid_job.
    const listed = await startReferenceControlPlane({ enrollmentToken });
    try {
      const put = (id: string, kind: string, config: Record<string, unknown>) =>
        listed.store.putIntegration({ id, kind, config, secretRef: 'env://ATLAS_KEY' });
      put('no-project', 'atlas-project', { clusterName: 'Cluster0' });
      put('no-org', 'atlas-org-deep-discovery', {});
      put('no-cluster', 'atlas-project', { projectId: sandboxIds.payments });
      const run = await doctor([], { ...daemonEnv(), CONTROL_PLANE_URL: listed.url });
      const section = (id: string) => {
        const start = run.text.indexOf(`== integration ${id} `);
        const end = run.text.indexOf('== integration', start + 1);
        return run.text.slice(start, end === -1 ? undefined : end);
      };

      expect(run.code).toBe(1);
      expect(section('no-project')).toMatch(
        /FAIL {2}integration +atlas-project needs exactly one config\.projectId/,
      );
      expect(section('no-org')).toMatch(/FAIL {2}integration +atlas-org-deep-discovery needs config\.orgId/);
      expect(section('no-cluster')).toMatch(
        /FAIL {2}atlas visibility +the atlas-project config is invalid: .*clusterName/,
      );
      for (const id of ['no-project', 'no-org']) expect(section(id)).not.toContain('PASS  atlas roles');
    } finally {
      await listed.close();
    }
  });

  it('warns when two atlas-org-portal integrations share an organization, naming both', async () => {
    // Each keeps its own ledger: one can remove a role the other granted, or leave one for good.
    const shared = await startReferenceControlPlane({ enrollmentToken });
    try {
      for (const id of ['portal-a', 'portal-b'])
        shared.store.putIntegration({
          id,
          kind: 'atlas-org-portal',
          config: { orgId: sandboxIds.org },
          secretRef: 'env://ATLAS_KEY',
        });
      const run = await doctor([], { ...daemonEnv(), CONTROL_PLANE_URL: shared.url });
      expect(run.text).toMatch(
        new RegExp(
          `WARN {2}integrations +2 integration\\(s\\): .*; portal-a and portal-b are atlas-org-portal integrations of one organization \\(${sandboxIds.org}\\)`,
        ),
      );
      expect(run.text).toContain('keep one atlas-org-portal integration per organization');
    } finally {
      await shared.close();
    }
  });
});
