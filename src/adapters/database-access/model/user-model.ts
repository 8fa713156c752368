import { createHash } from 'node:crypto';
import { requireResourceKey } from '../../resource-key.js';
import type { KeyValue } from '../../../atlas/index.js';
import type { OneProjectScope } from '../../scope.js';

/**
 * How the connector records intent on the Atlas objects it manages (ARCHITECTURE §4, invariant 2).
 * Atlas is the source of truth: everything revoke, renew and sweep need is in these labels, so the
 * connector keeps no state of its own. Label keys and values are 1..255 characters.
 */
export const labelKeys = {
  managedBy: 'managed-by',
  requester: 'jit-requester',
  strategy: 'jit-strategy',
  integration: 'jit-integration',
  passwordRotatedAt: 'jit-pw-rotated-at',
  passwordGrant: 'jit-pw-grant',
  lastRevokedAt: 'jit-last-revoked-at',
  grantPrefix: 'jit-grant.',
  purpose: 'jit-purpose',
} as const;

/** The `jit-purpose` of deep discovery's short-lived discovery users (`collectionDiscovery: driver`). */
export const discoveryPurpose = 'discovery';

export const managedByValue = 'atlas-jit-connector';
export const maxDeleteAfterMs = 7 * 86_400_000;
/** Stay clear of Atlas's 7-day ceiling: the request reaches Atlas a little after we compute it. */
export const deleteAfterMarginMs = 3_600_000;
const maxLabelValue = 255;

export type UserStrategy = 'per-requester' | 'per-grant';

/** One role a grant gives, on one cluster. `roleName` may be a connector-made custom role. */
export interface GrantedRole {
  readonly cluster: string;
  readonly roleName: string;
  readonly databaseName: string;
  readonly collectionName?: string;
}

export interface GrantRecord {
  /** sha256(grantId) prefix: grant ids are the control plane's and may be long. */
  readonly key: string;
  readonly expiresAtMs: number;
  readonly roles: readonly GrantedRole[];
  /**
   * The integration that made the grant, or last renewed it (`integrationKey`). A per-requester
   * user may carry several integrations' grants (`userClusterOf`), while its `jit-integration`
   * label names only the last writer; each sweep vouches for its own integration's grants only.
   * A record written before records named one is read as the label's (`readGrants`).
   */
  readonly integration?: string;
  /**
   * When the grant or its last renewal wrote the record (epoch ms, whole seconds); other rewrites
   * of the user (another grant's, a revoke's, a sweep's repair) keep it. The sweep ends a grant its
   * configuration refuses only when the record is older than the sweep's claim (the configuration
   * it works from may predate a grant made since). Absent: written by an earlier version, long ago.
   */
  readonly writtenAtMs?: number;
}

export function shortHash(value: string, hexChars: number): string {
  return createHash('sha256').update(value, 'utf8').digest('hex').slice(0, hexChars);
}

export function grantKey(grantId: string): string {
  return shortHash(grantId, 16);
}

function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/g, '');
}

export interface Requester {
  readonly id: string;
  readonly email?: string;
  readonly name?: string;
}

/**
 * Readable, stable usernames (the audit trail peers lack): `jit-alice-example-com-3f9a` per
 * requester, `jit-alice-example-com-3f9a-c-5e6f7a8b` per requester and cluster (`cluster` given:
 * an `atlas-project` integration or a deep-discovery sub-integration, `userClusterOf`),
 * `jit-alice-example-com-g-0c1d2e3f` per grant. The hash keeps two requesters with the same e-mail
 * local part apart. The forms cannot meet: the slug holds only `a-z0-9-`, so the last
 * dash-separated part tells them apart (4 hex; `c` then 8 hex; `g` then 8 hex), and the per-grant
 * form ignores `cluster` (that user is already its grant's alone).
 */
export function usernameFor(
  strategy: UserStrategy,
  requester: Requester,
  grantId?: string,
  cluster?: string,
): string {
  const base = slug(requester.email ?? requester.name ?? requester.id) || 'user';
  if (strategy === 'per-requester') {
    const perRequester = `jit-${base}-${shortHash(requester.id, 4)}`;
    return cluster === undefined ? perRequester : `${perRequester}-c-${shortHash(cluster, 8)}`;
  }
  if (!grantId) throw new Error('a per-grant username needs the grant id');
  return `jit-${base}-g-${shortHash(grantId, 8)}`;
}

/**
 * The cluster a per-requester user is its own to, besides its project: the one cluster of an
 * `atlas-project` integration (`project-cluster`) or of a deep-discovery sub-integration
 * (`org-cluster`). Each is its own integration, with its own owners and approvals, and several may
 * sit on different clusters of one project; Atlas gives a user every one of its roles on every
 * cluster it is scoped to, so one user per requester and project would carry a role approved
 * through one integration to another's cluster. `atlas-multi-project` (`project`), whose grants
 * may name several clusters of a project, keeps one user per requester and project (none).
 */
export function userClusterOf(scope: OneProjectScope): string | undefined {
  switch (scope.kind) {
    case 'project-cluster':
    case 'org-cluster':
      return scope.clusterName;
    case 'project':
      return undefined;
  }
}

function encodeRole(role: GrantedRole): string {
  const collection = role.collectionName === undefined ? '' : `/${encodeURIComponent(role.collectionName)}`;
  return `${role.cluster}:${role.roleName}@${role.databaseName}${collection}`;
}

function decodeRole(text: string): GrantedRole | undefined {
  const match = /^([A-Za-z0-9][A-Za-z0-9-]*):([^@]+)@([^/]+)(?:\/(.*))?$/.exec(text);
  if (!match) return undefined;
  const [, cluster = '', roleName = '', databaseName = '', collection] = match;
  const collectionName = collection === undefined ? undefined : decodeCollection(collection);
  if (collectionName === null) return undefined;
  return { cluster, roleName, databaseName, ...(collectionName === undefined ? {} : { collectionName }) };
}

/**
 * null when the text is not percent-encoding (never written so: a chunk lost, a hand edit). It
 * makes the record malformed, skipped and reported, rather than throw out of every read of the
 * user: its other grants' revokes, grants and renews, and the sweep of its project.
 */
function decodeCollection(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

const isHighSurrogate = (code: number): boolean => code >= 0xd800 && code <= 0xdbff;

/**
 * `jit-grant.<key>` = `<expiry epoch s>|<role>,<role>…|<integration key>|<written epoch s>`,
 * continued in `jit-grant.<key>~2`… when long. (Neither a role name nor a database name holds `|`.)
 * Readers ignore the fields after the ones they know, so an earlier version reads this one.
 */
export function grantLabels(record: GrantRecord): KeyValue[] {
  const fields = [`${Math.floor(record.expiresAtMs / 1000)}`, record.roles.map(encodeRole).join(',')];
  if (record.integration !== undefined || record.writtenAtMs !== undefined)
    fields.push(record.integration ?? '');
  if (record.writtenAtMs !== undefined) fields.push(`${Math.floor(record.writtenAtMs / 1000)}`);
  const value = fields.join('|');
  const labels: KeyValue[] = [];
  for (let offset = 0, part = 1; offset < value.length; part += 1) {
    let end = Math.min(offset + maxLabelValue, value.length);
    // A database name may hold any Unicode: a chunk never ends on the first half of a surrogate
    // pair, which would send Atlas two ill-formed label values instead of one character.
    if (end < value.length && isHighSurrogate(value.charCodeAt(end - 1))) end -= 1;
    const key = `${labelKeys.grantPrefix}${record.key}${part === 1 ? '' : `~${part}`}`;
    labels.push({ key, value: value.slice(offset, end) });
    offset = end;
  }
  return labels;
}

const integrationKeyPattern = /^[0-9a-f]{16}$/;

/**
 * Reads every grant record back from a user's labels; malformed ones are skipped (sweep reports
 * them). A record that names no integration (written before records did) is the integration's its
 * user's `jit-integration` label names, as it was taken to be then.
 */
export function readGrants(labels: readonly KeyValue[]): GrantRecord[] {
  const labelled = labelValue(labels, labelKeys.integration);
  const fallback = labelled === undefined ? undefined : integrationKey(labelled);
  const chunks = new Map<string, Map<number, string>>();
  for (const { key, value } of labels) {
    if (!key.startsWith(labelKeys.grantPrefix)) continue;
    const [grant = '', partText] = key.slice(labelKeys.grantPrefix.length).split('~');
    const parts = chunks.get(grant) ?? new Map<number, string>();
    parts.set(partText ? Number(partText) : 1, value);
    chunks.set(grant, parts);
  }
  const records: GrantRecord[] = [];
  for (const [key, parts] of chunks) {
    const value = [...parts.entries()]
      .sort(([a], [b]) => a - b)
      .map(([, text]) => text)
      .join('');
    // A third field that is not an integration key, and fields after the time (a later
    // version's), are ignored, as this version's third and fourth are by earlier ones: a record
    // skipped would make a revoke answer already_revoked with the role in place.
    const [expiry = '', roleText = '', named, written] = value.split('|');
    const roles = roleText === '' ? [] : roleText.split(',').map(decodeRole);
    if (!/^\d+$/.test(expiry) || roles.some((role) => role === undefined)) continue;
    const integration = named !== undefined && integrationKeyPattern.test(named) ? named : fallback;
    // A time that is not one is read as none: written long ago, as by an earlier version.
    const writtenAtMs =
      written !== undefined && /^\d{1,12}$/.test(written) ? Number(written) * 1000 : undefined;
    records.push({
      key,
      expiresAtMs: Number(expiry) * 1000,
      roles: roles as GrantedRole[],
      ...(integration === undefined ? {} : { integration }),
      ...(writtenAtMs === undefined ? {} : { writtenAtMs }),
    });
  }
  return records.sort((a, b) => a.key.localeCompare(b.key));
}

export function labelValue(labels: readonly KeyValue[] | undefined, key: string): string | undefined {
  return labels?.find((label) => label.key === key)?.value;
}

export function isManaged(labels: readonly KeyValue[] | undefined): boolean {
  return labelValue(labels, labelKeys.managedBy) === managedByValue;
}

/** The username prefix of deep discovery's discovery users (`jit-discovery-<12 hex>`). */
export const discoveryUsernamePrefix = 'jit-discovery-';

/**
 * A deep-discovery discovery user (`jit-discovery-<hex>`): no grant ever holds it, its discovery
 * deletes it after use, and Atlas at its `deleteAfterDate` (30 minutes) when that discovery died.
 * Sweeps and discovers pass such a user by, so all of it must hold: the connector's label and
 * purpose, the name, a `deleteAfterDate`, and no grant label. A user that merely carries the
 * purpose label (set by hand, or on a person's user) is planned like any other managed user.
 */
export function isDiscoveryUser(user: {
  readonly username: string;
  readonly labels?: readonly KeyValue[] | undefined;
  readonly deleteAfterDate?: string | undefined;
}): boolean {
  const { labels } = user;
  return (
    isManaged(labels) &&
    labelValue(labels, labelKeys.purpose) === discoveryPurpose &&
    user.username.startsWith(discoveryUsernamePrefix) &&
    user.deleteAfterDate !== undefined &&
    !(labels ?? []).some((label) => label.key.startsWith(labelKeys.grantPrefix))
  );
}

/** The strategy that made a user, from its own label; undefined when absent or unknown. */
export function strategyOf(labels: readonly KeyValue[] | undefined): UserStrategy | undefined {
  const strategy = labelValue(labels, labelKeys.strategy);
  return strategy === 'per-requester' || strategy === 'per-grant' ? strategy : undefined;
}

/** The `jit-integration` label value an integration's users carry: its id, cut to a label's length. */
export function integrationLabel(integrationId: string): string {
  return integrationId.slice(0, maxLabelValue);
}

/**
 * What a grant record names its integration by: a hash of the label form of its id (16 hex), so a
 * record stays short and parseable whatever characters the id holds.
 */
export function integrationKey(integrationId: string): string {
  return shortHash(integrationLabel(integrationId), 16);
}

/** Rebuilds the label set: fixed identity labels, the given grants, and the bookkeeping values. */
export function buildLabels(input: {
  readonly requesterId: string;
  readonly strategy: UserStrategy;
  readonly integrationId: string;
  readonly grants: readonly GrantRecord[];
  readonly passwordRotatedAt?: string;
  readonly passwordGrant?: string;
  readonly lastRevokedAt?: string;
}): KeyValue[] {
  const requester =
    input.requesterId.length <= maxLabelValue
      ? input.requesterId
      : `sha256:${shortHash(input.requesterId, 64)}`;
  const labels: KeyValue[] = [
    { key: labelKeys.managedBy, value: managedByValue },
    { key: labelKeys.requester, value: requester },
    { key: labelKeys.strategy, value: input.strategy },
    { key: labelKeys.integration, value: integrationLabel(input.integrationId) },
  ];
  if (input.passwordRotatedAt)
    labels.push({ key: labelKeys.passwordRotatedAt, value: input.passwordRotatedAt });
  if (input.passwordGrant) labels.push({ key: labelKeys.passwordGrant, value: input.passwordGrant });
  if (input.lastRevokedAt) labels.push({ key: labelKeys.lastRevokedAt, value: input.lastRevokedAt });
  for (const grant of input.grants) labels.push(...grantLabels(grant));
  return labels;
}

/**
 * A role's identity in sets and reports: `role@database`, or `role@database.collection` (a
 * database name holds no dot, so the form is unambiguous). The one encoding for comparing roles.
 */
export function roleKey(role: {
  readonly roleName: string;
  readonly databaseName: string;
  readonly collectionName?: string | undefined;
}): string {
  const collection = role.collectionName === undefined ? '' : `.${role.collectionName}`;
  return `${role.roleName}@${role.databaseName}${collection}`;
}

/** The roles a set of grants needs, deduplicated: reference counting falls out of the union. */
export function rolesNeeded(grants: readonly GrantRecord[]): GrantedRole[] {
  const seen = new Map<string, GrantedRole>();
  for (const grant of grants) {
    for (const role of grant.roles) seen.set(roleKey(role), role);
  }
  return [...seen.values()].sort((a, b) => encodeRole(a).localeCompare(encodeRole(b)));
}

/** The clusters a set of grants needs the user scoped to. */
export function clustersNeeded(grants: readonly GrantRecord[]): string[] {
  return [...new Set(grants.flatMap((grant) => grant.roles.map((role) => role.cluster)))].sort();
}

export function activeGrants(grants: readonly GrantRecord[], nowMs: number): GrantRecord[] {
  return grants.filter((grant) => grant.expiresAtMs > nowMs);
}

/**
 * Invariant 1: the latest moment the user must exist, capped at now + 7 days − margin. Renew and
 * sweep roll it forward for longer needs.
 */
export function deleteAfterFor(latestNeededMs: number, nowMs: number): string {
  const capped = Math.min(latestNeededMs, nowMs + maxDeleteAfterMs - deleteAfterMarginMs);
  // Atlas refuses a date in the past; a minute ahead is the earliest we ask for.
  return new Date(Math.max(capped, nowMs + 60_000)).toISOString();
}

/**
 * The resource key the control plane leases on, and the worker serializes by, for every job that
 * reads-modifies-writes one database user (invariant 7): `<projectId>/<username>`. Two jobs with
 * the same key never run at once, so a user's role set is never written from two stale reads.
 */
export function resourceKeyFor(projectId: string, username: string): string {
  return `${projectId}/${username}`;
}

/**
 * The control plane leases by resource key, and serializes only what it keys alike: a job keyed
 * other than `<projectId>/<username>` could run beside another job on the same user and write
 * roles from a stale read. So a mismatched key is refused before any write (`invalid_job`).
 */
export function checkResourceKey(
  ctx: { readonly resourceKey?: string },
  projectId: string,
  username: string,
): void {
  requireResourceKey(ctx, resourceKeyFor(projectId, username), {
    what: "this job's database user",
    shape:
      '<projectId>/<username>, the username computed from the requester (and the cluster of an atlas-project integration or deep-discovery sub-integration) as documented in the README',
  });
}

/**
 * The database user a job for this requester (and grant, per-grant; and cluster, per-requester on
 * an atlas-project integration or a deep-discovery sub-integration: `userClusterOf`) reads and
 * writes.
 */
export function usernameForJob(
  strategy: UserStrategy,
  requester: Requester,
  grantId: string | undefined,
  scope: OneProjectScope,
): string {
  return strategy === 'per-grant'
    ? usernameFor(strategy, requester, grantId)
    : usernameFor(strategy, requester, undefined, userClusterOf(scope));
}
