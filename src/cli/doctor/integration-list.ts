import { readEnrollmentToken } from '../../config/enrollment-token.js';
import {
  basePath,
  headers,
  IntegrationsResponse,
  paths,
  protocolVersion,
} from '../../control-plane/protocol.js';
import type { IntegrationRef } from '../../control-plane/protocol.js';
import { cutText } from '../../runtime/cut-text.js';
import { userAgent } from '../../version.js';
import { describeError, type CheckStep } from './check-runner.js';
import { provided, type DoctorContext } from './doctor-context.js';
import { integrationTarget } from './doctor-args.js';
import { registeredKinds, type DoctorKinds, type DoctorTarget } from './doctor-types.js';

const tokenAccepted = 'the control plane accepted the enrollment token';

/**
 * `doctor` with no target flags: asks the control plane which integrations this connector serves
 * (`GET /connectors/{id}/integrations` with the enrollment token; no session is created) and
 * stores them on the context for the per-integration checks.
 */
export const integrationListCheck: CheckStep = {
  name: 'integrations',
  needs: ['configuration', 'control plane'],
  async run(ctx, signal) {
    const config = provided(ctx.config, 'the configuration');
    if (!config.controlPlane.url) {
      return {
        status: 'fail',
        detail: 'CONTROL_PLANE_URL is not set, so there is no control plane to ask for integrations',
        remedy:
          'set CONTROL_PLANE_URL and CONTROL_PLANE_TOKEN(_FILE) as the daemon has them, or name one integration: doctor --kind <kind> --secret-ref <ref> --project-id <id>',
      };
    }
    let integrations: IntegrationRef[];
    try {
      integrations = await fetchIntegrations(ctx, config.controlPlane, config.connectorId, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      return {
        status: 'fail',
        detail: `cannot list the integrations of connector "${config.connectorId}": ${describeError(error)}`,
        remedy: 'check CONTROL_PLANE_TOKEN(_FILE), or name one integration with --kind and --secret-ref',
      };
    }
    ctx.integrations = integrations;
    if (integrations.length === 0) {
      return {
        status: 'warn',
        detail: `the control plane accepted the enrollment token but knows no integration for connector "${config.connectorId}"`,
        remedy: 'add the integration in the control plane, then run doctor again',
      };
    }
    const listed = integrations.map((i) => `${i.id} (${i.kind})`).join(', ');
    const shared = sharedOrgPortals(integrations);
    if (shared !== undefined) {
      return {
        status: 'warn',
        detail: `${integrations.length} integration(s): ${listed}; ${shared}; ${tokenAccepted}`,
        remedy:
          'keep one atlas-org-portal integration per organization: each keeps its own grant ledger, so one can remove a role the other granted, or leave one for good (docs/org-portal.md)',
      };
    }
    return { status: 'pass', detail: `${integrations.length} integration(s): ${listed}; ${tokenAccepted}` };
  },
};

/**
 * Two `atlas-org-portal` integrations on one organization, said in words, or undefined. Their
 * ledgers are separate: a role one added looks held independently to the other.
 */
export function sharedOrgPortals(integrations: readonly IntegrationRef[]): string | undefined {
  const byOrg = new Map<string, string[]>();
  for (const { id, kind, config } of integrations) {
    if (kind !== 'atlas-org-portal' || typeof config.orgId !== 'string') continue;
    byOrg.set(config.orgId, [...(byOrg.get(config.orgId) ?? []), id]);
  }
  const shared = [...byOrg].filter(([, ids]) => ids.length > 1);
  if (shared.length === 0) return undefined;
  return shared
    .map(
      ([orgId, ids]) =>
        `${ids.join(' and ')} are atlas-org-portal integrations of one organization (${orgId})`,
    )
    .join('; ');
}

async function fetchIntegrations(
  ctx: DoctorContext,
  controlPlane: { url?: string; token?: string; tokenFile?: string },
  connectorId: string,
  signal: AbortSignal,
): Promise<IntegrationRef[]> {
  const token = await readEnrollmentToken(controlPlane);
  ctx.scrubber.add(token);
  const url = `${(controlPlane.url ?? '').replace(/\/+$/, '')}${basePath}${paths.integrations(connectorId)}`;
  const response = await ctx.fetch(url, {
    headers: {
      authorization: `Bearer ${token}`,
      [headers.protocol]: String(protocolVersion),
      'user-agent': userAgent,
      accept: 'application/json',
    },
    signal,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${cutText(text, 300)}`);
  return IntegrationsResponse.parse(JSON.parse(text)).integrations;
}

/**
 * What doctor checks for one integration, or why it cannot: read as an `--integration` file is,
 * so a config whose jobs would all fail `invalid_job` fails here too, and the kind's own
 * connection check runs on the whole config.
 */
export function targetOf(
  integration: IntegrationRef,
  kinds: DoctorKinds = registeredKinds,
): DoctorTarget | string {
  const kind = integration.kind;
  if (!Object.hasOwn(kinds, kind)) {
    return `kind "${kind}" is not one this connector serves (${Object.keys(kinds).join(', ')})`;
  }
  const { secretRef, config } = integration;
  return integrationTarget({ kind, secretRef, config }, kinds);
}
