import { z } from 'zod';
import type { IntegrationRef } from '../control-plane/protocol.js';
import type { JobContext } from './job-context.js';

/** A job type the worker can run: its payload schema and the function that carries it out. */
export interface JobHandler<P = unknown> {
  readonly payloadSchema: z.ZodType<P>;
  /** Whether the job must name an integration (Atlas jobs do; `ping` does not). */
  readonly needsIntegration: boolean;
  run(payload: P, ctx: JobContext, integration: IntegrationRef | null): Promise<unknown>;
}

/** Looks up the handler for a job type. Adapters add the Atlas job types behind this port. */
export interface JobRouter {
  readonly types: readonly string[];
  handlerFor(type: string): JobHandler | undefined;
}

export const PingPayload = z
  .object({
    echo: z.string().max(4096).describe('Returned unchanged in the result.'),
    delayMs: z
      .number()
      .int()
      .min(0)
      .max(600_000)
      .optional()
      .describe('Holds the job this long (cancellable), to exercise leases and drain.'),
  })
  .strict();
export type PingPayload = z.infer<typeof PingPayload>;

/** `ping` exercises claim → lease → dispatch → result without touching Atlas. */
export const pingHandler: JobHandler<PingPayload> = {
  payloadSchema: PingPayload,
  needsIntegration: false,
  async run(payload, ctx) {
    if (payload.delayMs) await ctx.clock.sleep(payload.delayMs, ctx.signal);
    ctx.beforeSideEffect();
    return { echo: payload.echo };
  },
};

export function createJobRouter(handlers: Readonly<Record<string, JobHandler>>): JobRouter {
  return {
    types: Object.keys(handlers),
    handlerFor: (type) => (Object.hasOwn(handlers, type) ? handlers[type] : undefined),
  };
}
