import type { Clock } from '../../runtime/clock.js';
import { isoSeconds } from './ids.js';
import type { Knobs } from './knobs.js';
import type { CustomRoleRec, DbUserRec, EventRec } from './model.js';
import { checkLogin } from './login-rules.js';
import { scramPasswordMatches } from './scram-credentials.js';
import type { SimState } from './state.js';

export interface DatabaseUserSnapshot {
  readonly groupId: string;
  readonly username: string;
  readonly databaseName: string;
  readonly roles: DbUserRec['roles'];
  readonly scopes: DbUserRec['scopes'];
  readonly labels: DbUserRec['labels'];
  readonly description?: string;
  readonly deleteAfterDate?: string;
}

export interface SimSnapshot {
  readonly now: string;
  readonly organizations: { id: string; name: string }[];
  readonly projects: {
    id: string;
    orgId: string;
    name: string;
    changeStatus: 'PENDING' | 'APPLIED';
    limitOverrides: Record<string, number>;
  }[];
  readonly clusters: {
    id: string;
    projectId: string;
    name: string;
    kind: string;
    clusterType: string;
    tags: { key: string; value: string }[];
  }[];
  readonly databaseUsers: DatabaseUserSnapshot[];
  readonly customRoles: (CustomRoleRec & { groupId: string })[];
  readonly orgUsers: {
    id: string;
    orgId: string;
    username: string;
    status: string;
    orgRoles: string[];
    projectRoles: Record<string, string[]>;
    teamIds: string[];
  }[];
  readonly teams: { id: string; orgId: string; name: string; userIds: string[] }[];
  readonly events: EventRec[];
}

export type AuthenticationCheck =
  | 'ok'
  | 'paused'
  | 'pending'
  | 'expired'
  | 'unknown-user'
  | 'wrong-password'
  | 'out-of-scope'
  | 'unknown-cluster';

function userSnapshot(u: DbUserRec): DatabaseUserSnapshot {
  return {
    groupId: u.groupId,
    username: u.username,
    databaseName: u.databaseName,
    roles: u.roles,
    scopes: u.scopes,
    labels: u.labels,
    ...(u.description !== undefined ? { description: u.description } : {}),
    ...(u.deleteAfter !== undefined ? { deleteAfterDate: isoSeconds(u.deleteAfter) } : {}),
  };
}

/**
 * Read-only views of the simulated Atlas for tests, demos and `/__sim/state`. Each read first
 * applies lazy expiry, so what a test sees matches what the next API call would see. Passwords
 * never leave; `checkPassword`/`canAuthenticate` answer the questions an end-to-end test has.
 */
export class SimulatorInspector {
  constructor(
    private readonly state: SimState,
    private readonly clock: Clock,
    private readonly knobs: Knobs,
  ) {}

  private fresh(): SimState {
    this.state.sweepExpired(this.clock.now());
    return this.state;
  }

  databaseUsers(groupId: string): DatabaseUserSnapshot[] {
    return [...(this.fresh().project(groupId)?.dbUsers.values() ?? [])].map(userSnapshot);
  }

  databaseUser(groupId: string, username: string, databaseName = 'admin'): DatabaseUserSnapshot | undefined {
    const user = this.fresh().findDbUser(groupId, databaseName, username);
    return user ? userSnapshot(user) : undefined;
  }

  customRoles(groupId: string): CustomRoleRec[] {
    return [...(this.fresh().project(groupId)?.customRoles.values() ?? [])].map((r) => structuredClone(r));
  }

  events(groupId?: string): EventRec[] {
    return this.fresh().events.filter((e) => groupId === undefined || e.groupId === groupId);
  }

  changeStatus(groupId: string): 'PENDING' | 'APPLIED' {
    return this.fresh().changeStatus(groupId, this.clock.now(), this.knobs.propagationDelayMs);
  }

  checkPassword(groupId: string, username: string, password: string): boolean {
    const user = this.fresh().findDbUser(groupId, 'admin', username);
    return user?.scram !== undefined && scramPasswordMatches(user.scram, username, password);
  }

  /** Whether a SCRAM login to `clusterName` would succeed now, by the endpoint's login rules. */
  canAuthenticate(
    groupId: string,
    clusterName: string,
    username: string,
    password: string,
  ): AuthenticationCheck {
    const state = this.fresh();
    const cluster = state.findCluster(groupId, clusterName);
    if (!cluster) return 'unknown-cluster';
    const check = checkLogin(state, cluster, username, this.clock.now(), this.knobs.propagationDelayMs);
    if ('refusal' in check) return check.refusal;
    return scramPasswordMatches(check.credentials, username, password) ? 'ok' : 'wrong-password';
  }

  snapshot(): SimSnapshot {
    const state = this.fresh();
    const projects = [...state.projects.values()];
    return {
      now: new Date(this.clock.now()).toISOString(),
      organizations: [...state.orgs.values()],
      projects: projects.map((p) => ({
        id: p.id,
        orgId: p.orgId,
        name: p.name,
        changeStatus: this.changeStatus(p.id),
        limitOverrides: Object.fromEntries(p.limitOverrides),
      })),
      clusters: state.clusters.map((c) => ({
        id: c.id,
        projectId: c.projectId,
        name: c.name,
        kind: c.kind,
        clusterType: c.clusterType,
        tags: c.tags,
      })),
      databaseUsers: projects.flatMap((p) => [...p.dbUsers.values()].map(userSnapshot)),
      customRoles: projects.flatMap((p) =>
        [...p.customRoles.values()].map((r) => ({ ...structuredClone(r), groupId: p.id })),
      ),
      ...peopleSnapshot(state),
      events: state.events,
    };
  }
}

function peopleSnapshot(state: SimState): Pick<SimSnapshot, 'orgUsers' | 'teams'> {
  return {
    orgUsers: [...state.orgUsers.values()].map((u) => ({
      id: u.id,
      orgId: u.orgId,
      username: u.username,
      status: u.status,
      orgRoles: u.orgRoles,
      projectRoles: Object.fromEntries(u.groupRoles),
      teamIds: [...u.teamIds],
    })),
    teams: [...state.teams.values()].map((t) => ({
      id: t.id,
      orgId: t.orgId,
      name: t.name,
      userIds: [...t.userIds],
    })),
  };
}
