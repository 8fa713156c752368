import { describe, expect, it } from 'vitest';
import { cancelledError, isConnectorError } from '../../errors/connector-error.js';
import { systemClock } from '../../runtime/clock.js';
import { cryptoRandom } from '../../runtime/random.js';
import { withDiscoveryUser, type DiscoveryUserDeps } from './discovery-user.js';

const target = { projectId: '660200000000000000000001', clusterName: 'Cluster0', integrationId: 'org-1' };

/** The delete's own deadline ran out (Atlas kept answering 429, the client kept retrying). */
function depsWhoseDeleteRunsOutOfTime(): DiscoveryUserDeps {
  return {
    atlas: {
      databaseUsers: {
        create: () => Promise.resolve({} as never),
        delete: () => Promise.reject(cancelledError(new Error('TimeoutError'))),
      },
    },
    clock: systemClock,
    random: cryptoRandom,
    readiness: {
      writeChange: (_ctx, _projectId, perform) => perform(),
      waitUntilApplied: () => Promise.resolve(),
    },
    registerSecret: () => undefined,
  };
}

describe('the discovery user', () => {
  it('reports a delete cut by its own deadline as that cluster’s timeout, not as the job being cancelled', async () => {
    const ctx = { signal: new AbortController().signal, beforeSideEffect: () => undefined };
    const error: unknown = await withDiscoveryUser(depsWhoseDeleteRunsOutOfTime(), ctx, target, () =>
      Promise.resolve('listed'),
    ).catch((caught: unknown) => caught);

    expect(isConnectorError(error) && error.code).toBe('timeout');
    expect(isConnectorError(error) && error.message).toMatch(
      /^discovery user jit-discovery-[0-9a-f]{12} in project 660200000000000000000001 could not be deleted within 30 s; Atlas removes it at its deleteAfterDate$/,
    );
  });
});
