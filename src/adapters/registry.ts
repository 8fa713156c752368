import type { AnyKindDefinition, CommonDeps } from './adapter.js';
import { atlasMultiProjectKind } from './atlas-multi-project/atlas-multi-project-kind.js';
import { atlasProjectKind } from './atlas-project/atlas-project-kind.js';

/**
 * THE list of integration kinds: the job dispatcher, `schema`, `doctor`, the Helm NOTES and the
 * README table all read it (a test keeps the last two in step). A kind that is not built is not
 * here, and then appears nowhere. Adding a kind: docs/architecture.md.
 */
export const kindRegistry = {
  'atlas-project': atlasProjectKind,
  'atlas-multi-project': atlasMultiProjectKind,
} as const satisfies Record<string, AnyKindDefinition>;

export type IntegrationKind = keyof typeof kindRegistry;

/** The registered kinds in registry order. */
export const integrationKinds: readonly IntegrationKind[] = Object.freeze(
  Object.keys(kindRegistry).filter((kind): kind is IntegrationKind => Object.hasOwn(kindRegistry, kind)),
);

export function isIntegrationKind(kind: string): kind is IntegrationKind {
  return Object.hasOwn(kindRegistry, kind);
}

export function kindDefinition(kind: IntegrationKind): AnyKindDefinition {
  return kindRegistry[kind];
}

/** What a kind's factory takes beyond the common deps (declared by its `create` parameter). */
type ExtrasOf<K extends IntegrationKind> = Omit<
  Parameters<(typeof kindRegistry)[K]['create']>[0],
  keyof CommonDeps
>;

/** The per-kind extras the composition root must supply: one entry per kind that declares any. */
export type KindExtras = {
  readonly [K in IntegrationKind as keyof ExtrasOf<K> extends never ? never : K]: ExtrasOf<K>;
};

/** A kind ready to run: its definition and the adapter its factory built. */
export interface BuiltKind {
  readonly definition: AnyKindDefinition;
  readonly adapter: ReturnType<AnyKindDefinition['create']>;
}

function extrasFor(extras: KindExtras, kind: IntegrationKind): object {
  return Object.hasOwn(extras, kind) ? ((extras as Readonly<Record<string, object>>)[kind] ?? {}) : {};
}

/** Builds every registered kind's adapter (the composition root calls this once). */
export function buildAdapters(
  common: CommonDeps,
  extras: KindExtras,
): Readonly<Record<IntegrationKind, BuiltKind>> {
  const built = integrationKinds.map((kind) => {
    const definition = kindDefinition(kind);
    return [
      kind,
      { definition, adapter: definition.create({ ...common, ...extrasFor(extras, kind) }) },
    ] as const;
  });
  return Object.fromEntries(built) as Record<IntegrationKind, BuiltKind>;
}
