import type { AnyKindDefinition } from '../../adapters/adapter.js';
import { kindRegistry } from '../../adapters/registry.js';
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

/** What doctor uses of a kind: its registry row (the credential it needs, its config, its factory). */
export type DoctorKind = Pick<AnyKindDefinition, 'kind' | 'credential' | 'configSchema' | 'create'>;
export type DoctorKinds = Readonly<Record<string, DoctorKind>>;

/** The kinds doctor offers: exactly the registry's. */
export const registeredKinds: DoctorKinds = kindRegistry;

/** Whether the kind's credential works on projects (else on an organization). */
export function isProjectLevel(target: Pick<DoctorTarget, 'definition'>): boolean {
  return target.definition.credential.level === 'project';
}

/** The integration doctor checks, from the command line or an integration file. */
export interface DoctorTarget {
  readonly kind: string;
  readonly definition: DoctorKind;
  readonly secretRef: string;
  /** Empty for org kinds, and for `atlas-multi-project` meaning "every project the key can see". */
  readonly projectIds: readonly string[];
  /** Set for org kinds only. */
  readonly orgId?: string;
  /** The whole integration config (`--integration`, or the control plane's list): the kind's `checkConnection` runs on it. */
  readonly config?: unknown;
}

/** What the CLI hands to `runDoctor`: the environment, output sinks and optional runtime ports. */
export interface DoctorIo {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly stdout: (line: string) => void;
  readonly stderr: (line: string) => void;
  /** Absent in the real CLI: doctor then uses the daemon's HTTP client, with its proxy and CA bundle. */
  readonly fetch?: Fetch;
  readonly clock?: Clock;
  readonly random?: Random;
  /** Absent in the real CLI: the registry's kinds. */
  readonly kinds?: DoctorKinds;
}
