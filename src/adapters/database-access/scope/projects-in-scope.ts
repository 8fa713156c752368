import { paginate, type AtlasClient, type Project } from '../../../atlas/index.js';
import type { Policy } from '../../../config/env.js';
import { isConnectorError } from '../../../errors/connector-error.js';
import type { DatabaseAccessConfig } from '../model/settings.js';
import { projectForAccess } from './project-scope.js';

/** How many projects discover and sweep work on at once. */
export const projectConcurrency = 4;

export type ProjectsPort = { readonly projects: Pick<AtlasClient['projects'], 'list' | 'get'> };

/** A project in scope, or one the allow-list names but the key cannot see. */
export type ScopedProject =
  | { readonly id: string; readonly project: Project }
  | { readonly id: string; readonly unreachable: 'not_found' | 'forbidden' };

/** The local policy's allow-list wins over any integration config; empty means unrestricted. */
export function allowedByPolicy(projectId: string, policy: Pick<Policy, 'allowedProjectIds'>): boolean {
  return policy.allowedProjectIds.length === 0 || policy.allowedProjectIds.includes(projectId);
}

/**
 * Calls `run` for every item with at most `limit` in flight, pulling lazily (an async listing is
 * read one page at a time). The first failure stops further pulls; it is rethrown once the items
 * already started have settled.
 */
export async function forEachBounded<T>(
  items: AsyncIterable<T> | Iterable<T>,
  limit: number,
  run: (item: T) => Promise<void>,
): Promise<void> {
  const iterator = (async function* () {
    yield* items;
  })();
  let failure: { readonly error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (!failure) {
      let next: IteratorResult<T>;
      try {
        next = await iterator.next();
      } catch (error) {
        failure ??= { error };
        return;
      }
      if (next.done) return;
      try {
        await run(next.value);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, limit) }, worker));
  if (!failure) return;
  await iterator.return(undefined).catch(() => undefined);
  throw failure.error;
}

function unreachableCode(error: unknown): 'not_found' | 'forbidden' | undefined {
  if (!isConnectorError(error)) return undefined;
  return error.code === 'not_found' || error.code === 'forbidden' ? error.code : undefined;
}

/**
 * Discovery's scope: the config's allow-list (each read with `projects.get`, so a project the
 * key lost is reported rather than silently dropped), or every project the key sees; both
 * narrowed by the local policy.
 */
export async function* scopedProjects(
  atlas: ProjectsPort,
  config: Pick<DatabaseAccessConfig, 'projectIds'>,
  policy: Pick<Policy, 'allowedProjectIds'>,
  signal: AbortSignal,
): AsyncGenerator<ScopedProject, void, undefined> {
  if (config.projectIds === undefined) {
    for await (const project of paginate((page) => atlas.projects.list(page), { signal })) {
      if (allowedByPolicy(project.id, policy)) yield { id: project.id, project };
    }
    return;
  }
  for (const id of new Set(config.projectIds)) {
    if (!allowedByPolicy(id, policy)) continue;
    try {
      yield { id, project: await atlas.projects.get(id, { signal }) };
    } catch (error) {
      const code = unreachableCode(error);
      if (code === undefined) throw error;
      yield { id, unreachable: code };
    }
  }
}

/** Sweep's scope: one named project (checked against config and policy) or every project in scope. */
export async function* scopedProjectIds(
  atlas: { readonly projects: Pick<AtlasClient['projects'], 'list'> },
  config: DatabaseAccessConfig,
  policy: Policy,
  options: { readonly only?: string | undefined; readonly signal: AbortSignal },
): AsyncGenerator<string, void, undefined> {
  if (options.only !== undefined) {
    // The same checks a grant's projectId gets: the integration's projects, then the local policy.
    yield projectForAccess(config, policy, options.only);
    return;
  }
  if (config.projectIds !== undefined) {
    for (const id of new Set(config.projectIds)) if (allowedByPolicy(id, policy)) yield id;
    return;
  }
  for await (const project of paginate((page) => atlas.projects.list(page), { signal: options.signal })) {
    if (allowedByPolicy(project.id, policy)) yield project.id;
  }
}
