import { isConnectorError } from '../../errors/connector-error.js';
import { createSecretScrubber } from '../../runtime/secret-scrubber.js';
import { atlasAuthenticationCheck, atlasVisibilityCheck } from './atlas-checks.js';
import { runChecks, type CheckStep } from './check-runner.js';
import { configurationCheck } from './configuration-check.js';
import { controlPlaneCheck } from './control-plane-check.js';
import { parseDoctorArgs, doctorUsage, type DoctorCommand } from './doctor-args.js';
import { closeDoctorContext, createDoctorContext } from './doctor-context.js';
import type { DoctorIo } from './doctor-types.js';
import { isOk, renderJson, renderTable } from './render.js';
import { roleCheck } from './role-check.js';
import { secretCheck, secretReferenceCheck } from './secret-checks.js';

export type { CheckResult, CheckStatus, DoctorIo } from './doctor-types.js';

/** In report order; each names the checks it depends on. */
export const doctorChecks: readonly CheckStep[] = [
  configurationCheck,
  controlPlaneCheck,
  secretReferenceCheck,
  secretCheck,
  atlasAuthenticationCheck,
  atlasVisibilityCheck,
  roleCheck,
];

/**
 * `atlas-jit-connector doctor …`: checks that this connector can serve one integration, prints a
 * report and returns the exit status (0 nothing failed, 1 a check failed, 2 bad arguments).
 * Every printed line goes through the secret scrubber, which holds whatever the secret held.
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
  const ctx = createDoctorContext(command.target, io, scrubber);
  try {
    const results = await runChecks(doctorChecks, ctx);
    const lines = command.json
      ? [renderJson(scrubber.scrubDeep(results))]
      : renderTable(command.target, results);
    for (const line of lines) io.stdout(scrubber.scrub(line));
    return isOk(results) ? 0 : 1;
  } finally {
    await closeDoctorContext(ctx);
  }
}
