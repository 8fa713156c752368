import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../errors/connector-error.js';
import type { AtlasCredentials } from './credentials.js';
import {
  createTestClient,
  FakeCredentialSource,
  groupId,
  rejectionOf,
} from '../../test/kits/atlas-test-kit.js';

/** A secret store that cannot give the credential, as the secrets module reports it. */
class FailingCredentialSource extends FakeCredentialSource {
  constructor(private readonly failure: ConnectorError) {
    super([]);
  }

  override get(): Promise<AtlasCredentials> {
    this.gets += 1;
    return Promise.reject(this.failure);
  }
}

const notFound = new ConnectorError({
  code: 'secret_not_found',
  message: 'secret "aws-sm://prod/atlas?region=us-east-1": not found in Secrets Manager in us-east-1',
  details: { secretRef: 'aws-sm://prod/atlas?region=us-east-1', backend: 'aws-sm' },
});

describe('Atlas client: a credential the secret store cannot give', () => {
  it("fails the call with the store's own error, and counts no Atlas request (none was sent)", async () => {
    const credentials = new FailingCredentialSource(notFound);
    const { client, requests } = createTestClient({ credentials });

    const error = await rejectionOf(client.clusters.list(groupId));

    expect(error).toBe(notFound);
    expect(credentials.gets).toBe(1);
    expect(requests).toEqual([]);
  });
});
