import { allowedByPolicy } from '../../config/env.js';
import { provided, type DoctorContext } from './doctor-context.js';
import { isProjectLevel } from './doctor-types.js';

/** A finding of the visibility check, on top of what the credential sees. */
export interface ScopeFinding {
  readonly status: 'fail' | 'warn';
  readonly line: string;
  readonly remedy: string;
}

/**
 * The integration's projects against this connector's POLICY_ALLOWED_PROJECT_IDS, which wins over
 * any integration config: a project it leaves out has every grant refused (policy_denied) however
 * strong the credential. None allowed: the connector cannot serve the integration (fail); some:
 * maybe on purpose (warn).
 */
export function policyScopeFinding(ctx: DoctorContext): ScopeFinding | undefined {
  const { policy } = provided(ctx.config, 'the configuration');
  if (!isProjectLevel(ctx.target) || policy.allowedProjectIds.length === 0) return undefined;
  const ids = ctx.target.projectIds.length > 0 ? ctx.target.projectIds : [...ctx.projects.keys()];
  const outside = ids.filter((id) => !allowedByPolicy(id, policy));
  if (outside.length === 0) return undefined;
  const refused = ': this connector refuses their grants (policy_denied)';
  const remedy =
    'add them to POLICY_ALLOWED_PROJECT_IDS (chart: policy.allowedProjectIds), or serve the integration from a connector whose policy allows them';
  return outside.length === ids.length
    ? {
        status: 'fail',
        line: `POLICY_ALLOWED_PROJECT_IDS allows none of them (${outside.join(', ')})${refused}`,
        remedy,
      }
    : {
        status: 'warn',
        line: `POLICY_ALLOWED_PROJECT_IDS leaves out ${outside.join(', ')}${refused}`,
        remedy: `${remedy}; nothing to do if this connector is not meant to serve them`,
      };
}

/**
 * The allow-lists a kind's config may carry (database-access.md, deep-discovery.md): empty, each
 * allows nothing, which is not the same as leaving it out (every one). A config may mean it, to
 * wind an integration down, so doctor warns rather than fails.
 */
const allowListFields = ['projectIds', 'clusterNames'] as const;

export function emptyAllowLists(config: unknown): ScopeFinding[] {
  if (typeof config !== 'object' || config === null) return [];
  const empty = allowListFields.filter((field) => {
    const value: unknown = Object.getOwnPropertyDescriptor(config, field)?.value;
    return Array.isArray(value) && value.length === 0;
  });
  return empty.map((field) => ({
    status: 'warn',
    line: `config.${field} is empty: the integration allows nothing`,
    remedy: `grants are refused and the next sweep ends the integration's active grants; to allow every one, leave config.${field} out`,
  }));
}
