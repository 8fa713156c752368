import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/env.js';
import { ConnectorError } from '../../src/errors/connector-error.js';
import { startDaemon } from '../../src/main.js';
import { failure } from '../../src/worker/dispatch.js';
import { captureLogs } from '../fakes/log-capture.js';

/**
 * The composition root registers the secrets the environment holds for the proxy and the cloud
 * SDKs before anything can fail, so an SDK or proxy error echoing one is redacted in the logs and
 * in the failure reported to the control plane. Test-only stand-ins, none a real credential.
 */
const proxyPassword = 'test-proxy-password-41';
const secrets = {
  AWS_SECRET_ACCESS_KEY: 'test-aws-secret-value-0001',
  AWS_SESSION_TOKEN: 'test-aws-session-value-0002',
  AZURE_CLIENT_SECRET: 'test-azure-secret-value-0003',
  AZURE_CLIENT_CERTIFICATE_PASSWORD: 'test-azure-cert-value-0004',
};

describe('the daemon’s environment secrets', () => {
  it('are redacted from log lines and job failures once the daemon starts, before it can fail', async () => {
    const logs = captureLogs();
    const env = { ...secrets, HTTPS_PROXY: `http://ops:${proxyPassword}@proxy.internal:3128` };
    // No CONTROL_PLANE_URL: the daemon refuses at once, after registering them.
    await expect(
      startDaemon(loadConfig({}), { env, logger: logs.logger, scrubber: logs.scrubber }),
    ).rejects.toThrow('CONTROL_PLANE_URL is not set');

    const echoed = [proxyPassword, ...Object.values(secrets)];
    const error = new ConnectorError({
      code: 'upstream_unavailable',
      message: `the SDK said: ${echoed.map((value) => `<${value}>`).join(' ')}`,
    });
    const { error: reported } = failure(error, { log: logs.logger }, logs.scrubber);
    logs.logger.warn({ detail: error.message }, 'echoed');

    expect(reported.message).toContain('<[REDACTED]>');
    for (const value of echoed) {
      expect(reported.message).not.toContain(value);
      expect(logs.text()).not.toContain(value);
    }
  });
});
