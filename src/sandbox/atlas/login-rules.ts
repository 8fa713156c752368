import type { ClusterRec, DbUserRec, DbUserScope } from './model.js';
import type { ScramCredentials } from './scram-credentials.js';
import type { SimState } from './state.js';

/** Why a SCRAM login to a simulated cluster is refused (the client only ever sees AuthenticationFailed). */
export type LoginRefusal = 'paused' | 'unknown-user' | 'out-of-scope' | 'pending' | 'expired';

export type LoginCheck =
  { readonly user: DbUserRec; readonly credentials: ScramCredentials } | { readonly refusal: LoginRefusal };

/**
 * Who may log in to `cluster` as `username` at `now`, the password aside (SCRAM proves that):
 * nobody while the cluster is paused; otherwise a password (SCRAM) user of the cluster's project, scoped to this cluster or to none, whose
 * `deleteAfterDate` has not passed, and which the cluster already knows: a new user only once its
 * creation has propagated (the project read APPLIED after it). A password change takes effect when
 * it has propagated; until then the last password that had propagated stays in force (none for a
 * user whose creation has not), as on Atlas, and later changes to other users hold nobody back.
 */
export function checkLogin(
  state: SimState,
  cluster: ClusterRec,
  username: string,
  now: number,
  propagationDelayMs: number,
): LoginCheck {
  state.sweepExpired(now);
  if (cluster.paused) return { refusal: 'paused' };
  const user = state.findDbUser(cluster.projectId, 'admin', username);
  if (!user || user.scram === undefined) return { refusal: 'unknown-user' };
  if (user.deleteAfter !== undefined && user.deleteAfter <= now) return { refusal: 'expired' };
  if (!scopedTo(user, cluster.name)) return { refusal: 'out-of-scope' };
  const credentials = credentialsInForce(user, now, propagationDelayMs);
  return credentials ? { user, credentials } : { refusal: 'pending' };
}

/**
 * The credentials the clusters know at `now`: the current ones once their change has propagated,
 * else those in force before it. Taken at a password change as the new prior, so a password that
 * never reached the clusters never becomes one they accept.
 */
export function credentialsInForce(
  user: DbUserRec,
  now: number,
  propagationDelayMs: number,
): ScramCredentials | undefined {
  return now >= user.passwordSetAt + propagationDelayMs ? user.scram : user.priorScram;
}

/**
 * Unscoped users (no scopes at all) reach every cluster of the project; scoped ones only the
 * clusters they name, so a user scoped only to Data Lakes or Stream instances reaches none.
 */
export function scopedTo(user: DbUserRec, clusterName: string): boolean {
  const named = (s: DbUserScope): boolean =>
    s.type === 'CLUSTER' && s.name.toLowerCase() === clusterName.toLowerCase();
  return user.scopes.length === 0 || user.scopes.some(named);
}
