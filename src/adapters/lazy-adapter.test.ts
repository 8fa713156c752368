import { describe, expect, it } from 'vitest';
import type { JobContext } from '../worker/job-context.js';
import type { AdapterJob, AtlasCredential, IntegrationAdapter } from './adapter.js';
import { lazyAdapter } from './lazy-adapter.js';

type Op = 'grant' | 'revoke';

/** Stand-ins the wrapper only passes through: each test checks they arrive unchanged. */
const credential = { marker: 'credential' } as unknown as AtlasCredential;
const ctx = { marker: 'ctx' } as unknown as JobContext;
const job = (operation: Op): AdapterJob<{ id: string }> => ({
  operation,
  config: { id: 'c' },
  payload: { grantId: 'g-1' },
  integration: { id: 'int-1', kind: 'k', config: {}, secretRef: 'env://K' },
});

/** An implementation that records what reached it, and a loader that counts its imports. */
function implementation(operations: readonly string[] = ['grant', 'revoke']) {
  const seen: unknown[][] = [];
  const built = {
    operations: Object.fromEntries(
      operations.map((op) => [
        op,
        {
          run: async (...args: unknown[]) => {
            seen.push([op, ...args]);
            return { ran: op };
          },
        },
      ]),
    ),
    checkConnection: async (...args: unknown[]) => {
      seen.push(['checkConnection', ...args]);
      return { ok: true, detail: 'reached' };
    },
  } as unknown as IntegrationAdapter<{ id: string }, Op>;
  let loads = 0;
  const load = async () => {
    loads += 1;
    await new Promise((resolve) => setImmediate(resolve));
    return built;
  };
  return { seen, load, loads: () => loads };
}

describe('lazyAdapter', () => {
  it('offers the declared operations at once and imports nothing until a job runs', () => {
    const impl = implementation();
    const adapter = lazyAdapter('k', ['grant', 'revoke'], impl.load);
    expect(Object.keys(adapter.operations).sort()).toEqual(['grant', 'revoke']);
    expect(impl.loads()).toBe(0);
  });

  it('runs each job on the loaded implementation, with its job, credential and context', async () => {
    const impl = implementation();
    const adapter = lazyAdapter('k', ['grant', 'revoke'], impl.load);
    await expect(adapter.operations.grant.run(job('grant'), credential, ctx)).resolves.toEqual({
      ran: 'grant',
    });
    await expect(adapter.operations.revoke.run(job('revoke'), credential, ctx)).resolves.toEqual({
      ran: 'revoke',
    });
    await expect(adapter.checkConnection({ id: 'c' }, credential, ctx)).resolves.toEqual({
      ok: true,
      detail: 'reached',
    });
    expect(impl.seen).toEqual([
      ['grant', job('grant'), credential, ctx],
      ['revoke', job('revoke'), credential, ctx],
      ['checkConnection', { id: 'c' }, credential, ctx],
    ]);
    expect(impl.loads()).toBe(1);
  });

  it('shares one import between concurrent first jobs', async () => {
    const impl = implementation();
    const adapter = lazyAdapter('k', ['grant', 'revoke'], impl.load);
    await Promise.all([
      adapter.operations.grant.run(job('grant'), credential, ctx),
      adapter.operations.revoke.run(job('revoke'), credential, ctx),
      adapter.checkConnection({ id: 'c' }, credential, ctx),
    ]);
    expect(impl.loads()).toBe(1);
    expect(impl.seen).toHaveLength(3);
  });

  it('refuses, as internal and naming the kind, an implementation that offers other operations', async () => {
    const impl = implementation(['grant', 'rotate']);
    const adapter = lazyAdapter('atlas-x', ['grant', 'revoke'], impl.load);
    await expect(adapter.operations.grant.run(job('grant'), credential, ctx)).rejects.toMatchObject({
      code: 'internal',
      message:
        'integration kind "atlas-x" declares the operations grant, revoke but its implementation offers grant, rotate',
    });
    expect(impl.seen).toEqual([]);
  });

  it('hands a failed import to the job as it is', async () => {
    const failure = new Error('Cannot find module atlas-x-adapter.js');
    const adapter = lazyAdapter<{ id: string }, Op>('atlas-x', ['grant'] as Op[], () =>
      Promise.reject(failure),
    );
    await expect(adapter.operations.grant.run(job('grant'), credential, ctx)).rejects.toBe(failure);
  });

  it('imports again after a failed import: a passing failure does not refuse the kind until restart', async () => {
    // Out of file handles under load (EMFILE), say: every later job of the kind, its revokes
    // included, would otherwise fail with the same error until the process restarts.
    const impl = implementation();
    let failures = 1;
    const adapter = lazyAdapter('k', ['grant', 'revoke'], async () => {
      if (failures > 0) {
        failures -= 1;
        throw Object.assign(new Error('EMFILE: too many open files'), { code: 'EMFILE' });
      }
      return impl.load();
    });

    await expect(adapter.operations.revoke.run(job('revoke'), credential, ctx)).rejects.toThrow(/EMFILE/);
    await expect(adapter.operations.revoke.run(job('revoke'), credential, ctx)).resolves.toEqual({
      ran: 'revoke',
    });
    expect(impl.loads()).toBe(1);
  });
});
