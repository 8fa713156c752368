import { describe, expect, it } from 'vitest';
import type { RoleAssignment } from '../../atlas/index.js';
import {
  describeVerdict,
  evaluateRoles,
  grantCommand,
  grantRemedy,
  type CredentialIdentity,
  type RoleTarget,
} from './role-requirements.js';

const orgId = '6a1b2c3d4e5f6a7b8c9d0e1f';
const projectId = '5f1a2b3c4d5e6f7a8b9c0d1e';
const project: RoleTarget = { scope: 'project', projectId, orgId, name: 'payments' };
const org: RoleTarget = { scope: 'org', orgId };
const apiKey: CredentialIdentity = {
  type: 'api-key',
  publicKey: 'abcdefgh',
  apiKeyId: '5d1111111111111111111111',
};
const clientId = 'mdb_sa_id_0123456789abcdef01234567';
const serviceAccount: CredentialIdentity = { type: 'service-account', clientId };

const onProject = (...roles: string[]): RoleAssignment[] =>
  roles.map((roleName) => ({ groupId: projectId, roleName }));
const onOrg = (...roles: string[]): RoleAssignment[] => roles.map((roleName) => ({ orgId, roleName }));

describe('evaluateRoles', () => {
  it.each([
    ['GROUP_OWNER on the project', onProject('GROUP_OWNER'), 'owner'],
    ['ORG_OWNER, which acts as GROUP_OWNER on every project of the org', onOrg('ORG_OWNER'), 'owner'],
    [
      'Database Access Admin plus Read Only',
      onProject('GROUP_DATABASE_ACCESS_ADMIN', 'GROUP_READ_ONLY'),
      'least-privilege',
    ],
    [
      'Database Access Admin with Read Only from ORG_READ_ONLY',
      [...onProject('GROUP_DATABASE_ACCESS_ADMIN'), ...onOrg('ORG_READ_ONLY')],
      'least-privilege',
    ],
    ['Database Access Admin alone', onProject('GROUP_DATABASE_ACCESS_ADMIN'), 'missing'],
    ['Read Only alone', onProject('GROUP_READ_ONLY'), 'missing'],
    [
      'GROUP_OWNER on another project',
      [{ groupId: '5f0000000000000000000000', roleName: 'GROUP_OWNER' }],
      'missing',
    ],
    ['ORG_OWNER of another org', [{ orgId: '6a0000000000000000000000', roleName: 'ORG_OWNER' }], 'missing'],
  ])('judges a project credential with %s', (_case, assignments, outcome) => {
    expect(evaluateRoles(project, assignments).outcome).toBe(outcome);
  });

  it('does not credit org roles when the project organization is unknown', () => {
    const verdict = evaluateRoles({ scope: 'project', projectId }, onOrg('ORG_OWNER'));

    expect(verdict).toMatchObject({ outcome: 'missing', direct: [], implied: [] });
  });

  it('needs ORG_OWNER for an organization target', () => {
    expect(evaluateRoles(org, onOrg('ORG_OWNER')).outcome).toBe('owner');
    expect(
      evaluateRoles(org, [...onOrg('ORG_MEMBER', 'ORG_READ_ONLY'), ...onProject('GROUP_OWNER')]).outcome,
    ).toBe('missing');
  });

  it('describes what is held, where it comes from, and what is missing', () => {
    expect(describeVerdict(evaluateRoles(project, onOrg('ORG_OWNER')))).toBe(
      `project payments (${projectId}): holds GROUP_OWNER (from ORG_OWNER): enough`,
    );
    expect(describeVerdict(evaluateRoles(org, onOrg('ORG_MEMBER')))).toBe(
      `organization ${orgId}: holds ORG_MEMBER; needs ORG_OWNER`,
    );
    expect(describeVerdict(evaluateRoles(project, []))).toContain('holds no role; needs GROUP_OWNER');
  });
});

describe('grantCommand', () => {
  it('uses the Atlas CLI assign commands for API keys', () => {
    expect(grantCommand(project, apiKey)).toBe(
      `atlas projects apiKeys assign ${apiKey.apiKeyId} --projectId ${projectId} --role GROUP_OWNER`,
    );
    expect(grantCommand(org, apiKey)).toBe(
      `atlas organizations apiKeys assign ${apiKey.apiKeyId} --orgId ${orgId} --role ORG_OWNER`,
    );
  });

  it('invites a service account to a project it is not in, and updates its roles in one it is in', () => {
    expect(grantCommand(project, serviceAccount)).toBe(
      `echo '{"roles":["GROUP_OWNER"]}' | atlas api serviceAccounts inviteGroupServiceAccount --groupId ${projectId} --clientId ${clientId}`,
    );
    expect(grantCommand(project, serviceAccount, true)).toContain('updateGroupServiceAccount');
    expect(grantCommand(org, serviceAccount)).toContain(
      `atlas api serviceAccounts updateOrgServiceAccount --orgId ${orgId} --clientId ${clientId}`,
    );
  });

  it('leaves a placeholder and says where to find the key id when Atlas did not give it', () => {
    const remedy = grantRemedy([evaluateRoles(project, [])], { type: 'api-key', publicKey: 'abcdefgh' });

    expect(remedy.split('\n')).toEqual([
      `atlas projects apiKeys assign <apiKeyId> --projectId ${projectId} --role GROUP_OWNER`,
      '(atlas organizations apiKeys list shows the key id for the public key)',
    ]);
  });
});
