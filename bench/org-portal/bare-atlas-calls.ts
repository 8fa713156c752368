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
import type { BareClientProcess } from '../worker/bare-client-process.js';

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
  private readonly url: string;
  private readonly method: 'GET' | 'POST';
  private readonly body: string | undefined;

  constructor(
    private readonly simUrl: string,
    spec: BareCallSpec,
    private readonly bare: BareClientProcess,
  ) {
    const definition = atlasOperations[spec.operation];
    if (definition.method !== 'GET' && definition.method !== 'POST')
      throw new Error(`${spec.operation}: only GET and POST are timed`);
    this.method = definition.method;
    this.url = `${simUrl}${apiPrefix}${expandPath(spec.operation, spec.params)}${spec.query ? `?${spec.query}` : ''}`;
    this.body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    this.media = mediaType(definition.version);
  }

  private readonly media: string;
  private readonly digest = createBareDigest();

  /** `count` sequential calls, each timed (in the bare client) from send to body read. */
  async sample(count: number): Promise<void> {
    // Signed in batches, before timing, each batch on a fresh nonce (asked with a harmless GET).
    if (this.headers.length < count)
      this.headers = await this.digest.presignedHeaders(
        this.url,
        Math.max(200, count),
        this.method,
        `${this.simUrl}${projectUrlPath}`,
      );
    const authorizations = this.headers.splice(0, count);
    const reply = await this.bare.send({
      cmd: 'atlas',
      method: this.method,
      url: this.url,
      headers: {
        accept: this.media,
        'user-agent': userAgent,
        ...(this.body === undefined ? {} : { 'content-type': this.media }),
      },
      ...(this.body === undefined ? {} : { body: this.body }),
      authorizations,
    });
    this.samplesMs.push(...reply.rttMs);
  }
}
