import { loadConfig, type AppConfig } from '../config/env.js';
import { environmentSecrets } from '../config/environment-secrets.js';
import { addressInUseMessage, listenProblemMessage } from './address-in-use.js';
import { isConnectorError, type ConnectorError } from '../errors/connector-error.js';
import { chooseLogFormat, createLogger, prettyDestination, type Logger } from '../runtime/logger.js';
import { collectorFrom } from '../runtime/heap-compaction.js';
import { createSecretScrubber } from '../runtime/secret-scrubber.js';
import type { Sandbox } from '../sandbox/start-sandbox.js';
import { startDaemon, type Daemon } from '../main.js';
import { version } from '../version.js';
import type { SignalLatch } from './signal-latch.js';

/** How the daemon finds its control plane: `auto` is the bare command (npm start). */
export type RunMode = 'auto' | 'remote' | 'sandbox';

/** The environment the daemon reads: configuration, and the secrets the scrubber must know. */
type Env = Readonly<Record<string, string | undefined>>;

const missingControlPlane = `CONTROL_PLANE_URL is not set: the "run" command (the container image's default) serves a real control plane and will not fall back to the demo sandbox.
Set CONTROL_PLANE_URL (and CONTROL_PLANE_TOKEN_FILE or CONTROL_PLANE_TOKEN) to the control plane's HTTPS URL.
To run the embedded sandbox on purpose, use the "sandbox" command: docker run <image> sandbox, or npm start from a clone.`;

/** The configuration for `mode`, or the exit code 78 (EX_CONFIG) with the reason on stderr. */
function configFor(mode: RunMode, env: Env): AppConfig | number {
  try {
    const config = loadConfig(mode === 'sandbox' ? { ...env, CONTROL_PLANE_URL: '' } : env);
    if (mode === 'remote' && config.mode !== 'remote') {
      console.error(missingControlPlane);
      return 78;
    }
    return config;
  } catch (error) {
    console.error(isConnectorError(error) ? error.message : String(error));
    return 78; // EX_CONFIG
  }
}

/**
 * The daemon from configuration to exit code: 78 for a configuration problem, 1 for another start
 * failure, 0 once it has drained (after a signal `signals` latched, or a drain the control plane asked for).
 */
export async function runDaemon(mode: RunMode, env: Env, signals: SignalLatch): Promise<number> {
  const config = configFor(mode, env);
  if (typeof config === 'number') return config;
  const scrubber = createSecretScrubber();
  // From the logger's first line, in every mode: the sandbox starts (and may fail, or log) before
  // the daemon, whose composition root registers them again (a value registered twice is kept once).
  for (const value of environmentSecrets(env)) scrubber.add(value);
  scrubber.add(config.controlPlane.token);
  const logFormat = chooseLogFormat(config.logFormat, process.stdout.isTTY);
  const destination =
    logFormat === 'pretty' ? await prettyDestination({ colorize: process.stdout.isTTY }) : undefined;
  const loggerWith = (base: Record<string, string>) =>
    createLogger({ ...(destination ? { destination } : {}), level: config.logLevel, base, scrubber });
  const logger = loggerWith({
    connectorId: config.connectorId,
    version,
    ...(config.instance.podName ? { pod: config.instance.podName } : {}),
  });
  exitOnStrayErrors(logger);
  // The sandbox's servers are loaded only when it runs: a production daemon never pays for them.
  let sandbox: Sandbox | undefined;
  try {
    sandbox =
      config.mode === 'sandbox'
        ? await import('../sandbox/start-sandbox.js').then(({ startSandbox }) =>
            // Its own root logger: the sandbox's servers are not the connector, and the lines they
            // write name the connectors they serve (a connectorId base would repeat that key).
            startSandbox(config, { logger: loggerWith({ service: 'sandbox' }), scrubber }),
          )
        : undefined;
  } catch (error) {
    const inUse = addressInUseMessage(error, config) ?? listenProblemMessage(error, config);
    if (inUse === undefined && (!isConnectorError(error) || error.code !== 'config_invalid')) {
      // Through the scrubbing logger, as the daemon's own start-up failure: never a raw stack.
      logger.fatal({ err: error }, 'sandbox failed to start');
      return 1;
    }
    console.error(inUse ?? (error as Error).message);
    return 78;
  }
  const daemonConfig = sandbox ? sandbox.daemonConfig : config;
  let daemon: Daemon;
  try {
    daemon = await startDaemon(daemonConfig, {
      env: { ...env, ...sandbox?.env },
      logger,
      scrubber,
      // Present only under --expose-gc, which the container image sets (Dockerfile NODE_OPTIONS).
      collectGarbage: collectorFrom(globalThis.gc),
    });
  } catch (error) {
    await sandbox?.close();
    const inUse = addressInUseMessage(error, daemonConfig) ?? listenProblemMessage(error, daemonConfig);
    if (inUse !== undefined) {
      console.error(inUse);
      return 78;
    }
    // A file the configuration names (token, admin token, CA bundle): said on stderr as every other
    // configuration problem is, whatever LOG_LEVEL (at silent the pod would exit 78 without a word).
    if (isConnectorError(error) && error.code === 'config_invalid') {
      console.error(scrubber.scrub(configProblem(error)));
      return 78;
    }
    logger.fatal({ err: error }, 'connector failed to start');
    return 1;
  }
  if (sandbox) {
    console.log(sandbox.banner(daemon.admin.port, daemon.admin.metricsPort));
    void sandbox
      .demo((text) => console.log(text))
      .catch((error: unknown) => logger.error({ err: error }, 'sandbox demo failed'));
  }
  await waitForSignals(daemon, logger, signals);
  await sandbox?.close();
  logger.info('exiting');
  return 0;
}

/** The problem in one line: the message, and the cause's code (ENOENT, EACCES) when it adds one. */
function configProblem(error: ConnectorError): string {
  const cause: unknown = error.cause;
  const code = cause instanceof Error && 'code' in cause && typeof cause.code === 'string' ? cause.code : '';
  return code && !error.message.includes(code) ? `${error.message} (${code})` : error.message;
}

/**
 * A throw nothing caught (in a timer, a promise nobody awaited) leaves the process in an unknown
 * state: it ends it, as Node would, but as one scrubbed JSON line through the logger rather than a
 * raw stack on stderr that could carry a secret. Leases are not released: they expire and the
 * control plane redelivers the jobs.
 */
function exitOnStrayErrors(logger: Logger): void {
  const exit = (message: string) => (error: unknown) => {
    logger.fatal({ err: error }, message);
    process.exit(1);
  };
  process.on('uncaughtException', exit('uncaught exception; exiting'));
  process.on('unhandledRejection', exit('unhandled promise rejection; exiting'));
}

/**
 * First SIGTERM/SIGINT drains; a second one forces (signals received while the daemon started
 * count too). The handler never exits the process itself: this resolves once the daemon has
 * stopped, after a signal or after a drain the control plane asked for (the replica then exits 0
 * and its orchestrator replaces it).
 */
function waitForSignals(daemon: Daemon, logger: Logger, signals: SignalLatch): Promise<void> {
  return new Promise((resolve) => {
    void daemon.stopped.then(resolve);
    signals.handle((signal, count) => {
      logger.info(
        { signal, forced: count > 1 },
        count > 1 ? 'second signal: forcing shutdown' : 'signal received: draining',
      );
      void daemon.shutdown(count > 1);
    });
  });
}
