import { describe, expect, it } from 'vitest';
import {
  harness,
  inventoryScope,
  projectA,
  projectB,
  testConfig,
  testPolicy,
} from '../../../../test/kits/discover-test-kit.js';
import { settleUntil } from '../../../../test/fakes/fake-clock.js';
import type { DatabaseScope } from '../../scope.js';
import { forEachBounded, scopedProjects, sweepTargets } from './projects-in-scope.js';

async function drain<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** Items whose work finishes only when the test says so. */
function gatedWork() {
  const release = new Map<number, () => void>();
  let active = 0;
  let peak = 0;
  const run = (item: number) =>
    new Promise<void>((resolve) => {
      active += 1;
      peak = Math.max(peak, active);
      release.set(item, () => {
        active -= 1;
        resolve();
      });
    });
  return { run, release, peak: () => peak };
}

describe('forEachBounded', () => {
  it('never has more than the limit in flight, and finishes every item', async () => {
    const work = gatedWork();
    const done = forEachBounded([1, 2, 3, 4, 5, 6], 2, work.run);
    for (let i = 1; i <= 6; i += 1) {
      await settleUntil(() => work.release.has(i), `item ${i} to start`);
      work.release.get(i)?.();
    }
    await done;
    expect(work.peak()).toBe(2);
    expect(work.release.size).toBe(6);
  });

  it('stops pulling after a failure and rethrows it', async () => {
    const pulled: number[] = [];
    async function* source() {
      for (let i = 1; i <= 10; i += 1) {
        pulled.push(i);
        yield i;
      }
    }
    const run = async (item: number) => {
      if (item === 2) throw new Error('boom');
    };
    await expect(forEachBounded(source(), 1, run)).rejects.toThrow('boom');
    expect(pulled).toEqual([1, 2]);
  });
});

describe('scopedProjects', () => {
  it('lists every project the key sees when the config has no allow-list, narrowed by policy', async () => {
    const { atlas, abort } = harness();
    atlas.addProject(projectA).addProject(projectB);
    const every = await inventoryScope(testConfig());
    const all = await drain(scopedProjects(atlas.client, every, testPolicy(), abort.signal));
    expect(all.map((p) => p.id)).toEqual([projectA, projectB]);
    const narrowed = scopedProjects(
      atlas.client,
      every,
      testPolicy({ allowedProjectIds: [projectB] }),
      abort.signal,
    );
    expect((await drain(narrowed)).map((p) => p.id)).toEqual([projectB]);
  });

  it('reports an allow-listed project the key cannot see instead of dropping it', async () => {
    const { atlas, abort } = harness();
    atlas.addProject(projectA);
    const scoped = await drain(
      scopedProjects(
        atlas.client,
        await inventoryScope(testConfig({ projectIds: [projectA, projectB] })),
        testPolicy(),
        abort.signal,
      ),
    );
    expect(scoped).toEqual([
      { id: projectA, project: expect.objectContaining({ id: projectA }) },
      { id: projectB, unreachable: 'not_found' },
    ]);
  });

  it('fails on an error that is not about visibility', async () => {
    const { atlas, abort } = harness();
    atlas.addProject(projectA).failNext('projects.get', 'UNEXPECTED_ERROR');
    const scope = await inventoryScope(testConfig({ projectIds: [projectA] }));
    const scoped = drain(scopedProjects(atlas.client, scope, testPolicy(), abort.signal));
    await expect(scoped).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});

describe('sweepTargets', () => {
  it('sweeps the scope in full where the policy allows it, and reaches the rest for removal only', async () => {
    const { atlas, abort } = harness();
    atlas.addProject(projectA).addProject(projectB);
    const onReachFailure = (error: unknown) => {
      throw error;
    };
    const targets = (scope: DatabaseScope, policy = testPolicy()) =>
      drain(sweepTargets(atlas.client, scope, policy, { signal: abort.signal, onReachFailure }));
    const config = testConfig({ projectIds: [projectA] });
    const namedA = await inventoryScope(config, projectA);
    // The integration's check is the kind's scope resolver (discover's refuses another project).
    await expect(inventoryScope(config, projectB)).rejects.toMatchObject({ code: 'invalid_request' });
    expect(await targets(namedA)).toEqual([
      { projectId: projectA, reach: 'full', outsideConfiguration: false },
    ]);
    // The policy limits where access is handed out, never its removal: no policy_denied.
    const onlyB = testPolicy({ allowedProjectIds: [projectB] });
    // Refused by the policy alone, the project is still the integration's: its grants are not ended.
    expect(await targets(namedA, onlyB)).toEqual([
      { projectId: projectA, reach: 'named', outsideConfiguration: false },
    ]);
    expect(atlas.methods()).toEqual([]);

    const reaching: DatabaseScope = {
      kind: 'projects',
      projects: { allowList: [projectA] },
      removalReach: 'every-visible-project',
    };
    expect(await targets(reaching)).toEqual([
      { projectId: projectA, reach: 'full', outsideConfiguration: false },
      { projectId: projectB, reach: 'listed', outsideConfiguration: true },
    ]);
    expect(await targets({ kind: 'projects', projects: 'every-visible-project' }, onlyB)).toEqual([
      { projectId: projectA, reach: 'listed', outsideConfiguration: false },
      { projectId: projectB, reach: 'full', outsideConfiguration: false },
    ]);
  });
});
