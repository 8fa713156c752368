import { describe, expect, it } from 'vitest';
import { FakeClock } from '../../../test/fakes/fake-clock.js';
import { kindRegistry } from '../../adapters/registry.js';
import { ConnectorError } from '../../errors/connector-error.js';
import { createSecretScrubber } from '../../runtime/secret-scrubber.js';
import { azureKvError } from '../../secrets/azure-kv-errors.js';
import { parseSecretReference, type AzureKvReference } from '../../secrets/secret-reference.js';
import { createSecretResolver } from '../../secrets/secret-resolver.js';
import { createDoctorContext } from './doctor-context.js';
import { secretCheck } from './secret-checks.js';

const secretRef = 'azure-kv://myvault/atlas-api-key';

/** A Key Vault 403 as the SDK throws it: the generic code outside, Key Vault's reason inside. */
function keyVault403(innerCode: string, message: string) {
  return Object.assign(new Error(message), {
    name: 'RestError',
    code: 'Forbidden',
    statusCode: 403,
    details: { error: { code: 'Forbidden', message, innerError: { code: innerCode } } },
  });
}

/** A 403 whose body is not Key Vault's JSON (a proxy's HTML block page) as the SDK throws it. */
function proxy403() {
  return Object.assign(new Error('Unexpected status code: 403'), {
    name: 'RestError',
    statusCode: 403,
    details: { error: undefined },
  });
}

async function secretCheckWith(sdkError: Error) {
  const reference = parseSecretReference(secretRef) as AzureKvReference;
  return secretCheckFailing(secretRef, (clock) => azureKvError(sdkError, reference, { clock }));
}

/** The doctor's secret check on `ref`, whose credential read fails with `failure`. */
async function secretCheckFailing(ref: string, failure: (clock: FakeClock) => unknown) {
  const clock = new FakeClock();
  const scrubber = createSecretScrubber();
  const ctx = createDoctorContext(
    { kind: 'atlas-project', definition: kindRegistry['atlas-project'], secretRef: ref, projectIds: [] },
    { env: {}, stdout: () => undefined, stderr: () => undefined, clock },
    scrubber,
  );
  ctx.resolver = createSecretResolver({ env: {}, clock, scrubber });
  ctx.credentialSource = {
    get: () => Promise.reject(failure(clock)),
    invalidate: () => undefined,
  };
  return secretCheck.run(ctx, new AbortController().signal);
}

describe('doctor secret check: Key Vault 403s', () => {
  it('says a disabled secret is disabled, and how to enable it, rather than to assign a role', async () => {
    const outcome = await secretCheckWith(
      keyVault403('SecretDisabled', 'Operation get is not allowed on a disabled secret.'),
    );
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('the secret is disabled in Key Vault https://myvault.vault.azure.net');
    expect(outcome.remedy).toContain(
      'az keyvault secret set-attributes --enabled true --id https://myvault.vault.azure.net/secrets/atlas-api-key',
    );
    expect(`${outcome.detail} ${outcome.remedy}`).not.toContain('Key Vault Secrets User');
  });

  it("points at the vault's network rules for a firewall refusal, not at a role", async () => {
    const outcome = await secretCheckWith(
      keyVault403(
        'ForbiddenByFirewall',
        'Client address is not authorized and caller is not a trusted service. Client address: 203.0.113.7',
      ),
    );
    expect(outcome.detail).toContain("Key Vault's network rules refused the connector");
    expect(outcome.remedy).toContain("allow the connector's network");
    expect(`${outcome.detail} ${outcome.remedy}`).not.toContain('Key Vault Secrets User');
  });

  it('points at the proxy settings for a 403 that is not Key Vault JSON, not at a role or an access policy', async () => {
    const outcome = await secretCheckWith(proxy403());
    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('with a body that is not Key Vault JSON');
    expect(outcome.remedy).toContain('HTTPS_PROXY and NO_PROXY');
    for (const text of ['Key Vault Secrets User', 'set-policy', 'access denied']) {
      expect(`${outcome.detail} ${outcome.remedy}`).not.toContain(text);
    }
  });

  it('still names the role for an RBAC refusal, and only the role', async () => {
    const outcome = await secretCheckWith(
      keyVault403('ForbiddenByRbac', 'Caller is not authorized to perform action on resource.'),
    );
    expect(outcome.detail).toContain('access denied by Key Vault');
    expect(outcome.remedy).toContain('"Key Vault Secrets User" role');
    expect(`${outcome.detail} ${outcome.remedy}`).not.toContain('access polic');
  });

  it('names the access policy, not a role, for a refusal under access policies', async () => {
    const outcome = await secretCheckWith(
      keyVault403(
        'AccessDenied',
        "The user, group or application 'appid=0a1b2c3d-0000-4000-8000-000000000001' does not have secrets get permission on key vault 'myvault;location=westeurope'.",
      ),
    );
    expect(outcome.detail).toContain('access denied by Key Vault');
    expect(outcome.remedy).toContain('az keyvault set-policy -n myvault');
    expect(`${outcome.detail} ${outcome.remedy}`).not.toContain('Key Vault Secrets User');
  });
});

describe('doctor secret check: Secrets Manager 403s', () => {
  const awsRef = 'aws-sm://arn:aws:secretsmanager:eu-west-1:123456789012:secret:atlas-key-AbCdEf';
  const forbidden = (awsError: string, message: string) =>
    new ConnectorError({
      code: 'forbidden',
      message,
      details: { backend: 'aws-sm', awsError, httpStatus: 403 },
    });

  it('points at the proxy settings for a 403 that is not AWS JSON, not at an IAM grant', async () => {
    const outcome = await secretCheckFailing(awsRef, () =>
      forbidden(
        'SyntaxError',
        "Secrets Manager's endpoint answered HTTP 403 with a body that is not AWS JSON",
      ),
    );
    expect(outcome.status).toBe('fail');
    expect(outcome.remedy).toContain('HTTPS_PROXY, NO_PROXY');
    expect(outcome.remedy).not.toContain('secretsmanager:GetSecretValue');
  });

  it('still names the IAM grant for an AccessDeniedException', async () => {
    const outcome = await secretCheckFailing(awsRef, () =>
      forbidden('AccessDeniedException', 'access denied by Secrets Manager'),
    );
    expect(outcome.remedy).toContain('secretsmanager:GetSecretValue');
  });
});
