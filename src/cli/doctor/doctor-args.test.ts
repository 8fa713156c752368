import { afterEach, describe, expect, it } from 'vitest';
import { sandboxIds } from '../../sandbox/atlas/index.js';
import { parseDoctorArgs, type ReadText } from './doctor-args.js';
import { registeredKinds } from './doctor-types.js';
import { doctor, expectNoSecretPrinted, orgKind, testKinds } from '../../../test/kits/doctor-test-kit.js';

afterEach(expectNoSecretPrinted);

const { payments, analytics, org } = sandboxIds;
const ref = ['--secret-ref', 'env://ATLAS_KEY'];

/** A file reader that knows one path; anything else is ENOENT, like the file system. */
function files(contents: Record<string, unknown>): ReadText {
  return (path) => {
    const content = contents[path];
    if (content === undefined) return Promise.reject(Object.assign(new Error('nope'), { code: 'ENOENT' }));
    return Promise.resolve(typeof content === 'string' ? content : JSON.stringify(content));
  };
}

describe('doctor arguments', () => {
  it.each([[[]], [['--json']]])(
    '%j names no target: doctor checks the daemon’s own environment',
    async (argv) => {
      await expect(parseDoctorArgs(argv)).resolves.toEqual({ help: false, json: argv.length > 0 });
    },
  );

  it.each([
    ['an unknown kind', ['--kind', 'atlas-cluster', ...ref], '--kind "atlas-cluster" is not one of'],
    ['no secret reference', ['--kind', orgKind.kind, '--org-id', org], '--secret-ref is required'],
    [
      'atlas-project without a project',
      ['--kind', 'atlas-project', ...ref],
      'needs exactly one --project-id',
    ],
    [
      'atlas-project with two projects',
      ['--kind', 'atlas-project', ...ref, '--project-id', payments, '--project-id', analytics],
      'needs exactly one --project-id',
    ],
    [
      'a project id that is not 24 hex',
      ['--kind', 'atlas-project', ...ref, '--project-id', '12ab'],
      'must be 24 hexadecimal',
    ],
    ['an org kind without --org-id', ['--kind', orgKind.kind, ...ref], 'needs --org-id'],
    [
      'an org kind with a project',
      ['--kind', orgKind.kind, ...ref, '--org-id', org, '--project-id', payments],
      `--project-id is not used by ${orgKind.kind}`,
    ],
    ['an unknown flag', ['--frobnicate'], "Unknown option '--frobnicate'"],
    ['a flag without its value', ['--kind'], "Option '--kind <value>' argument missing"],
    ['a stray positional argument', ['check', '--kind', 'atlas-project'], 'unexpected argument "check"'],
    [
      '--integration together with --kind',
      ['--integration', 'x.json', '--kind', 'atlas-project'],
      'cannot be combined',
    ],
  ])('exits 2 with a clear message on %s', async (_case, argv, message) => {
    const run = await doctor(argv, {});

    expect(run.code).toBe(2);
    expect(run.stdout).toEqual([]);
    expect(run.stderr[0]).toContain(message);
    expect(run.stderr[1]).toContain('doctor --help');
  });

  it('prints the usage and exits 0 on --help', async () => {
    const run = await doctor(['--help'], {});

    expect(run.code).toBe(0);
    expect(run.stdout.join('\n')).toContain('atlas-jit-connector doctor --integration <file.json>');
  });

  it('describes in --help the JSON of both modes: checks for one integration, sections without a target', async () => {
    const usage = (await doctor(['--help'], {})).stdout.join('\n');
    const json = usage.slice(usage.indexOf('  --json'), usage.indexOf('  -h, --help'));

    expect(json).toContain('{"ok", "checks": [{"name", "status", "detail", "remedy"}]}');
    expect(json).toContain('{"ok", "sections": [{"title", "ok", "checks"}]}');
  });

  it('accepts repeated --project-id for atlas-multi-project and lowercases ids', async () => {
    const command = await parseDoctorArgs([
      '--kind=atlas-multi-project',
      ...ref,
      '--project-id',
      payments.toUpperCase(),
      '--project-id',
      analytics,
      '--project-id',
      payments,
      '--json',
    ]);

    expect(command).toEqual({
      help: false,
      json: true,
      target: {
        kind: 'atlas-multi-project',
        definition: registeredKinds['atlas-multi-project'],
        secretRef: 'env://ATLAS_KEY',
        projectIds: [payments, analytics],
      },
    });
  });
});

describe('doctor --integration', () => {
  it('reads kind, secret reference and config from the file, ignoring settings doctor does not need', async () => {
    const read = files({
      'i.json': {
        id: 'int-1',
        kind: 'atlas-project',
        secretRef: 'env://K',
        config: { projectId: payments, clusterName: 'Cluster0' },
      },
    });

    const command = await parseDoctorArgs(['--integration', 'i.json'], read, testKinds);

    expect(command).toEqual({
      help: false,
      json: false,
      target: {
        kind: 'atlas-project',
        definition: registeredKinds['atlas-project'],
        secretRef: 'env://K',
        projectIds: [payments],
        config: { projectId: payments, clusterName: 'Cluster0' },
      },
    });
  });

  it('takes projectIds for atlas-multi-project and orgId for the org kinds', async () => {
    const read = files({
      'multi.json': {
        kind: 'atlas-multi-project',
        secretRef: 'env://K',
        config: { projectIds: [payments, analytics] },
      },
      'org.json': { kind: orgKind.kind, secretRef: 'env://K', config: { orgId: org } },
    });

    await expect(parseDoctorArgs(['--integration', 'multi.json'], read, testKinds)).resolves.toMatchObject({
      target: { projectIds: [payments, analytics] },
    });
    await expect(parseDoctorArgs(['--integration', 'org.json'], read, testKinds)).resolves.toMatchObject({
      target: { kind: orgKind.kind, projectIds: [], orgId: org },
    });
  });

  it('reads a file saved with a UTF-8 byte order mark (Windows editors save one), as a secret payload is read', async () => {
    const integration = { kind: 'atlas-project', secretRef: 'env://K', config: { projectId: payments } };
    const read = files({ 'bom.json': `\uFEFF${JSON.stringify(integration)}` });

    await expect(parseDoctorArgs(['--integration', 'bom.json'], read, testKinds)).resolves.toMatchObject({
      target: { kind: 'atlas-project', secretRef: 'env://K', projectIds: [payments] },
    });
  });

  it.each(['atlas-org-portal', 'atlas-org-deep-discovery'])(
    'takes the projectIds allow-list of %s as part of its config, not as doctor targets',
    async (kind) => {
      const config = { orgId: org, projectIds: [payments] };
      const read = files({ 'org.json': { kind, secretRef: 'env://K', config } });

      await expect(parseDoctorArgs(['--integration', 'org.json'], read)).resolves.toMatchObject({
        target: { kind, projectIds: [], orgId: org, config },
      });
    },
  );

  it.each([
    ['a missing file', 'absent.json', 'cannot read the file (ENOENT)'],
    ['a file that is not JSON', 'text.json', 'not valid JSON'],
    ['an unknown kind', 'kind.json', 'kind must be one of'],
    ['a missing secretRef', 'ref.json', 'secretRef is missing'],
    [
      'atlas-project without config.projectId',
      'project.json',
      'atlas-project needs exactly one config.projectId',
    ],
    ['an org kind without config.orgId', 'org.json', `${orgKind.kind} needs config.orgId`],
    ['a malformed id', 'id.json', 'config.orgId must be a 24-hex Atlas id'],
  ])('rejects %s as a usage error', async (_case, path, message) => {
    const read = files({
      'text.json': 'kind: atlas-project',
      'kind.json': { kind: 'atlas-cluster', secretRef: 'env://K', config: {} },
      'ref.json': { kind: orgKind.kind, config: { orgId: org } },
      'project.json': { kind: 'atlas-project', secretRef: 'env://K', config: {} },
      'org.json': { kind: orgKind.kind, secretRef: 'env://K' },
      'id.json': { kind: orgKind.kind, secretRef: 'env://K', config: { orgId: 'acme' } },
    });

    await expect(parseDoctorArgs(['--integration', path], read, testKinds)).rejects.toMatchObject({
      code: 'invalid_request',
      message: expect.stringContaining(message) as string,
    });
  });
});
