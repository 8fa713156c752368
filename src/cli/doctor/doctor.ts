import { kindRegistry } from '../../adapters/registry.js';
import type { IntegrationRef } from '../../control-plane/protocol.js';
import { isConnectorError } from '../../errors/connector-error.js';
import type { SecretScrubber } from '../../runtime/secret-scrubber.js';
import { createSecretScrubber } from '../../runtime/secret-scrubber.js';
import { environmentSecrets } from '../../config/environment-secrets.js';
import { atlasAuthenticationCheck, atlasVisibilityCheck } from './atlas-checks.js';
import { runChecks, type CheckStep } from './check-runner.js';
import { configurationCheck } from './configuration-check.js';
import { controlPlaneCheck } from './control-plane-check.js';
import { parseDoctorArgs, doctorUsage, type DoctorCommand } from './doctor-args.js';
import { closeDoctorContext, createDoctorContext, type DoctorContext } from './doctor-context.js';
import { integrationListCheck, targetOf } from './integration-list.js';
import type { DoctorIo, DoctorTarget } from './doctor-types.js';
import {
  isOk,
  renderJson,
  renderSections,
  renderSectionsJson,
  renderTable,
  type ReportSection,
} from './render.js';
import { roleCheck } from './role-check.js';
import { secretCheck, secretReferenceCheck } from './secret-checks.js';

export type { CheckResult, CheckStatus, DoctorIo } from './doctor-types.js';

/** The checks of one integration, after the shared ones; each names the checks it depends on. */
export const integrationChecks: readonly CheckStep[] = [
  secretReferenceCheck,
  secretCheck,
  atlasAuthenticationCheck,
  atlasVisibilityCheck,
  roleCheck,
];

/** In report order. */
export const doctorChecks: readonly CheckStep[] = [
  configurationCheck,
  controlPlaneCheck,
  ...integrationChecks,
];

/**
 * `atlas-jit-connector doctor …`: checks that this connector can serve one integration, prints a
 * report and returns the exit status (0 nothing failed, 1 a check failed, 2 bad arguments).
 * Every result is scrubbed before it is laid out (a detail split over lines could otherwise hide a
 * secret from the scrubber), and every printed line again.
 */
export async function runDoctor(argv: readonly string[], io: DoctorIo): Promise<number> {
  let command: DoctorCommand;
  try {
    command = await parseDoctorArgs(argv, undefined, io.kinds);
  } catch (error) {
    if (!isConnectorError(error)) throw error;
    io.stderr(error.message);
    io.stderr('Run "atlas-jit-connector doctor --help" for usage.');
    return 2;
  }
  if (command.help) {
    io.stdout(doctorUsage(io.kinds));
    return 0;
  }
  const scrubber = createSecretScrubber();
  // As the daemon: a proxy's password or a cloud credential may be echoed by a failing check.
  for (const value of environmentSecrets(io.env)) scrubber.add(value);
  if (!command.target) return runForEnvironment(command.json, io, scrubber);
  const ctx = createDoctorContext(command.target, io, scrubber);
  try {
    const results = await runChecks(doctorChecks, ctx);
    const lines = command.json
      ? [renderJson(scrubber.scrubDeep(results))]
      : renderTable(command.target, scrubber.scrubDeep(results));
    for (const line of lines) io.stdout(scrubber.scrub(line));
    return isOk(results) ? 0 : 1;
  } finally {
    await closeDoctorContext(ctx);
  }
}

/**
 * `doctor` with no target: the daemon's own environment. Configuration and control plane once,
 * then the integrations the control plane lists for CONNECTOR_ID, each checked like `--kind`.
 */
async function runForEnvironment(json: boolean, io: DoctorIo, scrubber: SecretScrubber): Promise<number> {
  const shared = createDoctorContext(environmentTarget, io, scrubber);
  shared.listsIntegrations = true;
  const sections: ReportSection[] = [];
  try {
    const base = await runChecks([configurationCheck, controlPlaneCheck, integrationListCheck], shared);
    sections.push({ title: 'connector', results: base });
    for (const integration of shared.integrations ?? []) {
      sections.push(await checkIntegration(integration, shared, io, scrubber));
    }
  } finally {
    await closeDoctorContext(shared);
  }
  const connectorId = shared.config?.connectorId ?? '(unknown connector)';
  const lines = json
    ? [renderSectionsJson(scrubber.scrubDeep(sections))]
    : renderSections(connectorId, scrubber.scrubDeep(sections));
  for (const line of lines) io.stdout(scrubber.scrub(line));
  return sections.every((section) => isOk(section.results)) ? 0 : 1;
}

/** Unused by the shared checks; each integration gets its own target. */
const environmentTarget: DoctorTarget = {
  kind: 'atlas-project',
  definition: kindRegistry['atlas-project'],
  secretRef: '',
  projectIds: [],
};

async function checkIntegration(
  integration: IntegrationRef,
  shared: DoctorContext,
  io: DoctorIo,
  scrubber: SecretScrubber,
): Promise<ReportSection> {
  const title = `integration ${integration.id} (${integration.kind})`;
  const target = targetOf(integration, io.kinds);
  if (typeof target === 'string') {
    return { title, results: [{ name: 'integration', status: 'fail', detail: target }] };
  }
  const ctx = createDoctorContext(target, io, scrubber);
  ctx.config = shared.config;
  ctx.agent = shared.agent;
  // The proxy and CA bundle the configuration check applied, as the daemon uses them for Atlas.
  ctx.fetch = shared.fetch;
  try {
    return { title, results: await runChecks(integrationChecks, ctx) };
  } finally {
    await closeDoctorContext(ctx);
  }
}
