import type { Random } from '../../runtime/random.js';
import type { Knobs } from './knobs.js';

export type FaultDecision =
  | { readonly kind: 'none'; readonly extraDelayMs: number }
  | { readonly kind: 'error'; readonly status: 500 | 502 | 503 | 504; readonly extraDelayMs: number }
  | { readonly kind: 'reset' | 'resetAfterCommit'; readonly extraDelayMs: number };

/**
 * Decides what goes wrong with one API request: scripted faults first (consumed in order), then
 * the random rates. Scripted faults make a test's failure deterministic; rates are for soak runs.
 */
export function decideFault(knobs: Knobs, random: Random, operationId: string | undefined): FaultDecision {
  const { faults } = knobs;
  const scripted = faults.script.findIndex(
    (f) => f.operationId === undefined || f.operationId === operationId,
  );
  const slow =
    faults.slowResponseRate > 0 && random.float() < faults.slowResponseRate ? faults.slowResponseMs : 0;
  if (scripted >= 0) {
    const fault = faults.script[scripted];
    if (fault) {
      if (fault.times <= 1) faults.script.splice(scripted, 1);
      else faults.script[scripted] = { ...fault, times: fault.times - 1 };
      if (fault.kind === 'slow') return { kind: 'none', extraDelayMs: slow + fault.delayMs };
      if (fault.kind === 'error') return { kind: 'error', status: fault.status, extraDelayMs: slow };
      return { kind: fault.kind, extraDelayMs: slow };
    }
  }
  if (faults.connectionResetRate > 0 && random.float() < faults.connectionResetRate) {
    return { kind: 'reset', extraDelayMs: slow };
  }
  if (faults.serverErrorRate > 0 && random.float() < faults.serverErrorRate) {
    return { kind: 'error', status: faults.serverErrorStatus, extraDelayMs: slow };
  }
  return { kind: 'none', extraDelayMs: slow };
}

export function latencyMs(knobs: Knobs, random: Random): number {
  const { fixedMs, jitterMs } = knobs.latency;
  return fixedMs + (jitterMs > 0 ? random.float() * jitterMs : 0);
}
