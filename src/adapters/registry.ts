import type { IntegrationAdapter } from './adapter.js';
import type { AdapterRuntime } from './adapter-job-handlers.js';
import { atlasMultiProjectAdapter } from './atlas-multi-project/atlas-multi-project-adapter.js';
import { atlasOrgPortalAdapter } from './atlas-org-portal/atlas-org-portal-adapter.js';
import { atlasProjectAdapter } from './atlas-project/atlas-project-adapter.js';

/** The integration kinds this connector serves. atlas-org-deep-discovery joins when it exists. */
export type IntegrationKind = 'atlas-project' | 'atlas-multi-project' | 'atlas-org-portal';

/**
 * Every adapter, by kind: the one exhaustive map (a kind missing here fails to compile). Each
 * keeps its own config type; `IntegrationAdapter` takes its config in method parameters, so the
 * map is assignable to the runtime's `Record<string, IntegrationAdapter<unknown>>` without a cast.
 */
export const adapters = {
  'atlas-project': atlasProjectAdapter,
  'atlas-multi-project': atlasMultiProjectAdapter,
  'atlas-org-portal': atlasOrgPortalAdapter,
} as const satisfies Record<IntegrationKind, IntegrationAdapter<unknown>>;

/** What `createAdapterJobHandlers` takes (checked here, so a variance change breaks the build). */
export const runtimeAdapters: AdapterRuntime['adapters'] = adapters;
