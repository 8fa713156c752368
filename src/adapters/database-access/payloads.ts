import { z } from 'zod';
import { clusterNameSchema, projectIdSchema } from './config.js';

export const RequesterSchema = z
  .object({
    id: z.string().min(1).max(1024),
    email: z.email().max(320).optional(),
    name: z.string().max(256).optional(),
  })
  .strict();

/** Names MongoDB accepts for databases; collections additionally may contain dots. */
const databaseName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[^/\\. "$*<>:|?]+$/, 'is not a valid MongoDB database name');
const collectionName = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[^$\0]+$/, 'is not a valid MongoDB collection name');

export const AccessEntry = z
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
export type AccessEntry = z.infer<typeof AccessEntry>;

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
  .refine((p) => (p.ttlSeconds === undefined) !== (p.expiresAt === undefined), {
    message: 'exactly one of ttlSeconds or expiresAt is required',
    path: ['ttlSeconds'],
  });
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
  .refine((p) => (p.ttlSeconds === undefined) !== (p.expiresAt === undefined), {
    message: 'exactly one of ttlSeconds or expiresAt is required',
    path: ['ttlSeconds'],
  });
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
export const SweepPayload = z.object({ projectId: projectIdSchema.optional() }).strict();
