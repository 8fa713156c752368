import { adapters } from './registry.js';

/**
 * The integration kinds this build serves, read from the adapter registry. The one place that
 * turns the registry into a list of names: the chart's NOTES, the doctor's --kind and the docs are
 * checked against it.
 */
export function builtIntegrationKinds(): readonly string[] {
  return Object.keys(adapters).sort();
}
