import { ClusterData } from './cluster-data.js';
import type { AtlasFixture, FixtureCluster } from './fixture.js';
import type { IdGenerator } from './ids.js';
import { isoSeconds } from './ids.js';
import type {
  ClusterRec,
  CredentialRec,
  DbUserRec,
  EventRec,
  OrgUserRec,
  ProjectRec,
  TeamRec,
} from './model.js';

function clusterRecOf(c: FixtureCluster): ClusterRec {
  return {
    ...c,
    processes: c.processes.map((p) => ({
      ...p,
      id: `${p.hostname}:${p.port}`,
      databases: p.databases ?? c.databases,
    })),
  };
}

export interface Actor {
  readonly credential: CredentialRec;
  /** The IPv4 address events show (`remoteAddress`), when the client has one. */
  readonly remoteAddress?: string;
  /** The client's address as per-IP limits count it; every loopback client is one (`loopback`). */
  readonly clientAddress: string;
}

/**
 * The simulated Atlas data. Built from the fixture and rebuilt on reset; every mutation that a
 * cluster would have to apply goes through `markChanged`, which drives the PENDING → APPLIED status.
 */
export class SimState {
  orgs = new Map<string, { id: string; name: string }>();
  projects = new Map<string, ProjectRec>();
  clusters: ClusterRec[] = [];
  orgUsers = new Map<string, OrgUserRec>();
  teams = new Map<string, TeamRec>();
  credentials: CredentialRec[] = [];
  events: EventRec[] = [];
  /** Cluster id → the documents its wire endpoint serves. */
  clusterData = new Map<string, ClusterData>();

  constructor(
    private readonly fixture: AtlasFixture,
    private readonly extraCredentials: readonly CredentialRec[],
    readonly ids: IdGenerator,
    /** Seeded invitations count as sent when the simulator (re)loads, so they stay PENDING 30 days. */
    private readonly now: () => number = () => 0,
  ) {
    this.load();
  }

  reset(): void {
    this.load();
  }

  private load(): void {
    const f = this.fixture;
    this.orgs = new Map(f.organizations.map((o) => [o.id, { ...o }]));
    this.projects = new Map(
      f.projects.map((p) => [
        p.id,
        { ...p, tags: [...p.tags], limitOverrides: new Map(), dbUsers: new Map(), customRoles: new Map() },
      ]),
    );
    this.clusters = f.clusters.map(clusterRecOf);
    this.clusterData = new Map(this.clusters.map((c) => [c.id, new ClusterData(c)]));
    this.orgUsers = new Map(f.orgUsers.map((u) => [u.id, orgUserFromFixture(u, this.now())]));
    this.teams = new Map(
      f.teams.map((t) => [
        t.id,
        {
          id: t.id,
          orgId: t.orgId,
          name: t.name,
          userIds: new Set(t.userIds),
          projectRoles: new Map(t.projectRoles.map((r) => [r.projectId, [...r.roles]])),
        },
      ]),
    );
    for (const team of this.teams.values()) {
      for (const userId of team.userIds) this.orgUsers.get(userId)?.teamIds.add(team.id);
    }
    this.credentials = [...this.extraCredentials, ...credentialsFromFixture(f)];
    this.events = [];
  }

  project(id: string): ProjectRec | undefined {
    return this.projects.get(id);
  }

  projectsOf(orgId: string): ProjectRec[] {
    return [...this.projects.values()].filter((p) => p.orgId === orgId);
  }

  clustersOf(projectId: string, kind?: 'dedicated' | 'flex'): ClusterRec[] {
    return this.clusters.filter((c) => c.projectId === projectId && (kind === undefined || c.kind === kind));
  }

  findCluster(projectId: string, name: string, kind?: 'dedicated' | 'flex'): ClusterRec | undefined {
    // Atlas cluster names are case-insensitive for lookups.
    return this.clustersOf(projectId, kind).find((c) => c.name.toLowerCase() === name.toLowerCase());
  }

  /**
   * The cluster is gone, as once Atlas finishes a `DELETE /groups/{groupId}/clusters/{name}`: no
   * listing or read shows it, and a user scope naming it is refused. Database users keep the scope
   * they had (what Atlas does to them is unconfirmed). False when there was no such cluster.
   */
  removeCluster(projectId: string, name: string): boolean {
    const cluster = this.findCluster(projectId, name);
    if (!cluster) return false;
    this.clusters = this.clusters.filter((c) => c !== cluster);
    return true;
  }

  /**
   * A cluster is created (finished, IDLE unless told), as once Atlas completes a
   * `POST /groups/{groupId}/clusters`. False when the project has a cluster of that name already.
   */
  addCluster(cluster: FixtureCluster): boolean {
    if (this.findCluster(cluster.projectId, cluster.name)) return false;
    const rec = clusterRecOf(cluster);
    this.clusters.push(rec);
    if (!this.clusterData.has(rec.id)) this.clusterData.set(rec.id, new ClusterData(rec));
    return true;
  }

  /**
   * The cluster's tags are replaced, or it is paused or resumed, as a finished
   * `PATCH /groups/{groupId}/clusters/{name}` leaves it. False when there is no such cluster.
   */
  updateCluster(
    projectId: string,
    name: string,
    change: { readonly tags?: readonly { key: string; value: string }[]; readonly paused?: boolean },
  ): boolean {
    const cluster = this.findCluster(projectId, name);
    if (!cluster) return false;
    if (change.tags !== undefined) cluster.tags = change.tags.map((t) => ({ ...t }));
    if (change.paused !== undefined) cluster.paused = change.paused;
    return true;
  }

  orgUsersOf(orgId: string): OrgUserRec[] {
    return [...this.orgUsers.values()].filter((u) => u.orgId === orgId);
  }

  markChanged(projectId: string, at: number): void {
    const project = this.projects.get(projectId);
    if (project) project.lastChangeAt = Math.max(project.lastChangeAt ?? 0, at);
  }

  changeStatus(projectId: string, now: number, propagationDelayMs: number): 'PENDING' | 'APPLIED' {
    const last = this.projects.get(projectId)?.lastChangeAt;
    return last !== undefined && now < last + propagationDelayMs ? 'PENDING' : 'APPLIED';
  }

  recordEvent(event: Omit<EventRec, 'id' | 'created'>, at: number, actor?: Actor): EventRec {
    const who: Partial<EventRec> =
      actor?.credential.kind === 'apiKey'
        ? { apiKeyId: actor.credential.id, publicKey: actor.credential.name }
        : {};
    const address = actor?.remoteAddress;
    const rec: EventRec = {
      ...event,
      ...who,
      ...(address !== undefined ? { remoteAddress: address } : {}),
      id: this.ids.next(),
      created: isoSeconds(at),
    };
    this.events.push(rec);
    return rec;
  }

  /**
   * Removes temporary users whose `deleteAfterDate` has passed. Runs lazily before every request, and
   * back-dates the change and the event to the moment of expiry so results do not depend on when
   * the next request happens to arrive.
   */
  sweepExpired(now: number): void {
    this.expireInvitations(now);
    for (const project of this.projects.values()) {
      for (const [key, user] of project.dbUsers) {
        if (user.deleteAfter === undefined || user.deleteAfter > now) continue;
        project.dbUsers.delete(key);
        this.markChanged(project.id, user.deleteAfter);
        this.recordEvent(
          {
            eventTypeName: 'MONGODB_USER_DELETED',
            kind: 'nds',
            orgId: project.orgId,
            groupId: project.id,
            dbUserUsername: user.username,
          },
          user.deleteAfter,
        );
      }
    }
  }

  /** An invitation not accepted within its 30 days turns INVITATION_EXPIRED and grants nothing. */
  private expireInvitations(now: number): void {
    for (const user of this.orgUsers.values()) {
      if (user.status !== 'PENDING' || user.invitationExpiresAt === undefined) continue;
      if (Date.parse(user.invitationExpiresAt) > now) continue;
      user.status = 'INVITATION_EXPIRED';
    }
  }

  findDbUser(projectId: string, databaseName: string, username: string): DbUserRec | undefined {
    return this.projects.get(projectId)?.dbUsers.get(`${databaseName}/${username}`);
  }
}

function orgUserFromFixture(u: AtlasFixture['orgUsers'][number], loadedAt: number): OrgUserRec {
  const pending = u.status === 'PENDING';
  const invitedAt = Math.max(Date.parse(u.createdAt), loadedAt);
  return {
    id: u.id,
    orgId: u.orgId,
    username: u.username,
    status: u.status,
    firstName: u.firstName,
    lastName: u.lastName,
    createdAt: u.createdAt,
    ...(pending
      ? {
          invitationCreatedAt: isoSeconds(invitedAt),
          invitationExpiresAt: isoSeconds(invitedAt + 30 * 86_400_000),
          inviterUsername: u.inviterUsername ?? 'owner@example.com',
        }
      : {}),
    orgRoles: [...u.orgRoles],
    groupRoles: new Map(u.projectRoles.map((r) => [r.projectId, [...r.roles]])),
    teamIds: new Set(),
  };
}

function credentialsFromFixture(f: AtlasFixture): CredentialRec[] {
  return [
    ...f.apiKeys.map((k): CredentialRec => ({
      kind: 'apiKey',
      id: k.id,
      name: k.publicKey,
      secret: k.privateKey,
      desc: k.desc,
      roles: k.roles,
    })),
    ...f.serviceAccounts.map((s): CredentialRec => ({
      kind: 'serviceAccount',
      id: s.clientId.slice(-24).toLowerCase(),
      name: s.clientId,
      secret: s.clientSecret,
      desc: s.name,
      roles: s.roles,
    })),
  ];
}
