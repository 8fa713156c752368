import { z } from 'zod';
import { blankIsUnset, EnvSchema, portOr } from '../../config/env.js';
import { ConnectorError } from '../../errors/connector-error.js';

/**
 * The standalone simulator's variables, read as the daemon reads its own: a variable set to
 * nothing (`X=` in an env file) is unset and takes its default. The key and fixture rules are the
 * daemon's sandbox ones; the port (default: any free one) and the host (default: loopback) are
 * its own.
 */
const SimulatorEnv = EnvSchema.pick({
  SANDBOX_ATLAS_PUBLIC_KEY: true,
  SANDBOX_ATLAS_PRIVATE_KEY: true,
  SANDBOX_ATLAS_FIXTURE: true,
}).extend({
  SANDBOX_ATLAS_PORT: portOr(0),
  SANDBOX_ATLAS_HOST: z.preprocess(blankIsUnset, z.string().trim().default('127.0.0.1')),
});

export interface SimulatorSettings {
  readonly host: string;
  readonly port: number;
  readonly publicKey: string;
  readonly privateKey: string;
  readonly fixturePath: string | undefined;
}

/** Every problem together, each naming its variable; values are never echoed (the key is secret). */
export function simulatorSettings(env: Readonly<Record<string, string | undefined>>): SimulatorSettings {
  const parsed = SimulatorEnv.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new ConnectorError({
      code: 'config_invalid',
      message: `invalid configuration:\n  - ${problems.join('\n  - ')}`,
    });
  }
  const settings = parsed.data;
  return {
    host: settings.SANDBOX_ATLAS_HOST,
    port: settings.SANDBOX_ATLAS_PORT,
    publicKey: settings.SANDBOX_ATLAS_PUBLIC_KEY,
    privateKey: settings.SANDBOX_ATLAS_PRIVATE_KEY,
    fixturePath: settings.SANDBOX_ATLAS_FIXTURE,
  };
}
