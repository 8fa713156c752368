import { z } from 'zod';
import { clusterNameSchema, projectIdSchema } from './settings.js';

/** A grant's end is given one way only: a duration or an instant. */
const exactlyOneExpiry = (p: { ttlSeconds?: number; expiresAt?: string }): boolean =>
  (p.ttlSeconds === undefined) !== (p.expiresAt === undefined);
const expiryRule = { message: 'exactly one of ttlSeconds or expiresAt is required', path: ['ttlSeconds'] };

export const RequesterSchema = z
  .object({
    id: z.string().min(1).max(1024),
    email: z.email().max(320).optional(),
    name: z.string().max(256).optional(),
  })
  .strict();

/**
 * Names MongoDB accepts for databases, less `,`: the grant label lists roles as `role@database`
 * separated by commas (model/user-model.ts), so a comma in a name would make the grant unreadable
 * to its revoke. Collections additionally may contain dots (they are percent-encoded in labels).
 * Both must be well-formed Unicode (no lone surrogate), which labels and Atlas need.
 */
const wellFormed = (text: string): boolean => !/\p{Surrogate}/u.test(text);
const databaseName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^/\\. "$*<>:|?,]+$/, 'is not a database name the connector accepts (no / \\ . " $ * < > : | ? ,)')
  .refine(wellFormed, 'must be well-formed Unicode (it has a lone surrogate)');
const collectionName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^$\0]+$/, 'is not a valid MongoDB collection name')
  .refine(wellFormed, 'must be well-formed Unicode (it has a lone surrogate)');

/** An access entry naming a role: a built-in role, or a custom role that already exists in the project. */
export const RoleAccessEntry = z
  .object({
    cluster: clusterNameSchema,
    role: z
      .string()
      .min(1)
      .max(64)
      .describe('A built-in role (read, readWrite, dbAdmin, …) or a custom role of the project.'),
    database: databaseName.optional(),
    collection: collectionName.optional(),
  })
  .strict();
export type RoleAccessEntry = z.infer<typeof RoleAccessEntry>;

/**
 * An access entry naming privileges no built-in role expresses: the connector serves it with a
 * content-addressed custom role (`jit-r-<hash>`) on the database, or one collection of it.
 */
export const ActionsAccessEntry = z
  .object({
    cluster: clusterNameSchema,
    actions: z
      .array(z.string().regex(/^[A-Z][A-Z_]{1,63}$/, 'is not an Atlas privilege action (e.g. FIND, INSERT)'))
      .min(1)
      .max(20)
      .refine((actions) => new Set(actions).size === actions.length, 'must not repeat an action')
      .describe('Atlas privilege actions (FIND, INSERT, UPDATE, REMOVE, LIST_COLLECTIONS, …).'),
    database: databaseName,
    collection: collectionName.optional(),
  })
  .strict();
export type ActionsAccessEntry = z.infer<typeof ActionsAccessEntry>;

function isObject(input: unknown): input is Record<string, unknown> {
  return typeof input === 'object' && input !== null && !Array.isArray(input);
}

/** The union's own message names the field: both forms at once, neither, or the chosen form's first issue. */
function accessEntryError(input: unknown): string {
  if (!isObject(input)) return 'must be an object with role or actions';
  const hasRole = 'role' in input;
  const hasActions = 'actions' in input;
  if (hasRole && hasActions) {
    return 'role and actions are mutually exclusive: give role (a built-in or project custom role) or actions (privileges), not both';
  }
  if (!hasRole && !hasActions) return 'role or actions is required';
  const issue = (hasActions ? ActionsAccessEntry : RoleAccessEntry).safeParse(input).error?.issues[0];
  if (issue === undefined) return 'is not a valid access entry';
  const keys = 'keys' in issue && Array.isArray(issue.keys) ? issue.keys.join(', ') : '';
  const field = issue.path.length > 0 ? issue.path.join('.') : keys;
  return field === '' ? issue.message : `${field}: ${issue.message}`;
}

export const AccessEntry = z.union([RoleAccessEntry, ActionsAccessEntry], {
  error: (issue) => (issue.code === 'invalid_union' ? accessEntryError(issue.input) : undefined),
});
export type AccessEntry = z.infer<typeof AccessEntry>;

export function isActionsEntry(entry: AccessEntry): entry is ActionsAccessEntry {
  return 'actions' in entry;
}

/** A public JWK (RSA or EC) the credential is encrypted to; the plaintext then appears nowhere. */
export const RecipientJwk = z
  .object({ kty: z.enum(['RSA', 'EC', 'OKP']), kid: z.string().optional(), alg: z.string().optional() })
  .catchall(z.unknown());

export const GrantPayload = z
  .object({
    grantId: z.string().min(1).max(256),
    requester: RequesterSchema,
    /** Required for atlas-multi-project; for atlas-project it must match the config when given. */
    projectId: projectIdSchema.optional(),
    access: z.array(AccessEntry).min(1).max(20),
    ttlSeconds: z.number().int().positive().optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
    recipientPublicKey: RecipientJwk.optional(),
  })
  .strict()
  .refine(exactlyOneExpiry, expiryRule);
export type GrantPayload = z.infer<typeof GrantPayload>;

export const RevokePayload = z
  .object({
    grantId: z.string().min(1).max(256),
    requester: RequesterSchema,
    projectId: projectIdSchema.optional(),
  })
  .strict();
export type RevokePayload = z.infer<typeof RevokePayload>;

export const RenewPayload = z
  .object({
    grantId: z.string().min(1).max(256),
    requester: RequesterSchema,
    projectId: projectIdSchema.optional(),
    ttlSeconds: z.number().int().positive().optional(),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .refine(exactlyOneExpiry, expiryRule);
export type RenewPayload = z.infer<typeof RenewPayload>;

export const RotatePayload = z
  .object({
    requester: RequesterSchema,
    projectId: projectIdSchema.optional(),
    recipientPublicKey: RecipientJwk.optional(),
  })
  .strict();
export type RotatePayload = z.infer<typeof RotatePayload>;

export const DiscoverPayload = z.object({}).strict();
export type DiscoverPayload = z.infer<typeof DiscoverPayload>;
export const SweepPayload = z.object({ projectId: projectIdSchema.optional() }).strict();
export type SweepPayload = z.infer<typeof SweepPayload>;
