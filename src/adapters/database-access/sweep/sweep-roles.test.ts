import { describe, expect, it } from 'vitest';
import type { CustomDbRole } from '../../../atlas/index.js';
import { leaseLostError } from '../../../worker/job-context.js';
import type { AtlasMultiProjectConfig } from '../../atlas-multi-project/atlas-multi-project-config.js';
import {
  harness,
  hourMs,
  managedUser,
  projectA,
  projectB,
  readSales,
  testConfig,
  multiProjectJob,
  testPolicy,
  ungatedWrites,
  type Harness,
} from '../../../../test/kits/discover-test-kit.js';
import { sweep } from './sweep.js';
import type { GrantedRole } from '../model/user-model.js';

const role = (roleName: string, inheritedRoles: CustomDbRole['inheritedRoles'] = []): CustomDbRole => ({
  roleName,
  actions: [{ action: 'FIND', resources: [{ cluster: false, db: 'sales', collection: '' }] }],
  inheritedRoles,
});
const custom = (roleName: string): GrantedRole => ({ cluster: 'Cluster0', roleName, databaseName: 'admin' });

function setup(): Harness {
  const h = harness();
  h.atlas.addProject(projectA).addProject(projectB);
  h.atlas.addCluster(projectA, { name: 'Cluster0' }).addCluster(projectB, { name: 'Cluster0' });
  return h;
}

const run = async (h: Harness, config: AtlasMultiProjectConfig = testConfig(), projectId?: string) =>
  sweep(
    await multiProjectJob(config, projectId === undefined ? {} : { projectId }),
    { atlas: h.atlas.client, clock: h.clock, policy: testPolicy() },
    h.ctx,
  );

const live = (h: Harness, username: string, roles: GrantedRole[], hours = 2) =>
  h.atlas.addUser(
    projectA,
    managedUser(
      { username, grants: [{ id: username, expiresAtMs: h.clock.now() + hours * hourMs, roles }] },
      h.clock.now(),
    ),
  );

const names = (h: Harness, projectId = projectA) =>
  h.atlas
    .customRolesIn(projectId)
    .map((r) => r.roleName)
    .sort();

describe('sweep: connector-made custom roles', () => {
  it('deletes jit-r- roles nobody holds or inherits, and leaves the rest', async () => {
    const h = setup();
    for (const name of ['jit-r-unused', 'jit-r-held', 'jit-r-parent', 'reporting'])
      h.atlas.addCustomRole(projectA, role(name));
    h.atlas.addCustomRole(projectA, role('customer-child', [{ db: 'admin', role: 'jit-r-parent' }]));
    live(h, 'jit-bob-1a2b', [custom('jit-r-held')]);
    const result = await run(h);
    expect(result.customRolesDeleted).toEqual([{ projectId: projectA, roleName: 'jit-r-unused' }]);
    expect(names(h)).toEqual(['customer-child', 'jit-r-held', 'jit-r-parent', 'reporting']);
    expect(ungatedWrites(h.atlas)).toEqual([]);
  });

  it('deletes a role in the same sweep that took it from its last holder', async () => {
    const h = setup();
    h.atlas.addCustomRole(projectA, role('jit-r-temp'));
    live(h, 'jit-bob-1a2b', [custom('jit-r-temp'), readSales], -1);
    h.atlas.setKnobs({ databaseUserEmptyRoles: 'refuse' });
    const result = await run(h);
    expect(result.usersDeleted).toHaveLength(1);
    expect(result.customRolesDeleted).toEqual([{ projectId: projectA, roleName: 'jit-r-temp' }]);
  });

  it('keeps a role Atlas reports in use (assigned after the listing) and says so', async () => {
    const h = setup();
    h.atlas.addCustomRole(projectA, role('jit-r-racing'));
    h.atlas.beforeNext('customDbRoles.delete', () => live(h, 'jit-carol-9f8e', [custom('jit-r-racing')]));
    const result = await run(h);
    expect(result.customRolesDeleted).toEqual([]);
    expect(result.customRolesKept).toEqual([
      { projectId: projectA, roleName: 'jit-r-racing', reason: 'ATLAS_CUSTOM_ROLE_IN_USE_BY_USERS' },
    ]);
    expect(names(h)).toEqual(['jit-r-racing']);
  });

  it('puts back a role Atlas deleted from under a user a grant wrote after the listing', async () => {
    const h = setup();
    // Atlas refuses the delete only for a user left with no role (the spec's wording): the user
    // keeps `read`, so the delete goes through and strips the role from it.
    h.atlas.setKnobs({ customRoleDeletion: 'refuseIfStranding' });
    h.atlas.addCustomRole(projectA, role('jit-r-racing'));
    h.atlas.beforeNext('customDbRoles.delete', () =>
      live(h, 'jit-carol-9f8e', [custom('jit-r-racing'), readSales]),
    );
    const result = await run(h);
    expect(h.atlas.customRolesIn(projectA)).toEqual([role('jit-r-racing')]);
    expect(h.atlas.user(projectA, 'jit-carol-9f8e')?.roles).toEqual([
      { roleName: 'jit-r-racing', databaseName: 'admin' },
      { roleName: 'read', databaseName: 'sales' },
    ]);
    expect(result.customRolesDeleted).toEqual([{ projectId: projectA, roleName: 'jit-r-racing' }]);
    expect(result.customRolesRestored).toEqual([
      { projectId: projectA, roleName: 'jit-r-racing', usernames: ['jit-carol-9f8e'] },
    ]);
    expect(result.drift.repaired).toMatchObject([
      { projectId: projectA, username: 'jit-carol-9f8e', missingRoles: ['jit-r-racing@admin'] },
    ]);
    expect(result.drift.refusedByPolicy).toEqual([]);
    expect(ungatedWrites(h.atlas)).toEqual([]);
  });
});

describe('sweep: a connector role gone from under an active grant', () => {
  it('reports a recorded connector role the project no longer defines as gone, not as refused by policy', async () => {
    const h = setup();
    h.atlas.addCustomRole(projectA, role('jit-r-gone'));
    live(h, 'jit-dan-7c6d', [custom('jit-r-gone'), readSales]);
    // Deleted by a person (or by a sweep that stopped before putting it back): Atlas strips it.
    h.atlas.setKnobs({ customRoleDeletion: 'refuseIfStranding' }).removeCustomRole(projectA, 'jit-r-gone');
    const result = await run(h);
    expect(result.drift.connectorRolesGone).toEqual([
      { projectId: projectA, username: 'jit-dan-7c6d', roles: ['jit-r-gone@admin'] },
    ]);
    expect(result.drift.refusedByPolicy).toEqual([]);
    expect(result.customRolesRestored).toEqual([]);
    expect(names(h)).toEqual([]);
    expect(h.atlas.user(projectA, 'jit-dan-7c6d')?.roles).toEqual([
      { roleName: 'read', databaseName: 'sales' },
    ]);
  });

  it('stops before putting a stripped role back when the lease is lost, making no further write', async () => {
    const h = setup();
    h.atlas.setKnobs({ customRoleDeletion: 'refuseIfStranding' });
    h.atlas.addCustomRole(projectA, role('jit-r-racing'));
    h.atlas.beforeNext('customDbRoles.delete', () =>
      live(h, 'jit-carol-9f8e', [custom('jit-r-racing'), readSales]),
    );
    h.atlas.beforeNext('databaseUsers.list', () => undefined);
    h.atlas.beforeNext('databaseUsers.list', () => h.abort.abort(leaseLostError('job-1', 'test')));
    await expect(run(h, testConfig({ projectIds: [projectA] }))).rejects.toMatchObject({
      code: 'lease_lost',
    });
    expect(h.atlas.callsTo('customDbRoles.delete')).toEqual([[projectA, 'jit-r-racing']]);
    expect(h.atlas.callsTo('databaseUsers.list')).toHaveLength(2);
    expect(h.atlas.callsTo('customDbRoles.create')).toEqual([]);
    expect(h.atlas.callsTo('databaseUsers.update')).toEqual([]);
  });
});

describe('sweep: failures', () => {
  it('collects one user’s failure and carries on with the next', async () => {
    const h = setup();
    h.atlas.addCustomRole(projectA, role('jit-r-first'));
    live(h, 'jit-a-first', [custom('jit-r-first')], -1);
    live(h, 'jit-b-second', [readSales], -1);
    h.atlas.failNext('databaseUsers.update', 'UNEXPECTED_ERROR');
    const result = await run(h);
    expect(result.errors).toEqual([
      {
        projectId: projectA,
        username: 'jit-a-first',
        code: 'upstream_unavailable',
        message: expect.any(String),
      },
    ]);
    expect(h.atlas.user(projectA, 'jit-b-second')?.roles).toEqual([]);
    // The failed user may still hold its role, so the role is not collected from under it.
    expect(names(h)).toEqual(['jit-r-first']);
    // Counted for atlas_connector_sweep_failures_total: that user's access may outlive its end.
    expect(h.sweepFailures).toEqual([1]);
  });

  it('reports a user’s failure without the secret or the connection-string password Atlas echoed', async () => {
    // Test-only stand-ins: a value registered with the daemon's scrubber and a URI's password.
    const registered = 'Qz9-registered-test-value';
    const uriPassword = 'uri-test-password';
    const h = setup();
    h.scrubber.add(registered);
    live(h, 'jit-a-first', [readSales], -1);
    h.atlas.answerNext('databaseUsers.update', 500, {
      error: 500,
      errorCode: 'UNEXPECTED_ERROR',
      detail: `cannot reach mongodb+srv://jit-user:${uriPassword}@cluster0.example.net with ${registered}`,
      reason: 'Internal Server Error',
    });
    const result = await run(h);
    expect(result.errors).toEqual([
      {
        projectId: projectA,
        username: 'jit-a-first',
        code: 'upstream_unavailable',
        message: expect.stringContaining('mongodb+srv://[REDACTED]@cluster0.example.net with [REDACTED]'),
      },
    ]);
    expect(JSON.stringify(result)).not.toContain(registered);
    expect(JSON.stringify(result)).not.toContain(uriPassword);
  });

  it('stops at once when the lease is lost, making no further write', async () => {
    const h = setup();
    live(h, 'jit-a-first', [readSales], -1);
    live(h, 'jit-b-second', [readSales], -1);
    h.atlas.addCustomRole(projectA, role('jit-r-unused'));
    h.atlas.beforeNext('databaseUsers.update', () => h.abort.abort(leaseLostError('job-1', 'test')));
    await expect(run(h, testConfig({ projectIds: [projectA] }))).rejects.toMatchObject({
      code: 'lease_lost',
    });
    expect(h.atlas.callsTo('databaseUsers.update')).toHaveLength(1);
    expect(h.atlas.callsTo('customDbRoles.delete')).toEqual([]);
  });

  it('reports a project it cannot list and sweeps the others', async () => {
    const h = setup();
    const lost = '6602000000000000000000c3';
    live(h, 'jit-a-first', [readSales], -1);
    const result = await run(h, testConfig({ projectIds: [lost, projectA] }));
    expect(result.errors).toEqual([{ projectId: lost, code: 'not_found', message: expect.any(String) }]);
    expect(result).toMatchObject({ projects: 1, usersChecked: 1 });
    expect(h.sweepFailures).toEqual([1]);
  });
});

describe('sweep: scope', () => {
  it('sweeps only the project the payload names', async () => {
    const h = setup();
    h.atlas.addCustomRole(projectB, role('jit-r-b'));
    const result = await run(h, testConfig(), projectB);
    expect(result.projects).toBe(1);
    // Listed again after a role's delete: a grant may have been stripped of it meanwhile.
    expect(h.atlas.callsTo('databaseUsers.list')).toEqual([[projectB], [projectB]]);
    expect(result.customRolesDeleted).toEqual([{ projectId: projectB, roleName: 'jit-r-b' }]);
  });

  it('refuses a named project outside the integration before any Atlas call', async () => {
    const h = setup();
    await expect(run(h, testConfig({ projectIds: [projectA] }), projectB)).rejects.toMatchObject({
      code: 'invalid_request',
    });
    expect(h.atlas.methods()).toEqual([]);
  });
});
