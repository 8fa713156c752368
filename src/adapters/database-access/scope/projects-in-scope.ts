import { paginateComplete, type AtlasClient, type Project } from '../../../atlas/index.js';
import { allowedByPolicy, type Policy } from '../../../config/env.js';
import { ConnectorError, isConnectorError } from '../../../errors/connector-error.js';
import type { DatabaseScope } from '../../scope.js';

/** How many projects discover and sweep work on at once. */
export const projectConcurrency = 4;

export type ProjectsPort = { readonly projects: Pick<AtlasClient['projects'], 'list' | 'get'> };

/** A project in scope, or one the allow-list names but the key cannot see. */
export type ScopedProject =
  | { readonly id: string; readonly project: Project }
  | { readonly id: string; readonly unreachable: 'not_found' | 'forbidden' };

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

/**
 * Atlas's answer to a key without a role in the project. Atlas sends it as 401 (the simulator as
 * 403): by its code it is that one project, not a credential Atlas rejects everywhere.
 */
const projectAccessCodes: ReadonlySet<unknown> = new Set(['USER_CANNOT_ACCESS_GROUP', 'NOT_IN_GROUP']);

/** Why the key cannot read a project (404; 403; its no-role 401), or undefined for any other failure. */
export function unreachableCode(error: unknown): 'not_found' | 'forbidden' | undefined {
  if (!isConnectorError(error)) return undefined;
  if (projectAccessCodes.has(error.details['atlasErrorCode'])) return 'forbidden';
  return error.code === 'not_found' || error.code === 'forbidden' ? error.code : undefined;
}

/**
 * A project's failure fails the whole discovery, and Atlas's message rarely says where
 * (`listGroupClusters: UNEXPECTED_ERROR: Unexpected error.`): among hundreds of projects, the
 * failure names its project. Code, retry flag and hint stay as they were.
 */
export function inProject(projectId: string, error: unknown): unknown {
  if (!isConnectorError(error) || error.code === 'cancelled') return error;
  return new ConnectorError({
    code: error.code,
    message: `project ${projectId}: ${error.message}`,
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    details: { ...error.details, projectId },
    cause: error,
  });
}

/** The projects an inventory scope names: an allow-list, every visible project, or its one project. */
function namedProjects(scope: DatabaseScope): readonly string[] | 'every-visible-project' {
  switch (scope.kind) {
    case 'projects':
      return scope.projects === 'every-visible-project'
        ? scope.projects
        : [...new Set(scope.projects.allowList)];
    case 'project':
    case 'project-cluster':
    case 'org-cluster':
      return [scope.projectId];
  }
}

/**
 * Discovery's projects: each one the scope names read with `projects.get` (so a project the key
 * lost is reported rather than silently dropped), or every project the key sees; both narrowed
 * by the local policy. The key's projects are read page by page while they are discovered, so a
 * project deleted meanwhile would move a page up and the one at its head would never be listed:
 * `paginateComplete` lists them again once the walk is done and yields those not yet seen.
 */
export async function* scopedProjects(
  atlas: ProjectsPort,
  scope: DatabaseScope,
  policy: Pick<Policy, 'allowedProjectIds'>,
  signal: AbortSignal,
): AsyncGenerator<ScopedProject, void, undefined> {
  const named = namedProjects(scope);
  if (named === 'every-visible-project') {
    for await (const project of paginateComplete((page) => atlas.projects.list(page), { signal })) {
      if (allowedByPolicy(project.id, policy)) yield { id: project.id, project };
    }
    return;
  }
  for (const id of named) {
    if (!allowedByPolicy(id, policy)) continue;
    try {
      yield { id, project: await atlas.projects.get(id, { signal }) };
    } catch (error) {
      const code = unreachableCode(error);
      if (code === undefined) throw inProject(id, error);
      yield { id, unreachable: code };
    }
  }
}

/**
 * Where a sweep works. `full`: a project of the integration the local policy allows, reconciled
 * in full. Otherwise the project left the integration's allow-list or the policy's since grants
 * were made there: only this integration's own users are reconciled, and only taken from (ended
 * grants lose their roles). `listed`: found by listing the key's projects, so one whose users the
 * key cannot read is skipped quietly; `named`: named by the scope, so that is reported.
 */
export interface SweepTarget {
  readonly projectId: string;
  readonly reach: 'full' | 'named' | 'listed';
  /**
   * The integration's own configuration no longer allows the project (off its `projectIds`): its
   * active grants there are ended. A project only the local policy (`POLICY_ALLOWED_PROJECT_IDS`)
   * refuses is not: that policy is this connector's, and another connector on the organisation,
   * with its own policy, may serve grants there (an organisation-wide sweep reaches every project
   * whichever connector leased it).
   */
  readonly outsideConfiguration: boolean;
}

/**
 * Sweep's projects: the scope's, each `full` when the local policy allows it and reached for
 * removal only when it does not (the policy limits where access is handed out, never its
 * removal); then the scope's `removalReach`. Each project once. The key's projects, listed for
 * either, are read again when they take more than one page (`paginateComplete`): Atlas pages by
 * offset, and a project deleted behind the cursor would leave the one after it unswept, its ended
 * grants' access kept. A failed listing of the key's projects for `removalReach` goes to
 * `onReachFailure` and ends the targets there: it must not fail the sweep of the projects in scope.
 */
export async function* sweepTargets(
  atlas: { readonly projects: Pick<AtlasClient['projects'], 'list'> },
  scope: DatabaseScope,
  policy: Pick<Policy, 'allowedProjectIds'>,
  options: { readonly signal: AbortSignal; readonly onReachFailure: (error: unknown) => void },
): AsyncGenerator<SweepTarget, void, undefined> {
  const { signal } = options;
  const seen = new Set<string>();
  const target = (projectId: string, inScope: boolean, found: 'named' | 'listed'): SweepTarget[] => {
    if (seen.has(projectId)) return [];
    seen.add(projectId);
    const reach = inScope && allowedByPolicy(projectId, policy) ? 'full' : found;
    return [{ projectId, reach, outsideConfiguration: !inScope }];
  };
  const visible = () => paginateComplete((page) => atlas.projects.list(page), { signal });
  const named = namedProjects(scope);
  if (named === 'every-visible-project') {
    for await (const project of visible()) yield* target(project.id, true, 'listed');
    return;
  }
  for (const id of named) yield* target(id, true, 'named');
  const reach = scope.kind === 'projects' ? scope.removalReach : undefined;
  if (reach === undefined) return;
  if (reach !== 'every-visible-project') {
    for (const id of reach.projectIds) yield* target(id, false, 'named');
    return;
  }
  try {
    for await (const project of visible()) yield* target(project.id, false, 'listed');
  } catch (error) {
    if (signal.aborted) throw error;
    options.onReachFailure(error);
  }
}
