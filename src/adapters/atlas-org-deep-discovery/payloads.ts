import { z } from 'zod';
import { SubIntegrationId, parseSubIntegrationId } from './sub-integration.js';

/**
 * A job on a sub-integration carries `subIntegrationId` plus the payload the database-access
 * operation takes. Access entries may leave `cluster` out: the sub-integration names it (and a
 * different one is refused by the grant itself). The output is the operation's parsed payload
 * plus the id; issues of the operation's payload keep their paths.
 */
function fillCluster(rest: Record<string, unknown>, clusterName: string): Record<string, unknown> {
  if (!Array.isArray(rest.access)) return rest;
  const access: unknown[] = rest.access.map((entry: unknown) =>
    typeof entry === 'object' && entry !== null && !Array.isArray(entry) && !('cluster' in entry)
      ? { cluster: clusterName, ...entry }
      : entry,
  );
  return { ...rest, access };
}

export function subIntegrationPayload<P extends object>(
  inner: z.ZodType<P>,
): z.ZodType<P & { readonly subIntegrationId: string }> {
  return z.looseObject({ subIntegrationId: SubIntegrationId }).transform((value, ctx) => {
    const { subIntegrationId, ...rest } = value;
    const parsed = inner.safeParse(fillCluster(rest, parseSubIntegrationId(subIntegrationId).clusterName));
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path });
      }
      return z.NEVER;
    }
    return { ...parsed.data, subIntegrationId };
  });
}

/** Sweep: one sub-integration, or (without one) every project of the organization in scope. */
export const DeepSweepPayload = z
  .object({ subIntegrationId: SubIntegrationId.optional() })
  .strict()
  // Typed as the shared sweep payload too (whose projectId a deep sweep never sets).
  .transform((payload): { readonly subIntegrationId?: string; readonly projectId?: string } => payload);
export type DeepSweepPayload = z.output<typeof DeepSweepPayload>;
