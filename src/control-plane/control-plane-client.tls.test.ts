import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { FakeClock } from '../../test/fakes/fake-clock.js';
import { captureLogs } from '../../test/fakes/log-capture.js';
import { causeChain, describeCauses, innermostCause } from '../runtime/cause-chain.js';
import { createHttpClient } from '../runtime/http.js';
import { ControlPlaneClient } from './control-plane-client.js';
import type { RegisterRequest } from './protocol.js';

// A test-only self-signed certificate (test/fixtures/tls/README.md): trusted by nothing.
const fixture = (name: string) => readFileSync(new URL(`../../test/fixtures/tls/${name}`, import.meta.url));

const registerRequest: RegisterRequest = {
  connectorId: 'conn-1',
  instanceId: 'pod-1:boot-1',
  version: '0.1.0',
  protocol: 1,
  capacity: { maxJobs: 4 },
  features: [],
  jobTypes: ['ping'],
  startedAt: '2026-11-24T12:00:00.000Z',
};

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function selfSignedControlPlane(): Promise<string> {
  server = createServer(
    { cert: fixture('self-signed.cert.pem'), key: fixture('self-signed.key.pem') },
    (_req, res) => res.writeHead(500).end(),
  );
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', () => resolve()));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('a control plane with a certificate nobody trusts', () => {
  it('names the certificate error in the error and in the log line, every cause level with its code', async () => {
    const logs = captureLogs();
    const cp = new ControlPlaneClient({
      baseUrl: await selfSignedControlPlane(),
      enrollmentToken: async () => 'enrollment-token-abcdef',
      fetch: createHttpClient(),
      clock: new FakeClock(),
      logger: logs.logger,
      userAgent: 'atlas-jit-connector/test',
    });

    const error = await cp.register(registerRequest).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    logs.logger.warn({ err: error }, 'control plane unreachable, backing off');

    // Node 24 (the image's runtime) appends its own hint to certificate errors: `; if the root CA
    // is installed locally, try running Node.js with --use-system-ca`. Node 20 does not.
    const nodeHint = '(; if the root CA is installed locally, try running Node\\.js with --use-system-ca)?';
    expect(String((error as Error).message)).toMatch(
      new RegExp(
        `control plane register: unreachable \\((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN): self[- ]signed certificate${nodeHint}\\)$`,
      ),
    );
    const line = logs.lines().find((l) => l.msg === 'control plane unreachable, backing off');
    const err = line?.err as { causes?: string; cause?: { cause?: { code?: string } } };
    expect(err.causes).toMatch(
      new RegExp(
        `control plane register: unreachable .* <- DEPTH_ZERO_SELF_SIGNED_CERT: self[- ]signed certificate${nodeHint}$`,
      ),
    );
    expect((err.cause as { code?: string } | undefined)?.code).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    expect(logs.text()).not.toContain('enrollment-token-abcdef');
  });
});

describe('causeChain', () => {
  it('lists code and message of each level, outermost first, and stops at a cycle', () => {
    const inner = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
    const outer = new Error('fetch failed', { cause: inner });
    expect(causeChain(outer)).toEqual([
      { message: 'fetch failed' },
      { code: 'ECONNREFUSED', message: 'connect ECONNREFUSED 127.0.0.1:1' },
    ]);
    expect(innermostCause(outer)).toBe('ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1');
    expect(describeCauses(outer)).toBe('fetch failed <- ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1');
    const looped = new Error('a');
    looped.cause = looped;
    expect(causeChain(looped)).toHaveLength(8);
  });
});
