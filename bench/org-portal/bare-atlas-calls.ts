import { createBareDigest } from '../atlas/bare-digest.js';
import { projectUrlPath, userAgent } from '../atlas/atlas-setup.js';
import {
  apiPrefix,
  atlasOperations,
  expandPath,
  mediaType,
  type OperationId,
  type PathParams,
} from '../../src/atlas/operations.js';
import type { BareClientProcess, BareRequest } from '../worker/bare-client-process.js';

/** One Atlas call as the adapter makes it: operation, path parameters, query and JSON body. */
export interface BareCallSpec {
  readonly operation: OperationId;
  readonly params: PathParams;
  readonly query?: string;
  readonly body?: unknown;
}

/**
 * Times one Atlas operation without the connector: the same method, path, query, media type and
 * body as the adapter's call, a Digest header signed before timing, sent by the bare client's
 * child process — a process of its own, like the daemon's, so the call crosses processes and
 * waits for its process to be scheduled exactly as the daemon's does. Used on calls that change
 * nothing (a role the person already holds, a role they do not hold), so it can repeat them.
 */
export class BareAtlasCalls {
  private headers: string[] = [];
  readonly samplesMs: number[] = [];
  private readonly request: BareRequest;
  private readonly digest = createBareDigest();

  constructor(
    private readonly simUrl: string,
    spec: BareCallSpec,
    private readonly bare: BareClientProcess,
  ) {
    this.request = bareRequest(simUrl, spec);
  }

  /** `count` sequential calls, each timed (in the bare client) from send to body read. */
  async sample(count: number): Promise<void> {
    const { method, url, headers, body } = this.request;
    // Signed in batches, before timing, each batch on a fresh nonce (asked with a harmless GET).
    if (this.headers.length < count)
      this.headers = await this.digest.presignedHeaders(
        url,
        Math.max(200, count),
        method,
        `${this.simUrl}${projectUrlPath}`,
      );
    const authorizations = this.headers.splice(0, count);
    const reply = await this.bare.send({
      cmd: 'atlas',
      method,
      url,
      headers,
      ...(body === undefined ? {} : { body }),
      authorizations,
    });
    this.samplesMs.push(...reply.rttMs);
  }
}

/** The adapter's call as the bare client sends it: method, URL, media type, user agent and body. */
export function bareRequest(simUrl: string, spec: BareCallSpec): BareRequest {
  const definition = atlasOperations[spec.operation];
  if (definition.method !== 'GET' && definition.method !== 'POST')
    throw new Error(`${spec.operation}: only GET and POST are timed`);
  const media = mediaType(definition.version);
  const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
  return {
    method: definition.method,
    url: `${simUrl}${apiPrefix}${expandPath(spec.operation, spec.params)}${spec.query ? `?${spec.query}` : ''}`,
    headers: {
      accept: media,
      'user-agent': userAgent,
      ...(body === undefined ? {} : { 'content-type': media }),
    },
    ...(body === undefined ? {} : { body }),
  };
}
