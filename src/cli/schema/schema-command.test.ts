import { describe, expect, it } from 'vitest';
import { runSchema } from './schema-command.js';

function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = runSchema(argv, { stdout: (t) => out.push(t), stderr: (t) => err.push(t) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('schema command', () => {
  it('prints each kind with its operations and a JSON Schema carrying the field descriptions', () => {
    const { code, out } = run([]);
    expect(code).toBe(0);
    const schemas = JSON.parse(out) as Record<
      string,
      {
        operations: string[];
        config: { properties: Record<string, { description?: string }>; required?: string[] };
      }
    >;
    expect(Object.keys(schemas).sort()).toEqual([
      'atlas-multi-project',
      'atlas-org-deep-discovery',
      'atlas-org-portal',
      'atlas-project',
    ]);
    const project = schemas['atlas-project']!;
    expect(project.operations).toEqual(['discover', 'grant', 'revoke', 'renew', 'rotate', 'sweep']);
    expect(project.config.required).toEqual(expect.arrayContaining(['projectId', 'clusterName']));
    expect(project.config.properties.userStrategy?.description).toMatch(/per-requester/);
    expect(project.config.properties.customAccessDetails?.description).toMatch(/400/);
    const portal = schemas['atlas-org-portal']!;
    expect(portal.operations).toEqual(['discover', 'grant', 'revoke', 'renew', 'sweep']);
    expect(portal.config.required).toEqual(expect.arrayContaining(['orgId']));
    expect(portal.config.properties.inviteUnknownUsers?.description).toMatch(/Invite/);
    const deep = schemas['atlas-org-deep-discovery']!;
    expect(deep.config.required).toEqual(['orgId']);
    expect(deep.config.properties.collectionDiscovery?.description).toMatch(/backup-snapshot/);
  });

  it('prints one kind when asked and refuses an unknown one', () => {
    expect(Object.keys(JSON.parse(run(['atlas-multi-project']).out) as object)).toEqual([
      'atlas-multi-project',
    ]);
    const unknown = run(['atlas-nope']);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toContain('unknown integration kind "atlas-nope"');
  });

  it('blames an extra argument, not the valid kind before it', () => {
    const extra = run(['atlas-project', '--json']);
    expect(extra.code).toBe(2);
    expect(extra.out).toBe('');
    expect(extra.err).toContain('unexpected argument "--json": schema takes at most one kind');
    expect(extra.err).not.toContain('unknown integration kind');
  });
});
