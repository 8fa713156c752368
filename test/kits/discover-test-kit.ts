import { pino } from 'pino';
import { FakeClock } from '../fakes/fake-clock.js';
import { AtlasWorld } from './atlas-world-test-kit.js';
import type { DatabaseUser, DatabaseUserRole, DatabaseUserScope } from '../../src/atlas/index.js';
import type { Policy } from '../../src/config/env.js';
import type { SnapshotCreateRequest } from '../../src/control-plane/protocol.js';
import { createSecretScrubber, type SecretScrubber } from '../../src/runtime/secret-scrubber.js';
import { createJobContext, type JobContext } from '../../src/worker/job-context.js';
import { createSnapshotUploader, type SnapshotUploader } from '../../src/adapters/snapshot-uploader.js';
import { AtlasMultiProjectConfig } from '../../src/adapters/atlas-multi-project/atlas-multi-project-config.js';
import { resolveMultiProjectInventoryScope } from '../../src/adapters/atlas-multi-project/atlas-multi-project-scope.js';
import type { AtlasProjectConfig } from '../../src/adapters/atlas-project/atlas-project-config.js';
import { resolveAtlasProjectScope } from '../../src/adapters/atlas-project/atlas-project-scope.js';
import type { DatabaseScope } from '../../src/adapters/scope.js';
import type { DatabaseJob, NamesProject } from '../../src/adapters/database-access/database-operation.js';
import { settingsOf } from '../../src/adapters/database-access/model/settings.js';
import {
  buildLabels,
  grantKey,
  type GrantedRole,
  type UserStrategy,
} from '../../src/adapters/database-access/model/user-model.js';

/** Shared fixtures for the discover and sweep suites: one valid baseline plus named tweaks. */

export const projectA = '6602000000000000000000a1';
export const projectB = '6602000000000000000000b2';
export const integrationId = 'int-db-1';
export const integration = {
  id: integrationId,
  kind: 'atlas-multi-project',
  config: {},
  secretRef: 'env://X',
};
export const hourMs = 3_600_000;
export const dayMs = 86_400_000;

export function testPolicy(overrides: Partial<Policy> = {}): Policy {
  return {
    allowedProjectIds: [],
    allowedRoles: [],
    allowedOrgRoles: [],
    allowedProjectRoles: [],
    maxGrantTtlMs: 30 * dayMs,
    allowAdminRoles: false,
    allowedJobTypes: [],
    ...overrides,
  };
}

/** An atlas-multi-project config (every visible project unless `projectIds` says otherwise). */
export function testConfig(overrides: Partial<AtlasMultiProjectConfig> = {}): AtlasMultiProjectConfig {
  return { ...AtlasMultiProjectConfig.parse({}), ...overrides };
}

/** The scope the atlas-multi-project kind resolves for a discover or sweep job. */
export function inventoryScope(config: AtlasMultiProjectConfig, projectId?: string): Promise<DatabaseScope> {
  const payload = projectId === undefined ? {} : { projectId };
  return resolveMultiProjectInventoryScope({ config, payload, integration });
}

/** A discover or sweep job of an atlas-multi-project integration, scope resolved as the kind does. */
export async function multiProjectJob<P extends NamesProject>(
  config: AtlasMultiProjectConfig,
  payload: P,
): Promise<DatabaseJob<DatabaseScope, P>> {
  const scope = await resolveMultiProjectInventoryScope({ config, payload, integration });
  return { scope, settings: settingsOf(config), payload, integrationId };
}

/** A discover or sweep job of an atlas-project integration on `clusterName` of `projectId`. */
export async function atlasProjectJob<P extends NamesProject>(
  target: { readonly projectId: string; readonly clusterName: string },
  payload: P,
): Promise<DatabaseJob<DatabaseScope, P>> {
  const config: AtlasProjectConfig = { ...AtlasMultiProjectConfig.parse({}), ...target };
  const request = { config, payload, integration: { ...integration, kind: 'atlas-project' } };
  return {
    scope: await resolveAtlasProjectScope(request),
    settings: settingsOf(config),
    payload,
    integrationId,
  };
}

/** The clock, the simulated Atlas (see `AtlasWorld`), and a job context whose side-effect gate is recorded. */
export interface Harness {
  readonly clock: FakeClock;
  readonly atlas: AtlasWorld;
  readonly abort: AbortController;
  readonly ctx: JobContext;
  /** The daemon's scrubber as the job sees it (`ctx.describe` reads it). */
  readonly scrubber: SecretScrubber;
  /** Each count a sweep passed to `ctx.countSweepFailures`. */
  readonly sweepFailures: number[];
}

/**
 * `beforeSideEffect` calls land in `atlas.calls` as `gate`, so a test can check that every Atlas
 * write directly follows one. Role-less users are kept (the connector parks them so); a test of
 * Atlas refusing that sets the knob `databaseUserEmptyRoles: 'refuse'`.
 */
export function harness(fencingToken = 7): Harness {
  const clock = new FakeClock();
  const atlas = new AtlasWorld(clock).setKnobs({ databaseUserEmptyRoles: 'accept' });
  const abort = new AbortController();
  const scrubber = createSecretScrubber();
  const sweepFailures: number[] = [];
  const base = createJobContext({
    jobId: 'job-1',
    attempt: 1,
    fencingToken,
    log: pino({ level: 'silent' }),
    clock,
    signal: abort.signal,
    scrubber,
    countSweepFailures: (count) => void sweepFailures.push(count),
  });
  const ctx: JobContext = {
    ...base,
    beforeSideEffect() {
      atlas.calls.push({ method: 'gate', args: [], options: {}, signalled: true });
      base.beforeSideEffect();
    },
  };
  return { clock, atlas, abort, ctx, scrubber, sweepFailures };
}

const writeMethods = new Set([
  'databaseUsers.create',
  'databaseUsers.update',
  'databaseUsers.delete',
  'customDbRoles.create',
  'customDbRoles.update',
  'customDbRoles.delete',
]);

/** Atlas writes not directly preceded by the side-effect gate (should be none). */
export function ungatedWrites(atlas: AtlasWorld): string[] {
  const methods = atlas.methods();
  return methods.filter((method, i) => writeMethods.has(method) && methods[i - 1] !== 'gate');
}

/** Calls made without the job's abort signal (should be none). */
export function unsignalledCalls(atlas: AtlasWorld): string[] {
  return atlas.calls.filter((call) => call.method !== 'gate' && !call.signalled).map((call) => call.method);
}

/**
 * The real uploader over a control plane that remembers the last committed hash per
 * integration and answers `skip` for the same content, as the protocol's snapshot endpoint does.
 */
export function fakeSnapshots(): { uploader: SnapshotUploader; created: SnapshotCreateRequest[] } {
  const created: SnapshotCreateRequest[] = [];
  const committed = new Map<string, string>();
  const pending = new Map<string, SnapshotCreateRequest>();
  const uploader = createSnapshotUploader(
    {
      createSnapshot: async (connectorId, request) => {
        if (connectorId !== 'connector-1') throw new Error(`unexpected connector ${connectorId}`);
        created.push(request);
        const snapshotId = `snap-${created.length}`;
        const skip = committed.get(request.integrationId) === request.contentSha256;
        if (!skip) pending.set(snapshotId, request);
        return { snapshotId, skip };
      },
      putSnapshotPart: async (_connectorId, snapshotId, part) => {
        if (!pending.has(snapshotId) || part < 1) throw new Error(`unexpected part ${snapshotId}/${part}`);
      },
      commitSnapshot: async (_connectorId, snapshotId) => {
        const request = pending.get(snapshotId);
        if (!request) throw new Error(`commit of unknown snapshot ${snapshotId}`);
        committed.set(request.integrationId, request.contentSha256);
      },
    },
    'connector-1',
  );
  return { uploader, created };
}

export interface UserSpec {
  readonly username?: string;
  readonly strategy?: UserStrategy;
  /** Grants: id, end, and roles on a cluster; the integration that made it (`integrationKey`) when named. */
  readonly grants?: readonly {
    id: string;
    expiresAtMs: number;
    roles: readonly GrantedRole[];
    integration?: string;
    /** When the record was written (`GrantRecord.writtenAtMs`); absent: an earlier version's. */
    writtenAtMs?: number;
  }[];
  /** Atlas's actual roles; defaults to what the grants say. */
  readonly roles?: readonly DatabaseUserRole[];
  readonly scopes?: readonly DatabaseUserScope[];
  readonly lastRevokedAt?: string;
  readonly deleteAfterDate?: string | null;
}

/** A connector-made user whose Atlas state matches its labels unless the spec says otherwise. */
export function managedUser(spec: UserSpec, nowMs: number): DatabaseUser {
  const grants = (spec.grants ?? []).map((g) => ({
    key: grantKey(g.id),
    expiresAtMs: g.expiresAtMs,
    roles: g.roles,
    ...(g.integration === undefined ? {} : { integration: g.integration }),
    ...(g.writtenAtMs === undefined ? {} : { writtenAtMs: g.writtenAtMs }),
  }));
  const fromGrants = grants.flatMap((g) =>
    g.roles.map(({ roleName, databaseName, collectionName }) => ({
      roleName,
      databaseName,
      ...(collectionName === undefined ? {} : { collectionName }),
    })),
  );
  const clusters = [...new Set(grants.flatMap((g) => g.roles.map((r) => r.cluster)))];
  const deleteAfter =
    spec.deleteAfterDate === null
      ? undefined
      : (spec.deleteAfterDate ?? new Date(nowMs + 6 * dayMs).toISOString());
  return {
    username: spec.username ?? 'jit-alice-example-com-3f9a',
    databaseName: 'admin',
    roles: [...(spec.roles ?? fromGrants)],
    scopes: [...(spec.scopes ?? clusters.map((name): DatabaseUserScope => ({ name, type: 'CLUSTER' })))],
    labels: buildLabels({
      requesterId: 'req-alice',
      strategy: spec.strategy ?? 'per-requester',
      integrationId,
      grants,
      ...(spec.lastRevokedAt === undefined ? {} : { lastRevokedAt: spec.lastRevokedAt }),
    }),
    ...(deleteAfter === undefined ? {} : { deleteAfterDate: deleteAfter }),
  };
}

export const readSales: GrantedRole = { cluster: 'Cluster0', roleName: 'read', databaseName: 'sales' };
export const writeHr: GrantedRole = { cluster: 'Cluster0', roleName: 'readWrite', databaseName: 'hr' };
