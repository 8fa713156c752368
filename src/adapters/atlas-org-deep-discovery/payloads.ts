import { z } from 'zod';
import { SubIntegrationId, parseSubIntegrationId } from './sub-integration.js';

/**
 * A job on a sub-integration carries `subIntegrationId` plus the payload the database-access
 * operation takes. Access entries may leave `cluster` out: the sub-integration names it (and a
 * different one is refused by the operation itself). Issues of the inner payload keep their paths.
 */
export interface SubIntegrationPayload {
  readonly subIntegrationId: string;
  /** The database-access payload, with every access entry's cluster filled in. */
  readonly inner: Record<string, unknown>;
}

function fillCluster(rest: Record<string, unknown>, clusterName: string): Record<string, unknown> {
  if (!Array.isArray(rest.access)) return rest;
  const access: unknown[] = rest.access.map((entry: unknown) =>
    typeof entry === 'object' && entry !== null && !Array.isArray(entry) && !('cluster' in entry)
      ? { cluster: clusterName, ...entry }
      : entry,
  );
  return { ...rest, access };
}

export function subIntegrationPayload(inner: z.ZodType): z.ZodType<SubIntegrationPayload> {
  return z.looseObject({ subIntegrationId: SubIntegrationId }).transform((value, ctx) => {
    const { subIntegrationId, ...rest } = value;
    const filled = fillCluster(rest, parseSubIntegrationId(subIntegrationId).clusterName);
    const parsed = inner.safeParse(filled);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      }
      return z.NEVER;
    }
    return { subIntegrationId, inner: filled };
  });
}

/** Sweep: one sub-integration, or (without one) every project of the organization in scope. */
export const DeepSweepPayload = z.object({ subIntegrationId: SubIntegrationId.optional() }).strict();
