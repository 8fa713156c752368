import { z } from 'zod';

/** One token bucket: `capacity` tokens, `refillAmount` added every `refillIntervalSeconds`. */
const bucketSchema = z.strictObject({
  capacity: z.number().int().min(1),
  refillAmount: z.number().int().min(1),
  refillIntervalSeconds: z.number().int().min(1),
});

/**
 * A scripted fault hits the next `times` requests matching `operationId` (any when omitted):
 * `error` answers `status` without running the handler; `reset` destroys the socket instead of
 * answering; `resetAfterCommit` runs the handler (the change sticks) and then destroys the socket,
 * which is how a lost response looks to a client; `slow` delays the answer by `delayMs`.
 */
const scriptedFaultSchema = z.strictObject({
  operationId: z.string().optional(),
  kind: z.enum(['error', 'reset', 'resetAfterCommit', 'slow']),
  status: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]).default(500),
  delayMs: z.number().int().min(0).default(0),
  times: z.number().int().min(1).default(1),
});

export const knobsSchema = z.strictObject({
  latency: z.strictObject({ fixedMs: z.number().min(0), jitterMs: z.number().min(0) }),
  /** How long the cluster status stays PENDING after the last user or custom-role change. */
  propagationDelayMs: z.number().int().min(0),
  rateLimit: z.strictObject({ enabled: z.boolean(), organization: bucketSchema, project: bucketSchema }),
  faults: z.strictObject({
    serverErrorRate: z.number().min(0).max(1),
    serverErrorStatus: z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)]),
    connectionResetRate: z.number().min(0).max(1),
    slowResponseRate: z.number().min(0).max(1),
    slowResponseMs: z.number().int().min(0),
    script: z.array(scriptedFaultSchema),
  }),
  nonceLifetimeSeconds: z.number().int().min(1),
  tokenLifetimeSeconds: z.number().int().min(1),
  /** Atlas allows 10 token requests per minute per client and IP. */
  tokenRequestsPerMinute: z.number().int().min(1),
  /** Atlas allows 10 invitations per minute (per window below). */
  invitationsPerMinute: z.number().int().min(1),
  /** The invitation window; Atlas's is one minute. Tests shorten it to keep a burst fast. */
  invitationWindowMs: z.number().int().min(1),
  /** Collection-level role grants per project (COLLECTION_ROLES_LIMIT_EXCEEDED beyond it). */
  collectionRolesLimit: z.number().int().min(1),
  /**
   * When deleting a custom role still granted to a user is refused (409 IN_USE_BY_USERS):
   * `refuseIfAssigned` (default, the safe reading) whenever any user holds it; `refuseIfStranding`
   * only when it is some user's last role, as the spec and error text word it.
   */
  customRoleDeletion: z.enum(['refuseIfAssigned', 'refuseIfStranding']),
  /**
   * A PATCH that leaves a database user with no roles: `refuse` (default, the spec's `roles`
   * needs one item) answers 400 INVALID_ATTRIBUTE; `accept` keeps the user, role-less (the
   * connector parks users that way and must handle both).
   */
  databaseUserEmptyRoles: z.enum(['refuse', 'accept']),
});

export type Knobs = z.infer<typeof knobsSchema>;
export type BucketSpec = z.infer<typeof bucketSchema>;
export type ScriptedFault = z.infer<typeof scriptedFaultSchema>;
export type ScriptedFaultInput = z.input<typeof scriptedFaultSchema>;

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;
export type KnobsPatch = DeepPartial<Omit<Knobs, 'faults'>> & {
  faults?: DeepPartial<Omit<Knobs['faults'], 'script'>> & { script?: ScriptedFaultInput[] };
};

export function defaultKnobs(): Knobs {
  return {
    latency: { fixedMs: 0, jitterMs: 0 },
    propagationDelayMs: 500,
    rateLimit: {
      enabled: true,
      organization: { capacity: 100, refillAmount: 100, refillIntervalSeconds: 60 },
      project: { capacity: 100, refillAmount: 100, refillIntervalSeconds: 60 },
    },
    faults: {
      serverErrorRate: 0,
      serverErrorStatus: 500,
      connectionResetRate: 0,
      slowResponseRate: 0,
      slowResponseMs: 0,
      script: [],
    },
    nonceLifetimeSeconds: 300,
    tokenLifetimeSeconds: 3600,
    tokenRequestsPerMinute: 10,
    invitationsPerMinute: 10,
    invitationWindowMs: 60_000,
    collectionRolesLimit: 100,
    customRoleDeletion: 'refuseIfAssigned',
    databaseUserEmptyRoles: 'refuse',
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepMerge(base: unknown, patch: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch === undefined ? base : patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = deepMerge(base[key], value);
  return out;
}

/**
 * Applies a patch to the live knobs object in place (so holders of `sim.knobs` see the change) and
 * validates the result; an invalid patch leaves the knobs untouched and throws.
 */
export function applyKnobsPatch(target: Knobs, patch: unknown): Knobs {
  const merged = knobsSchema.safeParse(deepMerge(target, patch));
  if (!merged.success) {
    const problems = merged.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new Error(`invalid knobs: ${problems.join('; ')}`);
  }
  Object.assign(target, merged.data);
  return target;
}
