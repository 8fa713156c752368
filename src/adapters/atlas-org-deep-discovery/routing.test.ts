import { describe, expect, it } from 'vitest';
import type { ConnectionStrings, KeyValue } from '../../atlas/index.js';
import { createSecretScrubber } from '../../runtime/secret-scrubber.js';
import { describeError } from '../../worker/job-context.js';
import { DeepDiscoveryConfig } from './atlas-org-deep-discovery-config.js';
import { routeCluster, type RoutableCluster } from './routing.js';

const keys = DeepDiscoveryConfig.parse({ orgId: '660100000000000000000001' }).tagKeys;
const own = 'vpc-a';
const routing = { self: own, integrationConnectorId: own };
const scrubber = createSecretScrubber();
const job = { describe: (error: unknown) => describeError(error, scrubber) };

const allStrings: ConnectionStrings = {
  standard: 'mongodb://c0-00.x.mongodb.net:27017/?replicaSet=rs0',
  standardSrv: 'mongodb+srv://c0.x.mongodb.net',
  private: 'mongodb://c0-00-pri.x.mongodb.net:27017/?replicaSet=rs0',
  privateSrv: 'mongodb+srv://c0-pri.x.mongodb.net',
  privateEndpoint: [
    {
      srvConnectionString: 'mongodb+srv://c0-pl-0.x.mongodb.net',
      type: 'MONGOD',
      endpoints: [{ endpointId: 'vpce-1', providerName: 'AWS', region: 'US_EAST_1' }],
    },
  ],
};

function cluster(tags: KeyValue[], connectionStrings: ConnectionStrings = allStrings): RoutableCluster {
  return { name: 'C0', tags, connectionStrings };
}
const tag = (key: string, value: string): KeyValue => ({ key, value });

describe('the tag routing table', () => {
  it.each([
    [
      'no tags → standard, served by this connector',
      [],
      { kind: 'served', connectorId: own, connectionType: 'standard' },
    ],
    [
      'own connector id → standard',
      [tag('apono-connector-id', own)],
      { kind: 'served', connectorId: own, connectionType: 'standard' },
    ],
    [
      'Private → private (VPC peering)',
      [tag('apono-connection-type', 'Private')],
      { kind: 'served', connectorId: own, connectionType: 'private' },
    ],
    [
      'PrivateEndpoint with a matching endpoint id → that endpoint',
      [tag('apono-connection-type', 'PrivateEndpoint'), tag('apono_private_endpoint_id', 'vpce-1')],
      { kind: 'served', connectorId: own, connectionType: 'privateEndpoint', privateEndpointId: 'vpce-1' },
    ],
    [
      "another connector's cluster → elsewhere, whatever its connection type",
      [tag('apono-connector-id', 'vpc-b'), tag('apono-connection-type', 'Bogus')],
      { kind: 'elsewhere', connectorId: 'vpc-b' },
    ],
  ])('%s', (_name, tags, expected) => {
    expect(routeCluster(cluster(tags), keys, routing, job)).toEqual(expected);
  });

  it.each([
    [
      'PrivateEndpoint without the endpoint-id tag',
      [tag('apono-connection-type', 'PrivateEndpoint')],
      allStrings,
      'tag apono-connection-type=PrivateEndpoint needs tag apono_private_endpoint_id',
    ],
    [
      'PrivateEndpoint whose endpoint id the cluster does not list',
      [tag('apono-connection-type', 'PrivateEndpoint'), tag('apono_private_endpoint_id', 'vpce-9')],
      allStrings,
      'cluster C0 has no connection string for private endpoint vpce-9',
    ],
    [
      'Private on a cluster without peering strings',
      [tag('apono-connection-type', 'Private')],
      { standardSrv: 'mongodb+srv://c0.x.mongodb.net' },
      'cluster C0 has no private connection string (is network peering set up?)',
    ],
    [
      'an unknown connection type value (tag values are case-sensitive)',
      [tag('apono-connection-type', 'private')],
      allStrings,
      'tag apono-connection-type="private" is not a connection type (expected Private or PrivateEndpoint, or no tag for standard)',
    ],
    ['a cluster with no connection string yet', [], {}, 'cluster C0 has no connection string yet'],
  ])('%s → unroutable with a per-cluster reason', (_name, tags, strings, reason) => {
    expect(routeCluster(cluster(tags, strings), keys, routing, job)).toEqual({
      kind: 'unroutable',
      connectorId: own,
      reason,
    });
  });

  // No connector can have such an id: routed "elsewhere" to it, the cluster would be served by none
  // and its jobs addressed to nobody. The integration's own connector reports it, with the reason.
  it.each([
    ['a trailing space', 'vpc-a '],
    ['a leading space', ' vpc-b'],
    ['a character no CONNECTOR_ID may hold', 'vpc/b'],
    ['more characters than a CONNECTOR_ID may have', `v${'b'.repeat(63)}`],
  ])(
    "a connector-id tag with %s is unroutable by the integration's connector and elsewhere for the others",
    (_name, value) => {
      const tagged = cluster([tag('apono-connector-id', value)]);
      expect(routeCluster(tagged, keys, routing, job)).toEqual({
        kind: 'unroutable',
        connectorId: own,
        reason: `tag apono-connector-id="${value}" is not a connector id (1-63 letters, digits, dot, dash or underscore)`,
      });
      const other = { self: 'vpc-b', integrationConnectorId: own };
      expect(routeCluster(tagged, keys, other, job)).toEqual({ kind: 'elsewhere', connectorId: own });
    },
  );

  it('matches tag keys exactly: a hyphenated endpoint-id key is not the underscored one', () => {
    const route = routeCluster(
      cluster([tag('apono-connection-type', 'PrivateEndpoint'), tag('apono-private-endpoint-id', 'vpce-1')]),
      keys,
      routing,
      job,
    );
    expect(route.kind).toBe('unroutable');
  });

  it("leaves an untagged cluster to the integration's own connector when this is another one", () => {
    const route = routeCluster(cluster([]), keys, { self: 'vpc-b', integrationConnectorId: own }, job);
    expect(route).toEqual({ kind: 'elsewhere', connectorId: own });
  });

  it('uses configured tag key names instead of the defaults', () => {
    const custom = DeepDiscoveryConfig.parse({
      orgId: '660100000000000000000001',
      tagKeys: { connectorId: 'jit/connector', connectionType: 'jit/network' },
    }).tagKeys;
    const route = routeCluster(
      cluster([tag('jit/connector', own), tag('jit/network', 'Private'), tag('apono-connector-id', 'vpc-b')]),
      custom,
      routing,
      job,
    );
    expect(route).toEqual({ kind: 'served', connectorId: own, connectionType: 'private' });
  });
});
