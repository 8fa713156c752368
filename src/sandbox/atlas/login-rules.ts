import type { ClusterRec, DbUserRec } from './model.js';
import type { SimState } from './state.js';

/** Why a SCRAM login to a simulated cluster is refused (the client only ever sees AuthenticationFailed). */
export type LoginRefusal = 'unknown-user' | 'out-of-scope' | 'pending' | 'expired';

export type LoginCheck = { readonly user: DbUserRec } | { readonly refusal: LoginRefusal };

/**
 * Who may log in to `cluster` as `username` at `now`, the password aside (SCRAM proves that):
 * a password (SCRAM) user of the cluster's project, scoped to this cluster or to none, whose last
 * change has propagated (the project read APPLIED after it; later changes to other users do not
 * hold it back, as on Atlas) and whose `deleteAfterDate` has not passed.
 */
export function checkLogin(
  state: SimState,
  cluster: ClusterRec,
  username: string,
  now: number,
  propagationDelayMs: number,
): LoginCheck {
  state.sweepExpired(now);
  const user = state.findDbUser(cluster.projectId, 'admin', username);
  if (!user || user.scram === undefined) return { refusal: 'unknown-user' };
  if (user.deleteAfter !== undefined && user.deleteAfter <= now) return { refusal: 'expired' };
  if (!scopedTo(user, cluster.name)) return { refusal: 'out-of-scope' };
  if (now < user.changedAt + propagationDelayMs) return { refusal: 'pending' };
  return { user };
}

/** Unscoped users reach every cluster of the project; scoped ones only the clusters they name. */
export function scopedTo(user: DbUserRec, clusterName: string): boolean {
  const clusters = user.scopes.filter((s) => s.type === 'CLUSTER');
  return clusters.length === 0 || clusters.some((s) => s.name.toLowerCase() === clusterName.toLowerCase());
}
