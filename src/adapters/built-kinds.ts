import { integrationKinds } from './registry.js';

/**
 * The integration kinds this build serves, read from the adapter registry: the one place the
 * packaging checks, the chart README and `doctor --help` take the list from.
 */
export function builtIntegrationKinds(): readonly string[] {
  return [...integrationKinds];
}
