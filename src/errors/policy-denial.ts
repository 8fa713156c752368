import { ConnectorError } from './connector-error.js';

/** The `rule` label of `atlas_connector_policy_denials_total`: which part of the local policy refused. */
export const policyRules = [
  'job_type',
  'project',
  'role',
  'admin_role',
  'admin_database',
  'ttl',
  'membership',
  'other',
] as const;
export type PolicyRule = (typeof policyRules)[number];

/** The rule a denial about `field` falls under, when its site does not name one. */
function ruleForField(field: string): PolicyRule {
  if (/(^|\.)(ttlSeconds|expiresAt)$/.test(field)) return 'ttl';
  if (/projectId$/.test(field)) return 'project';
  if (/role|actions/i.test(field)) return 'role';
  if (field === 'requester.email') return 'membership';
  return 'other';
}

/** A `policy_denied` error naming the payload field and the policy rule that refused it. */
export function policyDenial(field: string, message: string, rule?: PolicyRule): ConnectorError {
  return new ConnectorError({
    code: 'policy_denied',
    message: `${field}: ${message}`,
    details: { field, rule: rule ?? ruleForField(field) },
  });
}
