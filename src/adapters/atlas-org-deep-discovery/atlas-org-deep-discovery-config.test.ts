import { describe, expect, it } from 'vitest';
import { DeepDiscoveryConfig } from './atlas-org-deep-discovery-config.js';

const orgId = '660100000000000000000001';

function issuesOf(input: unknown): string[] {
  const parsed = DeepDiscoveryConfig.safeParse(input);
  return parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('atlas-org-deep-discovery config', () => {
  it('takes a connectorId any CONNECTOR_ID may have', () => {
    for (const connectorId of ['vpc-a', 'prod.eu_1', `v${'a'.repeat(62)}`]) {
      expect(DeepDiscoveryConfig.parse({ orgId, connectorId }).connectorId).toBe(connectorId);
    }
  });

  // Untagged clusters are served by the connector whose CONNECTOR_ID equals this value: one that
  // no connector can have would route every one of them elsewhere, to nobody, without a word.
  it.each([
    ['a trailing space', 'vpc-a '],
    ['a leading space', ' vpc-a'],
    ['an empty value', ''],
    ['a character no CONNECTOR_ID may hold', 'vpc/a'],
    ['more characters than a CONNECTOR_ID may have', `v${'a'.repeat(63)}`],
  ])('refuses a connectorId with %s, naming the field', (_name, connectorId) => {
    expect(issuesOf({ orgId, connectorId })).toEqual([
      'connectorId: must be 1-63 letters, digits, dot, dash or underscore',
    ]);
  });

  // One tag cannot say both who serves a cluster and how it is reached: with connectorId and
  // connectionType one key, a cluster tagged Private would be routed to a connector named Private.
  it.each([
    [
      { connectorId: 'net', connectionType: 'net' },
      'tagKeys.connectionType: must differ from tagKeys.connectorId',
    ],
    [
      { connectionType: 'apono_private_endpoint_id' },
      'tagKeys.privateEndpointId: must differ from tagKeys.connectionType',
    ],
    [
      { privateEndpointId: 'apono-connector-id' },
      'tagKeys.privateEndpointId: must differ from tagKeys.connectorId',
    ],
  ])('refuses two routing tag keys that are one key (%j), naming the field', (tagKeys, issue) => {
    expect(issuesOf({ orgId, tagKeys })).toEqual([issue]);
  });

  it('takes an owner tag key equal to a routing one (it only labels the record)', () => {
    expect(issuesOf({ orgId, tagKeys: { owner: 'apono-connector-id' } })).toEqual([]);
  });
});
