import { ConnectorError } from '../errors/connector-error.js';
import type { SecretBackendFactory } from './secret-backend.js';
import { quoteReference } from './secret-reference.js';

/**
 * `env://NAME`: a variable of the environment handed over by the composition root. Meant for
 * local runs and for platforms that inject secrets as variables; the value is never echoed.
 */
export const createEnvBackend: SecretBackendFactory<'env'> = (settings) => ({
  read(reference) {
    const value = settings.env[reference.name];
    if (value === undefined || value.trim() === '') {
      return Promise.reject(
        new ConnectorError({
          code: 'secret_not_found',
          message: `secret ${quoteReference(reference.reference)}: environment variable ${reference.name} is ${value === undefined ? 'not set' : 'empty'}`,
          details: { secretRef: reference.reference, backend: 'env' },
        }),
      );
    }
    return Promise.resolve(value);
  },
});
