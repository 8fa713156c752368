import type { AppConfig } from '../config/env.js';

/**
 * A listener that cannot bind, told in terms of the variable that chose its port. A second
 * `npm start` in another terminal is the usual cause: its admin server and sandbox ports collide
 * with the first one's. `undefined` when `error` is not EADDRINUSE.
 */
/** The variable that chose `port`, among the listeners this process opens. */
function portVariable(config: AppConfig, port: number | undefined): string | undefined {
  const owners: readonly [string, number][] = [
    ['ADMIN_PORT', config.admin.port],
    ['ADMIN_METRICS_PORT', config.admin.metricsPort ?? -1],
    ['SANDBOX_CONTROL_PLANE_PORT', config.sandbox.controlPlanePort],
    ['SANDBOX_ATLAS_PORT', config.sandbox.atlasPort],
  ];
  return owners.find(([, value]) => value === port)?.[0];
}

export function addressInUseMessage(error: unknown, config: AppConfig): string | undefined {
  const failure = error as { code?: unknown; port?: unknown } | undefined;
  if (typeof failure !== 'object' || failure === null || failure.code !== 'EADDRINUSE') return undefined;
  const port = typeof failure.port === 'number' ? failure.port : undefined;
  const variable = portVariable(config, port);
  const which = variable
    ? `set ${variable} to a free port (0 picks any)`
    : 'set ADMIN_PORT (and in sandbox mode SANDBOX_CONTROL_PLANE_PORT, SANDBOX_ATLAS_PORT) to free ports';
  return `port ${port ?? '(unknown)'} is already in use, perhaps by another atlas-jit-connector (a second npm start?): stop it, or ${which}`;
}

/**
 * The admin listeners' other bind failures, told in terms of the variables that chose them: an
 * address this host does not have (EADDRNOTAVAIL), cannot resolve (ENOTFOUND) or has no address
 * family for (EAFNOSUPPORT: `::` on a node booted with IPv6 off) in ADMIN_HOST or
 * ADMIN_METRICS_HOST, or a port below 1024 for a user without the privilege (EACCES; the image
 * runs as UID 65532). `undefined` for anything else.
 */
export function listenProblemMessage(error: unknown, config: AppConfig): string | undefined {
  const failure = error as { code?: unknown; port?: unknown; hostname?: unknown } | undefined;
  if (typeof failure !== 'object' || failure === null) return undefined;
  const hosts = `ADMIN_HOST (${config.admin.host}) or ADMIN_METRICS_HOST (${config.admin.metricsHost})`;
  if (failure.code === 'EADDRNOTAVAIL' || failure.code === 'ENOTFOUND') {
    return `cannot listen on ${hosts}: not an address of this host (${failure.code}); use one it has, such as 0.0.0.0 or 127.0.0.1`;
  }
  if (failure.code === 'EAFNOSUPPORT') {
    return `cannot listen on ${hosts}: this host does not support that address family (EAFNOSUPPORT), e.g. an IPv6 address such as :: where IPv6 is turned off; use 0.0.0.0`;
  }
  if (failure.code === 'EACCES') {
    const port = typeof failure.port === 'number' ? failure.port : undefined;
    const variable = portVariable(config, port) ?? 'ADMIN_PORT and ADMIN_METRICS_PORT';
    return `cannot listen on port ${port ?? '(unknown)'}: permission denied (EACCES); ports below 1024 need a privilege the connector does not have: set ${variable} to 1024 or above`;
  }
  return undefined;
}
