import { describe, expect, it } from 'vitest';
import { policyRules } from '../errors/policy-denial.js';
import { createMetrics, leaseLossReasons } from './metrics.js';

describe('createMetrics', () => {
  it('exposes every label value of the counters an "any increase" alert watches at 0 from the start', async () => {
    // Prometheus sees no increase in a series whose first sample is already 1: without these
    // zeros, a pod's first lost lease or first policy denial fires neither alert.
    const text = await createMetrics('test').registry.metrics();
    for (const reason of leaseLossReasons)
      expect(text).toContain(`atlas_connector_leases_lost_total{reason="${reason}"} 0\n`);
    for (const rule of policyRules)
      expect(text).toContain(`atlas_connector_policy_denials_total{rule="${rule}"} 0\n`);
  });
});
