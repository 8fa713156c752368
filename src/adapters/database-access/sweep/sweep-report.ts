import type { DeleteReason, RoleDrift } from './sweep-plan.js';

export interface UserRef {
  readonly projectId: string;
  readonly username: string;
}

export type DriftRepaired = UserRef & RoleDrift;

export interface SweepError {
  readonly projectId: string;
  readonly username?: string;
  readonly roleName?: string;
  readonly code: string;
  readonly message: string;
}

/** The sweep job's result: what changed, what was found, and what failed (per user or role). */
export interface SweepResult {
  /** Projects whose users were listed and reconciled. */
  projects: number;
  /**
   * Projects outside the integration's allow-list or the local policy's whose users were listed
   * to reconcile this integration's own users there (docs/discovery-and-sweep.md).
   */
  projectsOutsideScope: number;
  usersChecked: number;
  readonly rolesRemoved: (UserRef & { readonly roles: readonly string[] })[];
  readonly usersDeleted: (UserRef & { readonly reason: DeleteReason })[];
  readonly deleteAfterRolled: (UserRef & { readonly from?: string | undefined; readonly to: string })[];
  /**
   * This integration's active grants ended because its configuration no longer allows them (the
   * project or a cluster), on any user, by grant key (16 hex of sha256 of the grant id): their
   * records are gone, their roles no other active grant needs with them, and a user left idle is
   * parked or deleted (docs/discovery-and-sweep.md, Grants the configuration no longer allows).
   */
  readonly grantsEnded: (UserRef & { readonly grants: readonly string[] })[];
  readonly drift: {
    /** Managed users whose roles or scopes disagreed with their labels, now matching them. */
    readonly repaired: DriftRepaired[];
    /**
     * The same disagreement found on this integration's users in a project reached outside the
     * scope, or whose last grants named a cluster its configuration no longer allows
     * (`clusterNames`), and on users holding another integration's active grant, where the sweep
     * only takes away: unexpected roles and scopes are removed, but a missing role or cluster
     * stays missing (reported again each sweep).
     */
    readonly outsideScope: DriftRepaired[];
    /**
     * Roles an active grant records and the user lacks (removed by hand, say) that the local
     * policy now refuses (POLICY_ALLOWED_ROLES, POLICY_ALLOW_ADMIN_ROLES, the admin-database
     * rule): drift repair does not add them back (reported again each sweep until the grant ends).
     */
    readonly refusedByPolicy: (UserRef & { readonly roles: readonly string[] })[];
    /**
     * Connector roles (`jit-r-…`) an active grant records and the user lacks that the project no
     * longer defines, and whose definition this sweep does not know (deleted by a person, or by
     * a sweep that stopped before putting it back): the name is a hash of the privileges and
     * cannot be read back, so the role is neither recreated nor given (reported again each sweep
     * until the grant ends; a grant of the same privileges recreates it). Not in `refusedByPolicy`.
     */
    readonly connectorRolesGone: (UserRef & { readonly roles: readonly string[] })[];
    /** Managed users whose labels cannot be read (left untouched), or that lack deleteAfterDate. */
    readonly malformed: (UserRef & { readonly reason: string })[];
    /**
     * Users the connector does not manage: reported by name, never touched. The first
     * `maxUnmanagedListed` by project and name; `unmanagedTotal` counts them all.
     */
    unmanaged: UserRef[];
    unmanagedTotal: number;
  };
  readonly customRolesDeleted: { readonly projectId: string; readonly roleName: string }[];
  /** Connector-made roles Atlas refused to delete because something still uses them. */
  readonly customRolesKept: {
    readonly projectId: string;
    readonly roleName: string;
    readonly reason: string;
  }[];
  /**
   * Connector roles this sweep deleted that a grant had meanwhile assigned (Atlas deleted them
   * anyway and stripped them from the user, where it refuses only a delete that leaves a user
   * with no role): created again with the definition they were listed with, and given back to
   * these users by drift repair.
   */
  readonly customRolesRestored: {
    readonly projectId: string;
    readonly roleName: string;
    readonly usernames: readonly string[];
  }[];
  readonly errors: SweepError[];
}

/** The accumulator the project workers share (each push is synchronous, so no interleaving). */
export type SweepReport = SweepResult;

export function emptySweepReport(): SweepReport {
  return {
    projects: 0,
    projectsOutsideScope: 0,
    usersChecked: 0,
    rolesRemoved: [],
    usersDeleted: [],
    deleteAfterRolled: [],
    grantsEnded: [],
    drift: {
      repaired: [],
      outsideScope: [],
      refusedByPolicy: [],
      connectorRolesGone: [],
      malformed: [],
      unmanaged: [],
      unmanagedTotal: 0,
    },
    customRolesDeleted: [],
    customRolesKept: [],
    customRolesRestored: [],
    errors: [],
  };
}

function byRef(a: { projectId: string; username?: string; roleName?: string }, b: typeof a): number {
  return (
    a.projectId.localeCompare(b.projectId) ||
    (a.username ?? '').localeCompare(b.username ?? '') ||
    (a.roleName ?? '').localeCompare(b.roleName ?? '')
  );
}

/**
 * How many unmanaged users a result names. Every other user of an organization's projects is one
 * (applications, people): listed in full, a large organization's sweep result would pass the
 * protocol's 1 MiB body limit, and every sweep would fail although its removals were done.
 */
export const maxUnmanagedListed = 1_000;

/**
 * Projects run concurrently, so entries arrive in any order; the result is sorted, and the
 * unmanaged users are cut to `maxUnmanagedListed`, counted in full.
 */
export function sortSweepReport(report: SweepReport): SweepResult {
  const lists = [
    report.rolesRemoved,
    report.usersDeleted,
    report.deleteAfterRolled,
    report.grantsEnded,
    report.drift.repaired,
    report.drift.outsideScope,
    report.drift.refusedByPolicy,
    report.drift.connectorRolesGone,
    report.drift.malformed,
    report.drift.unmanaged,
    report.customRolesDeleted,
    report.customRolesKept,
    report.customRolesRestored,
    report.errors,
  ];
  for (const list of lists) list.sort(byRef);
  report.drift.unmanagedTotal = report.drift.unmanaged.length;
  report.drift.unmanaged = report.drift.unmanaged.slice(0, maxUnmanagedListed);
  return report;
}
