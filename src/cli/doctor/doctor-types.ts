import type { Clock } from '../../runtime/clock.js';
import type { Fetch } from '../../runtime/http.js';
import type { Random } from '../../runtime/random.js';

export type CheckStatus = 'pass' | 'fail' | 'warn' | 'skip';

/** One line of the doctor report. `detail` and `remedy` never hold a secret value. */
export interface CheckResult {
  readonly name: string;
  readonly status: CheckStatus;
  readonly detail: string;
  /** What to do about a `fail` or `warn`; may span several lines (one command per line). */
  readonly remedy?: string;
}

export type CheckOutcome = Omit<CheckResult, 'name'>;

export const integrationKinds = [
  'atlas-project',
  'atlas-multi-project',
  'atlas-org-portal',
  'atlas-org-deep-discovery',
] as const;

export type IntegrationKind = (typeof integrationKinds)[number];

export function isProjectKind(kind: IntegrationKind): boolean {
  return kind === 'atlas-project' || kind === 'atlas-multi-project';
}

/** The integration doctor checks, from the command line or an integration file. */
export interface DoctorTarget {
  readonly kind: IntegrationKind;
  readonly secretRef: string;
  /** Empty for org kinds, and for `atlas-multi-project` meaning "every project the key can see". */
  readonly projectIds: readonly string[];
  /** Set for org kinds only. */
  readonly orgId?: string;
}

/** What the CLI hands to `runDoctor`: the environment, output sinks and optional runtime ports. */
export interface DoctorIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Absent in the real CLI: doctor then configures proxy / CA bundle like the daemon and uses Node's fetch. */
  readonly fetch?: Fetch;
  readonly clock?: Clock;
  readonly random?: Random;
}
