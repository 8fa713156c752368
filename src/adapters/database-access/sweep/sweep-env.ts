import type { AtlasClient, CustomDbRole } from '../../../atlas/index.js';
import { isConnectorError, toConnectorError } from '../../../errors/connector-error.js';
import type { JobContext } from '../../../worker/job-context.js';
import type { AdapterDeps } from '../../adapter.js';
import type { DatabaseScope } from '../../scope.js';
import type { DatabaseJob } from '../database-operation.js';
import type { DatabaseAccessSettings } from '../model/settings.js';
import type { SweepTarget } from '../scope/projects-in-scope.js';
import type { SweepPayload } from '../model/payloads.js';
import type { SweepReport } from './sweep-report.js';

/** The slice of the Atlas client sweep uses. */
export interface SweepAtlas {
  readonly projects: Pick<AtlasClient['projects'], 'list'>;
  readonly databaseUsers: Pick<AtlasClient['databaseUsers'], 'list' | 'get' | 'update' | 'delete'>;
  /** `create` only to put back a role its delete stripped from a user (`restoreStrippedRoles`). */
  readonly customDbRoles: Pick<AtlasClient['customDbRoles'], 'list' | 'delete' | 'create'>;
  /** Read only when Atlas refuses a user's scope: which of its clusters are gone. */
  readonly clusters: Pick<AtlasClient['clusters'], 'get'>;
  readonly flexClusters: Pick<AtlasClient['flexClusters'], 'get'>;
}

export type SweepDeps = Pick<AdapterDeps, 'clock' | 'policy'> & { readonly atlas: SweepAtlas };
export type SweepInput = DatabaseJob<DatabaseScope, SweepPayload>;
export type SweepContext = Pick<
  JobContext,
  'signal' | 'beforeSideEffect' | 'describe' | 'claimedAtMs' | 'countSweepFailures'
>;

export interface SweepEnv {
  readonly projectId: string;
  /** `full`, or a project outside the integration's scope reached for this integration's users only. */
  readonly reach: SweepTarget['reach'];
  /** Off the integration's own configuration: its active grants here are ended (`SweepTarget`). */
  readonly outsideConfiguration: boolean;
  readonly integrationId: string;
  readonly settings: DatabaseAccessSettings;
  readonly deps: SweepDeps;
  readonly ctx: SweepContext;
  readonly report: SweepReport;
  /**
   * In scope, the project's custom roles as listed before its users: drift repair judges a
   * connector role (`jit-r-…`) against the local policy by its definition.
   */
  readonly customRoles?: readonly CustomDbRole[];
}

/** A lost lease or an abort ends the sweep; any other failure is one user's (or role's) problem. */
export function isStopping(error: unknown, ctx: SweepContext): boolean {
  if (ctx.signal.aborted) return true;
  return isConnectorError(error) && (error.code === 'lease_lost' || error.code === 'cancelled');
}

export function recordError(env: SweepEnv, error: unknown, subject: Record<string, string>): void {
  if (isStopping(error, env.ctx)) throw error;
  // The message may echo what Atlas or a proxy said (a secret, a connection string): scrubbed.
  const { code } = toConnectorError(error);
  env.report.errors.push({ projectId: env.projectId, ...subject, code, message: env.ctx.describe(error) });
}
