import { readAdminToken } from '../../admin/admin-listeners.js';
import { loadConfig, type AppConfig } from '../../config/env.js';
import { isConnectorError } from '../../errors/connector-error.js';
import { createHttpClient } from '../../runtime/http.js';
import { createOutboundAgent } from '../../runtime/outbound-agent.js';
import type { CheckStep } from './check-runner.js';
import { displayUrl, type DoctorContext } from './doctor-context.js';
import type { CheckOutcome } from './doctor-types.js';

export const configurationCheck: CheckStep = {
  name: 'configuration',
  needs: [],
  run: (ctx) => checkConfiguration(ctx),
};

async function checkConfiguration(ctx: DoctorContext): Promise<CheckOutcome> {
  let config: AppConfig;
  try {
    config = loadConfig(ctx.env);
  } catch (error) {
    if (!isConnectorError(error) || error.code !== 'config_invalid') throw error;
    return {
      status: 'fail',
      detail: error.message,
      remedy:
        'correct each variable listed (every line names one; .env.example and the Helm values document them) and run doctor again',
    };
  }
  ctx.scrubber.add(config.controlPlane.token);
  const proxyProblem = ctx.configureHttp ? applyOutboundHttp(ctx, config) : undefined;
  if (proxyProblem) return proxyProblem;
  const tokenProblem = await checkAdminToken(ctx, config);
  if (tokenProblem) return tokenProblem;
  ctx.config = config;
  return { status: 'pass', detail: describeConfig(config) };
}

/** ADMIN_TOKEN_FILE as the daemon reads it at start: unreadable, short or not one line, the daemon exits 78. */
async function checkAdminToken(ctx: DoctorContext, config: AppConfig): Promise<CheckOutcome | undefined> {
  if (config.admin.tokenFile === undefined) return undefined;
  try {
    await readAdminToken(config.admin.tokenFile, ctx.scrubber);
    return undefined;
  } catch (error) {
    if (!isConnectorError(error)) throw error;
    return {
      status: 'fail',
      detail: error.message,
      remedy:
        'mount a Secret holding one token of 16 or more characters on one line at that path, or unset ADMIN_TOKEN_FILE',
    };
  }
}

/** Doctor takes the daemon's network path: the same proxy and extra CA bundle. */
function applyOutboundHttp(ctx: DoctorContext, config: AppConfig): CheckOutcome | undefined {
  try {
    ctx.agent = createOutboundAgent(config.http);
    if (ctx.agent) ctx.fetch = createHttpClient({ agent: ctx.agent });
    return undefined;
  } catch (error) {
    if (!isConnectorError(error) || error.code !== 'config_invalid') throw error;
    return {
      status: 'fail',
      detail: error.message,
      remedy: 'mount the PEM bundle at that path (a ConfigMap or Secret volume) or unset CA_BUNDLE_FILE',
    };
  }
}

function describeConfig(config: AppConfig): string {
  const mode =
    config.mode === 'sandbox'
      ? 'sandbox mode (CONTROL_PLANE_URL is not set)'
      : `remote mode: connector ${config.connectorId}, control plane ${displayUrl(config.controlPlane.url ?? '')}`;
  const proxy = config.http.httpsProxy
    ? `, outbound through HTTPS_PROXY ${displayUrl(config.http.httpsProxy)}`
    : '';
  return `${mode}; Atlas API at ${displayUrl(config.atlas.baseUrl)}${proxy}`;
}
