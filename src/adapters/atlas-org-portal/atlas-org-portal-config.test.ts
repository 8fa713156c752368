import { describe, expect, it } from 'vitest';
import { AtlasOrgPortalConfig } from './atlas-org-portal-config.js';

const orgId = '660100000000000000000001';

function issuePaths(input: unknown): string[] {
  const parsed = AtlasOrgPortalConfig.safeParse(input);
  return parsed.success ? [] : parsed.error.issues.map((issue) => issue.path.join('.'));
}

describe('atlas-org-portal config', () => {
  it('defaults inviteUnknownUsers to true and the owner tag key to "owner"', () => {
    expect(AtlasOrgPortalConfig.parse({ orgId })).toEqual({
      orgId,
      inviteUnknownUsers: true,
      ownerTagKey: 'owner',
    });
  });

  it('takes a project allow-list, customAccessDetails of 400 characters and an owner tag key', () => {
    const config = {
      orgId,
      projectIds: ['660200000000000000000001'],
      inviteUnknownUsers: false,
      customAccessDetails: 'x'.repeat(400),
      ownerTagKey: 'team-owner',
    };
    expect(AtlasOrgPortalConfig.parse(config)).toEqual(config);
  });

  it.each([
    ['a missing orgId', {}, 'orgId'],
    ['an orgId that is not 24 lowercase hex', { orgId: 'ABC' }, 'orgId'],
    ['a project id that is not 24 lowercase hex', { orgId, projectIds: ['nope'] }, 'projectIds.0'],
    ['an empty project allow-list', { orgId, projectIds: [] }, 'projectIds'],
    [
      'customAccessDetails over 400 characters',
      { orgId, customAccessDetails: 'x'.repeat(401) },
      'customAccessDetails',
    ],
    ['an empty owner tag key', { orgId, ownerTagKey: '' }, 'ownerTagKey'],
    ['a non-boolean inviteUnknownUsers', { orgId, inviteUnknownUsers: 'yes' }, 'inviteUnknownUsers'],
    ['an unknown field', { orgId, projectId: '660200000000000000000001' }, ''],
  ])('refuses %s, naming the field', (_name, input, path) => {
    expect(issuePaths(input)).toEqual([path]);
  });

  it('describes every field (the schema command prints the descriptions)', () => {
    for (const [field, schema] of Object.entries(AtlasOrgPortalConfig.shape)) {
      expect(schema.description, field).toEqual(expect.any(String));
    }
  });
});
