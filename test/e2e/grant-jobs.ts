import { resourceKeyFor, usernameFor } from '../../src/adapters/database-access/model/user-model.js';
import { analytics } from './sandbox-harness.js';

/**
 * Grant `i` of a numbered series on the `multi` integration: `read@events` on the Analytics
 * cluster for person `<series><i>`, per-requester user, one hour. Returns the job and the user.
 */
export function analyticsReadGrant(series: string, i: number) {
  const requester = { id: `user-${series}${i}`, email: `${series}${i}@example.com` };
  const username = usernameFor('per-requester', requester);
  return {
    username,
    job: {
      type: 'grant',
      integrationId: 'multi',
      resourceKey: resourceKeyFor(analytics, username),
      payload: {
        grantId: `g-${series}-${i}`,
        requester,
        projectId: analytics,
        access: [{ cluster: 'Analytics', role: 'read', database: 'events' }],
        ttlSeconds: 3600,
      },
    },
  };
}
