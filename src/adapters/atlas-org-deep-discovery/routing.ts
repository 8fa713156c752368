import type { ConnectionStrings, KeyValue } from '../../atlas/index.js';
import { connectorIdSchema } from '../../config/connector-id.js';
import { isConnectorError } from '../../errors/connector-error.js';
import type { JobContext } from '../../worker/job-context.js';
import { connectionStringFor } from '../database-access/model/connection-string.js';
import type { ConnectionChoice } from '../scope.js';
import type { TagKeys } from './atlas-org-deep-discovery-config.js';

/**
 * The tag routing table (ARCHITECTURE §3). A cluster's tags decide which connector serves it and
 * how that connector reaches it:
 *
 * | `connectorId` tag      | `connectionType` tag | result                                              |
 * |------------------------|----------------------|-----------------------------------------------------|
 * | absent → the integration's connector (config `connectorId`); the row applies when that is this one
 * | absent or own id       | absent               | served here, `standard` (standardSrv ‖ standard)     |
 * | absent or own id       | `Private`            | served here, `private` (privateSrv ‖ private)        |
 * | absent or own id       | `PrivateEndpoint`    | served here, the `privateEndpoint[]` entry whose     |
 * |                        |                      | endpoint id equals the `privateEndpointId` tag       |
 * | another id             | any                  | served elsewhere: listed, nothing read from it       |
 * | absent or own id       | anything else, or a  | unroutable: listed with a per-cluster reason          |
 * |                        | string that is missing|                                                     |
 * | not a CONNECTOR_ID     | any                  | as absent, then unroutable (no connector has that id)|
 *
 * The connection string is chosen by the same function grants use (database-access
 * `connectionStringFor`), so discovery never reports a route a grant would then refuse.
 */
export type ConnectionType = ConnectionChoice['connectionType'];

/** The served route's connection as a scope's connection choice. */
export function choiceOf(route: {
  connectionType: ConnectionType;
  privateEndpointId?: string;
}): ConnectionChoice {
  return route.connectionType === 'privateEndpoint'
    ? { connectionType: 'privateEndpoint', privateEndpointId: route.privateEndpointId ?? '' }
    : { connectionType: route.connectionType };
}

export type Route =
  | {
      readonly kind: 'served';
      readonly connectorId: string;
      readonly connectionType: ConnectionType;
      readonly privateEndpointId?: string;
    }
  | { readonly kind: 'elsewhere'; readonly connectorId: string }
  | { readonly kind: 'unroutable'; readonly connectorId: string; readonly reason: string };

export interface RoutableCluster {
  readonly name: string;
  readonly tags: readonly KeyValue[];
  readonly connectionStrings?: ConnectionStrings | undefined;
}

/** Tag values, read exactly: Atlas tag keys are case-sensitive, and so is this table. */
const connectionTypeTags: Readonly<Record<string, ConnectionType>> = {
  Private: 'private',
  PrivateEndpoint: 'privateEndpoint',
};

export function tagValue(tags: readonly KeyValue[], key: string): string | undefined {
  return tags.find((tag) => tag.key === key)?.value;
}

function connectionOf(
  cluster: RoutableCluster,
  keys: TagKeys,
): { type: ConnectionType; privateEndpointId?: string } | { reason: string } {
  const tag = tagValue(cluster.tags, keys.connectionType);
  if (tag === undefined) return { type: 'standard' };
  const type = Object.hasOwn(connectionTypeTags, tag) ? connectionTypeTags[tag] : undefined;
  if (type === undefined) {
    return {
      reason: `tag ${keys.connectionType}="${tag}" is not a connection type (expected Private or PrivateEndpoint, or no tag for standard)`,
    };
  }
  if (type !== 'privateEndpoint') return { type };
  const privateEndpointId = tagValue(cluster.tags, keys.privateEndpointId);
  if (privateEndpointId === undefined) {
    return { reason: `tag ${keys.connectionType}=PrivateEndpoint needs tag ${keys.privateEndpointId}` };
  }
  return { type, privateEndpointId };
}

/**
 * Who routes: `self` is the connector running the job; `integrationConnectorId` is the
 * integration's own connector, which serves untagged clusters (the config's `connectorId`,
 * defaulting to `self`). Several connectors discovering one organization must share it.
 */
export interface Routing {
  readonly self: string;
  readonly integrationConnectorId: string;
}

/**
 * Routes one cluster for the connector `routing.self`; never throws. `describe` is the job's
 * (`JobContext.describe`): an unroutable reason goes into the snapshot, so its error text is scrubbed.
 */
export function routeCluster(
  cluster: RoutableCluster,
  keys: TagKeys,
  routing: Routing,
  { describe }: Pick<JobContext, 'describe'>,
): Route {
  const tagged = tagValue(cluster.tags, keys.connectorId);
  // A value no connector can have ('vpc-a ' with a space) would route the cluster to nobody: the
  // integration's own connector reports it unroutable, and jobs on it reach that connector.
  const named = tagged === undefined || connectorIdSchema.safeParse(tagged).success;
  const connectorId = named && tagged !== undefined ? tagged : routing.integrationConnectorId;
  if (connectorId !== routing.self) return { kind: 'elsewhere', connectorId };
  if (!named) {
    const reason = `tag ${keys.connectorId}="${tagged}" is not a connector id (1-63 letters, digits, dot, dash or underscore)`;
    return { kind: 'unroutable', connectorId, reason };
  }
  const connection = connectionOf(cluster, keys);
  if ('reason' in connection) return { kind: 'unroutable', connectorId, reason: connection.reason };
  try {
    connectionStringFor(
      cluster,
      choiceOf({ connectionType: connection.type, privateEndpointId: connection.privateEndpointId }),
      'cluster',
    );
  } catch (error) {
    if (!isConnectorError(error)) throw error;
    return { kind: 'unroutable', connectorId, reason: describe(error).replace(/^cluster: /, '') };
  }
  return {
    kind: 'served',
    connectorId,
    connectionType: connection.type,
    ...(connection.privateEndpointId === undefined
      ? {}
      : { privateEndpointId: connection.privateEndpointId }),
  };
}
