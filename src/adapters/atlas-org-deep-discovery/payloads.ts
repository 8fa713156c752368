import { z } from 'zod';
import { SubIntegrationId, parseSubIntegrationId } from './sub-integration.js';

/**
 * A job on a sub-integration carries `subIntegrationId` plus the payload the database-access
 * operation takes. Access entries may leave `cluster` out: the sub-integration names it (and a
 * different one is refused by the operation itself). Issues of the inner payload keep their paths.
 */
export type SubIntegrationPayload = { readonly subIntegrationId: string } & Record<string, unknown>;

/** The database-access payload: everything but the sub-integration id. */
export function innerPayload(payload: SubIntegrationPayload): Record<string, unknown> {
  const { subIntegrationId: _id, ...rest } = payload;
  return rest;
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
    // Same shape as the input, so parsing the output again (as `operation` does) is a no-op.
    return { subIntegrationId, ...filled };
  });
}

/** Sweep: one sub-integration, or (without one) every project of the organization in scope. */
export const DeepSweepPayload = z.object({ subIntegrationId: SubIntegrationId.optional() }).strict();
