import { describe, expect, it } from 'vitest';
import type {
  ApiKey,
  AtlasClient,
  AtlasCredentials,
  Page,
  ServiceAccountProject,
} from '../../atlas/index.js';
import { ConnectorError } from '../../errors/connector-error.js';
import { createSecretScrubber } from '../../runtime/secret-scrubber.js';
import { createDoctorContext, type DoctorContext } from './doctor-context.js';
import { registeredKinds, type DoctorTarget } from './doctor-types.js';
import { roleCheck } from './role-check.js';
import { createHttpClient } from '../../runtime/http.js';

const orgId = '6a1b2c3d4e5f6a7b8c9d0e1f';
const projectId = '5f1a2b3c4d5e6f7a8b9c0d1e';
const ourKey = { type: 'api-key', publicKey: 'ourkeyab', privateKey: 'role-check-private-9d2e' } as const;
const account = {
  type: 'service-account',
  clientId: 'mdb_sa_id_0123456789abcdef01234567',
  clientSecret: 'x-secret-1',
} as const;

function page<T>(results: readonly T[]): Page<T> {
  return { results, pageNum: 1, hasNext: false };
}

function refused(status: number, atlasErrorCode: string): ConnectorError {
  return new ConnectorError({
    code: status === 401 ? 'auth_failed' : 'forbidden',
    message: `${atlasErrorCode}`,
    details: { httpStatus: status, atlasErrorCode },
  });
}

type Answer<T> = T | ConnectorError;
const answer = <T>(value: Answer<T>): Promise<T> =>
  value instanceof ConnectorError ? Promise.reject(value) : Promise.resolve(value);

/** Fakes only the calls the role check may make, recording each with its arguments. */
function fakeAtlas(answers: {
  apiKeys?: Answer<ApiKey[]>;
  serviceAccountRoles?: Answer<string[]>;
  serviceAccountProjects?: ServiceAccountProject[];
  probe?: Answer<void>;
}): { atlas: AtlasClient; calls: string[] } {
  const calls: string[] = [];
  const fake = {
    identity: {
      listOrgApiKeys: async (org: string) => {
        calls.push(`listOrgApiKeys ${org}`);
        return page(await answer(answers.apiKeys ?? []));
      },
      getServiceAccount: async (org: string, clientId: string) => {
        calls.push(`getServiceAccount ${org} ${clientId}`);
        return { clientId, roles: await answer(answers.serviceAccountRoles ?? []) };
      },
      listServiceAccountProjects: (org: string, clientId: string) => {
        calls.push(`listServiceAccountProjects ${org} ${clientId}`);
        return Promise.resolve(page(answers.serviceAccountProjects ?? []));
      },
    },
    databaseUsers: {
      list: async (group: string) => {
        calls.push(`databaseUsers ${group}`);
        await answer(answers.probe);
        return page([]);
      },
    },
    customDbRoles: { list: (group: string) => (calls.push(`customDbRoles ${group}`), Promise.resolve([])) },
  };
  // A partial client: a call the role check should not make fails the test with a TypeError.
  return { atlas: fake as unknown as AtlasClient, calls };
}

/** A project integration whose root call (`GET /api/atlas/v2`) named no API key roles. */
function context(credentials: AtlasCredentials, atlas: AtlasClient): DoctorContext {
  const definition = registeredKinds['atlas-project'];
  if (!definition) throw new Error('atlas-project is not registered');
  const target: DoctorTarget = {
    kind: 'atlas-project',
    definition,
    secretRef: 'env://K',
    projectIds: [projectId],
  };
  const ctx = createDoctorContext(
    target,
    { env: {}, stdout: () => undefined, stderr: () => undefined, fetch: createHttpClient() },
    createSecretScrubber(),
  );
  ctx.credentials = credentials;
  ctx.atlas = atlas;
  ctx.status = {
    appName: 'MongoDB Atlas',
    build: 'test',
    throttling: false,
    apiKey: null,
  };
  ctx.projects.set(projectId, { id: projectId, name: 'payments', orgId });
  return ctx;
}

const run = (ctx: DoctorContext) => roleCheck.run(ctx, new AbortController().signal);

describe('the role check when the root call does not list the key roles', () => {
  it("reads them from the organization's API keys, matched by public key", async () => {
    const { atlas, calls } = fakeAtlas({
      apiKeys: [
        { id: '5d0000000000000000000009', publicKey: 'otherkey', roles: [{ orgId, roleName: 'ORG_OWNER' }] },
        {
          id: '5d0000000000000000000002',
          publicKey: ourKey.publicKey,
          roles: [{ groupId: projectId, roleName: 'GROUP_READ_ONLY' }],
        },
      ],
    });

    const outcome = await run(context(ourKey, atlas));

    expect(calls).toEqual([`listOrgApiKeys ${orgId}`]);
    expect(outcome).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`roles read from GET /orgs/${orgId}/apiKeys`) as string,
      remedy: `atlas projects apiKeys assign 5d0000000000000000000002 --projectId ${projectId} --role GROUP_OWNER`,
    });
  });

  it('warns after a clean read-only probe when the key is not in the listing', async () => {
    const { atlas, calls } = fakeAtlas({ apiKeys: [] });

    const outcome = await run(context(ourKey, atlas));

    expect(calls).toEqual([
      `listOrgApiKeys ${orgId}`,
      `databaseUsers ${projectId}`,
      `customDbRoles ${projectId}`,
    ]);
    expect(outcome.status).toBe('warn');
    expect(outcome.detail).toContain('That shows read access only');
    expect(outcome.remedy).toContain('atlas organizations apiKeys list');
  });

  it('fails with the grant command when the listing and the probe are both refused', async () => {
    const { atlas } = fakeAtlas({
      apiKeys: refused(403, 'USER_CANNOT_ACCESS_ORG'),
      probe: refused(401, 'USER_UNAUTHORIZED'),
    });

    const outcome = await run(context(ourKey, atlas));

    expect(outcome.status).toBe('fail');
    expect(outcome.detail).toContain('Atlas refused to list them: USER_CANNOT_ACCESS_ORG, HTTP 403');
    expect(outcome.detail).toContain('was refused (USER_UNAUTHORIZED, HTTP 401)');
    expect(outcome.remedy?.split('\n')[0]).toBe(
      `atlas projects apiKeys assign <apiKeyId> --projectId ${projectId} --role GROUP_OWNER`,
    );
  });
});

describe('the role check for a service account', () => {
  it('combines its organization and project roles', async () => {
    const { atlas, calls } = fakeAtlas({
      serviceAccountRoles: ['ORG_MEMBER'],
      serviceAccountProjects: [
        { groupId: projectId, roles: ['GROUP_DATABASE_ACCESS_ADMIN', 'GROUP_READ_ONLY'] },
      ],
    });

    const outcome = await run(context(account, atlas));

    expect(calls).toEqual([
      `getServiceAccount ${orgId} ${account.clientId}`,
      `listServiceAccountProjects ${orgId} ${account.clientId}`,
    ]);
    expect(outcome.status).toBe('pass');
    expect(outcome.detail).toContain(
      'holds GROUP_DATABASE_ACCESS_ADMIN, GROUP_READ_ONLY: enough for database users',
    );
  });

  it('invites it to the project when it holds no role there', async () => {
    const { atlas } = fakeAtlas({ serviceAccountRoles: ['ORG_MEMBER'] });

    const outcome = await run(context(account, atlas));

    expect(outcome.remedy).toBe(
      `echo '{"roles":["GROUP_OWNER"]}' | atlas api serviceAccounts inviteGroupServiceAccount --groupId ${projectId} --clientId ${account.clientId}`,
    );
  });
});
