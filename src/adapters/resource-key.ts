import { ConnectorError } from '../errors/connector-error.js';

/**
 * Refuses a job that runs under another serialisation key than the one its kind derives from the
 * payload (`invalid_job`, before any write): under another key the control plane would not order it
 * after the other jobs on the same Atlas object. `what` names that object, `shape` the key's form.
 * Outside a job (no key) nothing is checked.
 */
export function requireResourceKey(
  ctx: { readonly resourceKey?: string },
  expected: string,
  described: { readonly what: string; readonly shape: string },
): void {
  if (ctx.resourceKey === undefined || ctx.resourceKey === expected) return;
  throw new ConnectorError({
    code: 'invalid_job',
    message: `resourceKey: "${ctx.resourceKey}" is not ${described.what}; expected "${expected}" (${described.shape})`,
    details: { field: 'resourceKey', expected },
  });
}
