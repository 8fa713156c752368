import { z } from 'zod';
import { parseJsonText } from '../../runtime/json-text.js';

/**
 * The simulator's seed data. Loaded from JSON (SANDBOX_ATLAS_FIXTURE) or built in code, and parsed
 * with this schema either way, so a typo in a fixture fails at start-up instead of as a puzzling
 * 404 in the middle of a test. Cross-references (orgId, projectId, team ids…) are checked by
 * `checkFixtureReferences`.
 */
const objectId = z.string().regex(/^[a-f0-9]{24}$/, 'must be a 24-hex id');
const tag = z.strictObject({ key: z.string().min(1).max(255), value: z.string().min(1).max(255) });
const orgRole = z.enum([
  'ORG_OWNER',
  'ORG_GROUP_CREATOR',
  'ORG_BILLING_ADMIN',
  'ORG_BILLING_READ_ONLY',
  'ORG_STREAM_PROCESSING_ADMIN',
  'ORG_READ_ONLY',
  'ORG_MEMBER',
]);
const roleAssignment = z.union([
  z.strictObject({ orgId: objectId, roleName: orgRole }),
  z.strictObject({ groupId: objectId, roleName: z.string().regex(/^GROUP_[A-Z_]+$/) }),
]);

const privateEndpoint = z.strictObject({
  connectionString: z.string().optional(),
  srvConnectionString: z.string().optional(),
  srvShardOptimizedConnectionString: z.string().optional(),
  type: z.enum(['MONGOD', 'MONGOS']),
  endpoints: z.array(
    z.strictObject({
      endpointId: z.string(),
      providerName: z.enum(['AWS', 'AZURE', 'GCP']),
      region: z.string(),
    }),
  ),
});

const database = z.strictObject({
  name: z.string().min(1),
  /** Served over the cluster's wire-protocol endpoint (no Atlas Admin API endpoint lists them). */
  collections: z.array(z.string().min(1)).default([]),
  /**
   * Documents per collection, as plain JSON, served by `find` on the wire endpoint. A collection
   * without an entry gets three sample documents (`_id` 1 to 3).
   */
  documents: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))).optional(),
});

/** A Cloud Backup snapshot; its namespaces default to the cluster's databases at load time. */
const backupSnapshot = z.strictObject({
  id: objectId,
  createdAt: z.iso.datetime(),
  status: z.enum(['queued', 'inProgress', 'completed', 'failed']).default('completed'),
  databases: z.array(database).optional(),
});

const processSchema = z.strictObject({
  hostname: z.string().min(1),
  port: z.number().int().min(1).max(65535),
  typeName: z.enum([
    'REPLICA_PRIMARY',
    'REPLICA_SECONDARY',
    'RECOVERING',
    'SHARD_MONGOS',
    'SHARD_CONFIG',
    'SHARD_STANDALONE',
    'SHARD_PRIMARY',
    'SHARD_SECONDARY',
    'NO_DATA',
  ]),
  userAlias: z.string().min(1),
  replicaSetName: z.string().optional(),
  shardName: z.string().optional(),
  /** Defaults to the cluster's databases; a mongos lists the same databases. */
  databases: z.array(database).optional(),
});

/** One cluster of the fixture (also what `AtlasSimulator.addCluster` takes). */
export const fixtureClusterSchema = z.strictObject({
  id: objectId,
  projectId: objectId,
  name: z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9-]*$/),
  /** `flex` clusters are served by /flexClusters only; `dedicated` ones by /clusters. */
  kind: z.enum(['dedicated', 'flex']).default('dedicated'),
  clusterType: z.enum(['REPLICASET', 'SHARDED', 'GEOSHARDED']).default('REPLICASET'),
  mongoDBVersion: z
    .string()
    .regex(/^\d+\.\d+\.\d+$/)
    .default('8.0.4'),
  stateName: z.enum(['IDLE', 'CREATING', 'UPDATING', 'DELETING', 'REPAIRING']).default('IDLE'),
  paused: z.boolean().default(false),
  /** Atlas's own system and shadow clusters are listed too; customers' clusters are `NONE`. */
  internalClusterRole: z.enum(['NONE', 'SYSTEM_CLUSTER', 'INTERNAL_SHADOW_CLUSTER']).default('NONE'),
  backupEnabled: z.boolean().default(false),
  /** Served only when `backupEnabled`; newest last is not assumed (the connector picks by date). */
  backupSnapshots: z.array(backupSnapshot).default([]),
  createDate: z.iso.datetime().default('2025-01-15T09:30:00Z'),
  providerName: z.enum(['AWS', 'AZURE', 'GCP']).default('AWS'),
  regionName: z.string().default('US_EAST_1'),
  instanceSize: z.string().default('M10'),
  numShards: z.number().int().min(1).default(1),
  tags: z.array(tag).default([]),
  connectionStrings: z
    .strictObject({
      standard: z.string().optional(),
      standardSrv: z.string().optional(),
      private: z.string().optional(),
      privateSrv: z.string().optional(),
      privateEndpoint: z.array(privateEndpoint).optional(),
    })
    .default({}),
  databases: z.array(database).default([]),
  processes: z.array(processSchema).default([]),
});

const orgUser = z.strictObject({
  id: objectId,
  orgId: objectId,
  username: z.email(),
  status: z.enum(['ACTIVE', 'PENDING']),
  firstName: z.string().default('Sandbox'),
  lastName: z.string().default('User'),
  createdAt: z.iso.datetime().default('2025-01-10T08:00:00Z'),
  inviterUsername: z.email().optional(),
  orgRoles: z.array(orgRole).min(1),
  projectRoles: z
    .array(
      z.strictObject({ projectId: objectId, roles: z.array(z.string().regex(/^GROUP_[A-Z_]+$/)).min(1) }),
    )
    .default([]),
});

const team = z.strictObject({
  id: objectId,
  orgId: objectId,
  name: z.string().min(1),
  userIds: z.array(objectId).default([]),
  projectRoles: z
    .array(z.strictObject({ projectId: objectId, roles: z.array(z.string()).min(1) }))
    .default([]),
});

export const atlasFixtureSchema = z.strictObject({
  organizations: z.array(z.strictObject({ id: objectId, name: z.string().min(1).max(64) })).min(1),
  projects: z.array(
    z.strictObject({
      id: objectId,
      orgId: objectId,
      name: z.string().min(1).max(64),
      created: z.iso.datetime().default('2025-01-10T08:00:00Z'),
      tags: z.array(tag).default([]),
    }),
  ),
  clusters: z.array(fixtureClusterSchema).default([]),
  orgUsers: z.array(orgUser).default([]),
  teams: z.array(team).default([]),
  /** Extra programmatic API keys (the options' key is added as ORG_OWNER of the first org). */
  apiKeys: z
    .array(
      z.strictObject({
        id: objectId,
        publicKey: z.string().regex(/^[a-z]{8}$/, 'Atlas public keys are 8 lowercase letters'),
        privateKey: z.string().min(1),
        desc: z.string().min(1).max(250),
        roles: z.array(roleAssignment).min(1),
      }),
    )
    .default([]),
  serviceAccounts: z
    .array(
      z.strictObject({
        clientId: z.string().regex(/^mdb_sa_id_[a-fA-F\d]{24}$/),
        clientSecret: z.string().min(1),
        name: z.string().min(1).max(64),
        roles: z.array(roleAssignment).min(1),
      }),
    )
    .default([]),
});

export type AtlasFixture = z.infer<typeof atlasFixtureSchema>;
export type AtlasFixtureInput = z.input<typeof atlasFixtureSchema>;
export type FixtureCluster = AtlasFixture['clusters'][number];
export type FixtureClusterInput = z.input<typeof fixtureClusterSchema>;
export type FixtureProcess = FixtureCluster['processes'][number];
export type FixtureDatabase = FixtureCluster['databases'][number];
export type FixtureOrgUser = AtlasFixture['orgUsers'][number];
export type FixtureRoleAssignment = z.infer<typeof roleAssignment>;
export type FixtureBackupSnapshot = FixtureCluster['backupSnapshots'][number];
export type FixtureProcessInput = z.input<typeof processSchema>;

/** Parses and cross-checks a fixture; throws an Error naming every problem. */
export function parseFixture(input: unknown): AtlasFixture {
  const parsed = atlasFixtureSchema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid Atlas simulator fixture:\n  ${problems.join('\n  ')}`);
  }
  const problems = checkFixtureReferences(parsed.data);
  if (problems.length > 0) throw new Error(`invalid Atlas simulator fixture:\n  ${problems.join('\n  ')}`);
  return parsed.data;
}

/**
 * A fixture file's text (SANDBOX_ATLAS_FIXTURE), parsed. A leading UTF-8 byte order mark (Windows
 * editors save one) is dropped, as from a secret's JSON payload.
 */
export function parseFixtureText(text: string): AtlasFixture {
  return parseFixture(parseJsonText(text));
}

export function checkFixtureReferences(fixture: AtlasFixture): string[] {
  const orgs = new Set(fixture.organizations.map((o) => o.id));
  const projects = new Set(fixture.projects.map((p) => p.id));
  const users = new Set(fixture.orgUsers.map((u) => u.id));
  const teams = new Set(fixture.teams.map((t) => t.id));
  const problems: string[] = [];
  const need = (ok: boolean, what: string): void => {
    if (!ok) problems.push(what);
  };
  for (const p of fixture.projects) need(orgs.has(p.orgId), `project ${p.id}: unknown orgId ${p.orgId}`);
  for (const c of fixture.clusters) need(projects.has(c.projectId), `cluster ${c.name}: unknown projectId`);
  for (const u of fixture.orgUsers) {
    need(orgs.has(u.orgId), `orgUser ${u.username}: unknown orgId`);
    for (const r of u.projectRoles) need(projects.has(r.projectId), `orgUser ${u.username}: unknown project`);
  }
  for (const t of fixture.teams) {
    need(orgs.has(t.orgId), `team ${t.name}: unknown orgId`);
    for (const id of t.userIds) need(users.has(id), `team ${t.name}: unknown user ${id}`);
    for (const r of t.projectRoles) need(projects.has(r.projectId), `team ${t.name}: unknown project`);
  }
  const roleTargets = [...fixture.apiKeys, ...fixture.serviceAccounts].flatMap((k) => k.roles);
  for (const r of roleTargets) {
    if ('orgId' in r) need(orgs.has(r.orgId), `role ${r.roleName}: unknown orgId ${r.orgId}`);
    else need(projects.has(r.groupId), `role ${r.roleName}: unknown groupId ${r.groupId}`);
  }
  need(teams.size === fixture.teams.length, 'team ids must be unique');
  const names = fixture.clusters.map((c) => `${c.projectId}/${c.name.toLowerCase()}`);
  need(new Set(names).size === names.length, 'cluster names must be unique per project');
  return problems;
}
