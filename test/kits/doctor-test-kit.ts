import { expect } from 'vitest';
import { z } from 'zod';
import { readOnlyApiKey, startAtlasSimulator, type AtlasSimulator } from '../../src/sandbox/atlas/index.js';
import { runDoctor } from '../../src/cli/doctor/doctor.js';
import {
  registeredKinds,
  type CheckResult,
  type CheckStatus,
  type DoctorKind,
  type DoctorKinds,
} from '../../src/cli/doctor/doctor-types.js';
import { createHttpClient } from '../../src/runtime/http.js';

/** Test-only helpers for the doctor suites: a simulator, a baseline environment, captured output. */
export const sandboxKey = { publicKey: 'sandboxp', privateKey: 'doctor-e2e-private-7c41d2f9-aa03' } as const;

/** Strings that must never appear in doctor's output, whatever the test does. */
export const neverPrinted: readonly string[] = [sandboxKey.privateKey, readOnlyApiKey.privateKey];

/**
 * A stub organization-level kind, for doctor's organization paths without any kind's own calls:
 * the registry row shape with an organization credential. The registered org kinds are checked
 * in `src/cli/doctor/doctor-org-kinds.test.ts`.
 */
export const orgKind: DoctorKind = {
  kind: 'test-org-kind',
  credential: {
    level: 'organization',
    role: 'ORG_OWNER',
    create: 'atlas organizations apiKeys create --orgId <orgId> --role ORG_OWNER --desc atlas-jit-connector',
  },
  configSchema: z.object({ orgId: z.string() }).strict(),
  create: () => ({
    operations: {},
    checkConnection: () => Promise.resolve({ ok: true, detail: 'the organization answers' }),
  }),
};

/** The registered kinds plus the organization-level test kind. */
export const testKinds: DoctorKinds = { ...registeredKinds, [orgKind.kind]: orgKind };

export const checkNames = [
  'configuration',
  'control plane',
  'secret reference',
  'secret',
  'atlas authentication',
  'atlas visibility',
  'atlas roles',
] as const;

export function startSimulator(): Promise<AtlasSimulator> {
  return startAtlasSimulator({
    publicKey: sandboxKey.publicKey,
    privateKey: sandboxKey.privateKey,
    serviceAccounts: [{ clientId: serviceAccount.clientId, clientSecret: serviceAccount.clientSecret }],
  });
}

export const serviceAccount = {
  clientId: 'mdb_sa_id_66070000000000000000000a',
  clientSecret: 'mdb_sa_sk_doctor-e2e-secret-5b8e',
} as const;

export function apiKeyPayload(key: { publicKey: string; privateKey: string }): string {
  return JSON.stringify({ public_key: key.publicKey, private_key: key.privateKey });
}

export interface DoctorRun {
  readonly code: number;
  readonly stdout: readonly string[];
  readonly stderr: readonly string[];
  /** stdout and stderr together, as one text. */
  readonly text: string;
}

/** Every run's output, checked after each test for secrets. */
export const capturedOutput: string[] = [];

/** Runs doctor with captured output; `realCli` leaves out the fetch port, as `src/cli.ts` does. */
export async function doctor(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  { realCli = false } = {},
): Promise<DoctorRun> {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const code = await runDoctor(argv, {
    env,
    stdout: (line) => stdout.push(line),
    stderr: (line) => stderr.push(line),
    ...(realCli ? {} : { fetch: createHttpClient() }),
    kinds: testKinds,
  });
  const text = [...stdout, ...stderr].join('\n');
  capturedOutput.push(text);
  return { code, stdout, stderr, text };
}

export function expectNoSecretPrinted(): void {
  const output = capturedOutput.splice(0).join('\n');
  for (const secret of [...neverPrinted, serviceAccount.clientSecret]) {
    expect(output, 'doctor printed a secret value').not.toContain(secret);
  }
}

/** The table line of one check: status, detail (first line) and the `fix:` lines after it. */
export function tableCheck(run: DoctorRun, name: string): { status: CheckStatus; block: string } {
  const index = run.stdout.findIndex((line) =>
    new RegExp(`^(PASS|FAIL|WARN|SKIP) {2}${name} {2,}`).test(line),
  );
  const line = run.stdout[index];
  if (line === undefined) throw new Error(`no table line for ${name}:\n${run.text}`);
  const next = run.stdout.findIndex((l, i) => i > index && /^((PASS|FAIL|WARN|SKIP) {2}|$)/.test(l));
  const block = run.stdout.slice(index, next === -1 ? undefined : next).join('\n');
  return { status: line.slice(0, 4).toLowerCase() as CheckStatus, block };
}

export function statuses(run: DoctorRun): Record<string, CheckStatus> {
  return Object.fromEntries(checkNames.map((name) => [name, tableCheck(run, name).status]));
}

export function jsonReport(run: DoctorRun): { ok: boolean; checks: CheckResult[] } {
  expect(run.stdout).toHaveLength(1);
  return JSON.parse(run.stdout[0] ?? '') as { ok: boolean; checks: CheckResult[] };
}
