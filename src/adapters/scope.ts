/**
 * What a job acts on, as data. Each kind's scope resolver turns the integration config, the parsed
 * job payload and (when it must) Atlas into one of these; operations switch on `kind` and never
 * guess it from which optional fields happen to be present.
 */

/** Which connection string a grant returns: standard SRV, private (peering) SRV, or a private endpoint's. */
export type ConnectionChoice =
  | { readonly connectionType: 'standard' }
  | { readonly connectionType: 'private' }
  | { readonly connectionType: 'privateEndpoint'; readonly privateEndpointId: string };

/** One cluster of one project (`atlas-project`). */
export type ProjectClusterScope = {
  readonly kind: 'project-cluster';
  readonly projectId: string;
  readonly clusterName: string;
} & ConnectionChoice;

/** One project, any of its clusters (an `atlas-multi-project` job naming its project). */
export type ProjectScope = {
  readonly kind: 'project';
  readonly projectId: string;
} & ConnectionChoice;

/** A set of projects: an allow-list, or every project the credential can see (inventory jobs). */
export interface ProjectsScope {
  readonly kind: 'projects';
  readonly projects: { readonly allowList: readonly string[] } | 'every-visible-project';
  /**
   * Sweep only: projects outside `projects` (taken off the integration's allow-list since its
   * grants there) where the sweep still reconciles this integration's own users, so an ended
   * grant loses its roles; nothing else is done or reported there. Every project the key sees,
   * or the ones named.
   */
  readonly removalReach?: { readonly projectIds: readonly string[] } | 'every-visible-project';
}

/** One cluster of one project of an organization, found by discovery (a deep-discovery sub-integration). */
export type OrgClusterScope = {
  readonly kind: 'org-cluster';
  readonly orgId: string;
  readonly projectId: string;
  readonly clusterName: string;
} & ConnectionChoice;

/** A whole organization (Atlas UI access). */
export interface OrganizationScope {
  readonly kind: 'organization';
  readonly orgId: string;
}

export type Scope = ProjectClusterScope | ProjectScope | ProjectsScope | OrgClusterScope | OrganizationScope;

/** A scope naming exactly one project: what jobs on one database user act on. */
export type OneProjectScope = ProjectClusterScope | ProjectScope | OrgClusterScope;

/** The scopes database access works in (user jobs and inventory jobs). */
export type DatabaseScope = OneProjectScope | ProjectsScope;

/** The one cluster a scope is limited to, or undefined when any cluster of its project(s) is in scope. */
export function clusterLimit(scope: DatabaseScope): string | undefined {
  switch (scope.kind) {
    case 'project-cluster':
    case 'org-cluster':
      return scope.clusterName;
    case 'project':
    case 'projects':
      return undefined;
  }
}

/** The connection settings of an integration config, as a scope's connection choice. */
export function connectionChoice(settings: {
  readonly connectionType: 'standard' | 'private' | 'privateEndpoint';
  readonly privateEndpointId?: string | undefined;
}): ConnectionChoice {
  if (settings.connectionType === 'privateEndpoint') {
    // The config schema requires the id with this type; '' keeps the grant's own clear error.
    return { connectionType: 'privateEndpoint', privateEndpointId: settings.privateEndpointId ?? '' };
  }
  return { connectionType: settings.connectionType };
}
