import { z } from 'zod';

/** `ResourceTag` / `ComponentLabel`: both required, 1…255 characters upstream. */
export const keyValueSchema = z.object({ key: z.string(), value: z.string() });
export type KeyValue = z.infer<typeof keyValueSchema>;
