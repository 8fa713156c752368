import type { ConnectorError } from '../../errors/connector-error.js';
import { describeError } from './check-runner.js';
import { provided, type DoctorContext } from './doctor-context.js';
import type { CredentialIdentity } from './role-requirements.js';

/** Who the credential is, as far as Atlas has told doctor (the key id comes from the root call). */
export function credentialIdentity(
  ctx: DoctorContext,
  apiKeyId = ctx.status?.apiKey?.id,
): CredentialIdentity {
  const credentials = provided(ctx.credentials, 'the credential');
  if (credentials.type === 'service-account')
    return { type: 'service-account', clientId: credentials.clientId };
  return { type: 'api-key', publicKey: credentials.publicKey, ...(apiKeyId ? { apiKeyId } : {}) };
}

/** `USER_CANNOT_ACCESS_GROUP, HTTP 403`: what Atlas said, without its free-text detail. */
export function atlasCode(error: ConnectorError): string {
  const { atlasErrorCode, httpStatus } = error.details;
  if (typeof atlasErrorCode === 'string' && typeof httpStatus === 'number') {
    return `${atlasErrorCode}, HTTP ${httpStatus}`;
  }
  return describeError(error);
}
