import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { ConnectorError } from '../../errors/connector-error.js';
import { parseJsonText } from '../../runtime/json-text.js';
import { registeredKinds, type DoctorKind, type DoctorKinds, type DoctorTarget } from './doctor-types.js';

/** The usage text, naming exactly the kinds doctor offers. */
export function doctorUsage(kinds: DoctorKinds = registeredKinds): string {
  const names = Object.keys(kinds);
  const orgKinds = names.filter((kind) => kinds[kind]?.credential.level === 'organization');
  const orgLine =
    orgKinds.length > 0 ? `\n  --org-id <id>           24-hex organization id (${orgKinds.join(', ')})` : '';
  return `Usage:
  atlas-jit-connector doctor [--json]
  atlas-jit-connector doctor --kind <kind> --secret-ref <ref> [--project-id <id> ...] [--org-id <id>] [--json]
  atlas-jit-connector doctor --integration <file.json> [--json]

Checks, in order: configuration, control plane reachability, the secret reference, reading the
secret, Atlas authentication, what the credential can see, and its roles against what the kind needs.
Without --kind or --integration it checks the daemon's own environment: the control plane, then
every integration the control plane lists for CONNECTOR_ID.

Options:
  --kind <kind>           ${names.join(' | ')}
  --secret-ref <ref>      aws-sm://…, azure-kv://…, env://NAME or file:///path
  --project-id <id>       24-hex project id: exactly one for atlas-project; any number for
                          atlas-multi-project (none = every project the credential can see)${orgLine}
  --integration <file>    JSON {"kind", "secretRef", "config": {"projectId" | "projectIds" | "orgId"}}
  --json                  print one line: {"ok", "checks": [{"name", "status", "detail", "remedy"}]};
                          without --kind or --integration, {"ok", "sections": [{"title", "ok", "checks"}]}
  -h, --help              show this help

Exit status: 0 when nothing failed (warnings allowed), 1 when a check failed, 2 on bad arguments.`;
}

/** `target` absent: check every integration the control plane knows for this connector. */
export type DoctorCommand =
  { readonly help: true } | { readonly help: false; readonly target?: DoctorTarget; readonly json: boolean };

export type ReadText = (path: string) => Promise<string>;

const atlasIdPattern = /^[a-fA-F0-9]{24}$/;
const atlasId = z
  .string()
  .regex(atlasIdPattern, 'must be a 24-hex Atlas id')
  .transform((id) => id.toLowerCase());

const integrationFileSchema = (kinds: DoctorKinds) =>
  z.looseObject({
    kind: z.string().refine((kind) => Object.hasOwn(kinds, kind), {
      error: `must be one of ${Object.keys(kinds).join(', ')}`,
    }),
    secretRef: z.string({ error: 'is missing' }).trim().min(1, 'must not be empty'),
    config: z
      .looseObject({
        projectId: atlasId.optional(),
        projectIds: z.array(atlasId).optional(),
        orgId: atlasId.optional(),
      })
      .default({}),
  });

const options = {
  kind: { type: 'string' },
  'secret-ref': { type: 'string' },
  'project-id': { type: 'string', multiple: true },
  'org-id': { type: 'string' },
  integration: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Parses `doctor`'s arguments. Every problem is a `invalid_request` ConnectorError: exit status 2. */
export async function parseDoctorArgs(
  argv: readonly string[],
  readText: ReadText = (path) => readFile(path, 'utf8'),
  kinds: DoctorKinds = registeredKinds,
): Promise<DoctorCommand> {
  const { values, positionals } = parseFlags(argv);
  if (values.help) return { help: true };
  if (positionals.length > 0) throw usageError(`unexpected argument "${positionals[0] ?? ''}"`);
  const json = values.json ?? false;
  if (values.integration !== undefined) {
    const flagged = ['kind', 'secret-ref', 'project-id', 'org-id'].filter((name) => name in values);
    if (flagged.length > 0) {
      throw usageError(`--integration cannot be combined with --${flagged.join(', --')}`);
    }
    return { help: false, json, target: await readIntegrationFile(values.integration, readText, kinds) };
  }
  const targeted = ['kind', 'secret-ref', 'project-id', 'org-id'].some((name) => name in values);
  return targeted ? { help: false, json, target: targetFromFlags(values, kinds) } : { help: false, json };
}

type FlagValues = ReturnType<typeof parseFlags>['values'];

function parseFlags(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    // Node's messages name the option, never its value; the first sentence is the useful part.
    const message = error instanceof Error ? (error.message.split('. ')[0] ?? error.message) : String(error);
    throw usageError(message);
  }
}

function targetFromFlags(values: FlagValues, kinds: DoctorKinds): DoctorTarget {
  const problems: string[] = [];
  const kind = values.kind;
  const definition = kind === undefined ? undefined : kindOf(kinds, kind);
  if (kind === undefined) problems.push('--kind is required (or use --integration <file.json>)');
  else if (!definition) problems.push(`--kind "${kind}" is not one of ${Object.keys(kinds).join(', ')}`);
  const secretRef = values['secret-ref']?.trim() ?? '';
  if (secretRef === '')
    problems.push('--secret-ref is required, e.g. env://ATLAS_KEY or aws-sm://prod/atlas');
  const projectIds = (values['project-id'] ?? []).map((id) => flagId('--project-id', id, problems));
  const orgId = values['org-id'] === undefined ? undefined : flagId('--org-id', values['org-id'], problems);
  if (definition) {
    problems.push(
      ...shapeProblems(definition, projectIds, orgId, { project: '--project-id', org: '--org-id' }),
    );
  }
  if (problems.length > 0 || kind === undefined || !definition) throw usageError(problems.join('; '));
  return { kind, definition, secretRef, projectIds: unique(projectIds), ...(orgId ? { orgId } : {}) };
}

async function readIntegrationFile(
  path: string,
  readText: ReadText,
  kinds: DoctorKinds,
): Promise<DoctorTarget> {
  let text: string;
  try {
    text = await readText(path);
  } catch (error) {
    const reason = error instanceof Error && 'code' in error ? String(error.code) : 'unreadable';
    throw usageError(`--integration ${path}: cannot read the file (${reason})`);
  }
  let json: unknown;
  try {
    // A byte order mark is dropped, as from a secret's payload.
    json = parseJsonText(text);
  } catch {
    throw usageError(`--integration ${path}: not valid JSON`);
  }
  const target = integrationTarget(json, kinds);
  if (typeof target === 'string') throw usageError(`--integration ${path}: ${target}`);
  return target;
}

/**
 * The integration `{kind, secretRef, config}` as doctor checks it, or its problems in one line,
 * each naming its field. One reading for an `--integration` file and for the integrations the
 * control plane lists (doctor with no flags), so both judge the same config alike.
 */
export function integrationTarget(
  json: unknown,
  kinds: DoctorKinds = registeredKinds,
): DoctorTarget | string {
  const parsed = integrationFileSchema(kinds).safeParse(json);
  if (!parsed.success) {
    return parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(file)'} ${issue.message}`)
      .join('; ');
  }
  const { kind, secretRef, config } = parsed.data;
  const definition = kindOf(kinds, kind);
  if (!definition) return `kind must be one of ${Object.keys(kinds).join(', ')}`;
  const problems = projectFieldProblems(kinds, definition, config);
  // An organization kind's `projectIds` is an allow-list inside its config (checked by the kind's
  // own schema below), not a set of projects for doctor to check.
  const projectIds =
    definition.credential.level === 'organization'
      ? []
      : [...(config.projectId ? [config.projectId] : []), ...(config.projectIds ?? [])];
  const one = definition.credential.level === 'project' && definition.credential.projects === 'one';
  const naming = { project: one ? 'config.projectId' : 'config.projectIds', org: 'config.orgId' };
  problems.push(...shapeProblems(definition, projectIds, config.orgId, naming));
  if (problems.length > 0) return problems.join('; ');
  const raw: unknown = Object.getOwnPropertyDescriptor(json, 'config')?.value;
  return {
    kind,
    definition,
    secretRef,
    projectIds: unique(projectIds),
    ...(config.orgId ? { orgId: config.orgId } : {}),
    ...(raw === undefined ? {} : { config: raw }),
  };
}

/** A one-project kind takes `projectId`, a several-projects kind `projectIds`: naming the other is a mistake. */
function projectFieldProblems(
  kinds: DoctorKinds,
  definition: DoctorKind,
  config: { readonly projectId?: string | undefined; readonly projectIds?: readonly string[] | undefined },
): string[] {
  const { credential } = definition;
  if (credential.level !== 'project') return [];
  const takers = (projects: 'one' | 'several') =>
    Object.values(kinds)
      .filter((k) => k.credential.level === 'project' && k.credential.projects === projects)
      .map((k) => k.kind)
      .join(', ');
  if (credential.projects === 'one' && config.projectIds)
    return [`config.projectIds is for ${takers('several')}`];
  if (credential.projects === 'several' && config.projectId)
    return [`config.projectId is for ${takers('one')}`];
  return [];
}

/** Which scope each kind works on: one project, some projects, or one organization. */
function shapeProblems(
  definition: DoctorKind,
  projectIds: readonly string[],
  orgId: string | undefined,
  naming: { readonly project: string; readonly org: string },
): string[] {
  const { kind, credential } = definition;
  const problems: string[] = [];
  if (credential.level === 'project' && credential.projects === 'one' && projectIds.length !== 1) {
    problems.push(`${kind} needs exactly one ${naming.project}`);
  }
  if (credential.level === 'project' && orgId !== undefined)
    problems.push(`${naming.org} is not used by ${kind}`);
  if (credential.level === 'organization') {
    if (orgId === undefined) problems.push(`${kind} needs ${naming.org}`);
    if (projectIds.length > 0) problems.push(`${naming.project} is not used by ${kind}`);
  }
  return problems;
}

function flagId(flag: string, value: string, problems: string[]): string {
  if (!atlasIdPattern.test(value)) problems.push(`${flag} "${value}" must be 24 hexadecimal characters`);
  return value.toLowerCase();
}

function kindOf(kinds: DoctorKinds, kind: string): DoctorKind | undefined {
  return Object.hasOwn(kinds, kind) ? kinds[kind] : undefined;
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

function usageError(message: string): ConnectorError {
  return new ConnectorError({ code: 'invalid_request', message: `doctor: ${message}` });
}
