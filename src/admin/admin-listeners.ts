import { readFile } from 'node:fs/promises';
import type { Registry } from 'prom-client';
import type { AppConfig } from '../config/env.js';
import { ConnectorError } from '../errors/connector-error.js';
import type { Logger } from '../runtime/logger.js';
import type { SecretScrubber } from '../runtime/secret-scrubber.js';
import { startAdminServer, type AdminServer, type HealthSource } from './admin-server.js';

export interface AdminListeners extends AdminServer {
  /** The `/status` `/metrics` port when ADMIN_METRICS_PORT splits them off; else `port`. */
  readonly metricsPort: number;
}

/** Reads ADMIN_TOKEN_FILE as the daemon does at start (doctor checks it the same way). */
export async function readAdminToken(file: string, scrubber: Pick<SecretScrubber, 'add'>): Promise<string> {
  const token = (
    await readFile(file, 'utf8').catch((error: unknown) => {
      throw new ConnectorError({
        code: 'config_invalid',
        message: `ADMIN_TOKEN_FILE: cannot read ${file}`,
        cause: error,
      });
    })
  ).trim();
  if (token.length < 16)
    throw new ConnectorError({
      code: 'config_invalid',
      message: 'ADMIN_TOKEN_FILE: the token must be at least 16 characters',
    });
  // No client can send these in a header: every /status and /metrics request would answer 401.
  if (/\p{Cc}/u.test(token))
    throw new ConnectorError({
      code: 'config_invalid',
      message:
        'ADMIN_TOKEN_FILE: the token contains a line break or a control character (the file must hold one token on one line)',
    });
  scrubber.add(token);
  return token;
}

/**
 * The admin listeners: one for everything (the default), or the probes on ADMIN_HOST:ADMIN_PORT
 * and `/status` `/metrics` on ADMIN_METRICS_HOST:ADMIN_METRICS_PORT. ADMIN_TOKEN_FILE protects
 * `/status` and `/metrics` wherever they are served; the probes are always open.
 */
export async function startAdminListeners(
  admin: AppConfig['admin'],
  deps: { health: HealthSource; registry: Registry; logger: Logger; scrubber: SecretScrubber },
): Promise<AdminListeners> {
  const token =
    admin.tokenFile === undefined ? undefined : await readAdminToken(admin.tokenFile, deps.scrubber);
  const common = { health: deps.health, registry: deps.registry, logger: deps.logger, token };
  if (admin.metricsPort === undefined) {
    const all = await startAdminServer({ ...common, host: admin.host, port: admin.port, routes: 'all' });
    return { ...all, metricsPort: all.port };
  }
  const probes = await startAdminServer({ ...common, host: admin.host, port: admin.port, routes: 'probes' });
  const observability = await startAdminServer({
    ...common,
    host: admin.metricsHost,
    port: admin.metricsPort,
    routes: 'observability',
  }).catch(async (error: unknown) => {
    await probes.close();
    throw error;
  });
  return {
    port: probes.port,
    metricsPort: observability.port,
    close: async () => {
      await Promise.all([probes.close(), observability.close()]);
    },
  };
}
