import { randomUUID } from 'node:crypto';
import {
  digestAuthorization,
  parseDigestChallenge,
  type DigestChallenge,
} from '../../src/atlas/auth/digest.js';
import type { JobEnvelope, ResultRequest } from '../../src/control-plane/protocol.js';
import { benchKey } from '../atlas/atlas-setup.js';
import type { BareHttp } from '../bare-http.js';
import type { BareGrantSetup } from './bare-client-process.js';
import { putIntent, type BareSession } from './bare-protocol.js';

/**
 * The least any client can do for an org-portal grant, as a reference next to the daemon's: the
 * adapter's read, a JSON parse of its page, the write-ahead intent, the adapter's write and a
 * result the size of the daemon's — each Atlas call signed when it is sent (Digest, as the daemon
 * signs), on raw node:http, with no validation, policy, fencing, pacing, retries, logs or metrics.
 * The bench runs it as a ping job of the bare client (`{grant: true}`), on the twin control plane.
 */
export class BareGrant {
  private nc = 0;

  private constructor(
    private readonly http: BareHttp,
    private readonly setup: BareGrantSetup,
    private readonly challenge: DigestChallenge,
  ) {}

  /** Asks the simulator for a Digest challenge (a bodiless GET of `challengeUrl`). */
  static async start(http: BareHttp, setup: BareGrantSetup): Promise<BareGrant> {
    const response = await http(setup.challengeUrl, { headers: { accept: setup.read.headers.accept ?? '' } });
    const challenge = parseDigestChallenge(response.headers['www-authenticate'] ?? null);
    if (response.status !== 401 || !challenge)
      throw new Error(`bare grant: expected a Digest challenge, got ${response.status}`);
    return new BareGrant(http, setup, challenge);
  }

  private sign(method: string, url: string): string {
    const { pathname, search } = new URL(url);
    this.nc += 1;
    return digestAuthorization({
      username: benchKey.publicKey,
      password: benchKey.privateKey,
      method,
      uri: `${pathname}${search}`,
      challenge: this.challenge,
      nc: this.nc,
      cnonce: randomUUID().replaceAll('-', ''),
    });
  }

  private async call(spec: BareGrantSetup['read']): Promise<string> {
    const response = await this.http(spec.url, {
      method: spec.method,
      headers: { ...spec.headers, authorization: this.sign(spec.method, spec.url) },
      ...(spec.body === undefined ? {} : { body: spec.body }),
    });
    if (!response.ok) throw new Error(`bare grant: ${spec.method} ${spec.url}: HTTP ${response.status}`);
    return response.text;
  }

  /** Read, intent, write; returns the result to PUT (the caller times and sends it). */
  async run(session: BareSession, job: JobEnvelope, startedAt: string): Promise<ResultRequest> {
    const page = JSON.parse(await this.call(this.setup.read)) as { results?: { id?: string }[] };
    const userId = page.results?.[0]?.id;
    if (userId === undefined) throw new Error('bare grant: the read found nobody');
    const added = [{ level: 'org', role: 'ORG_READ_ONLY' }];
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const created = { invitation: false, projectMemberships: [] };
    await putIntent(session, job, { userId, expiresAt, added, created });
    JSON.parse(await this.call(this.setup.write));
    return {
      leaseId: job.leaseId,
      fencingToken: job.fencingToken,
      outcome: 'succeeded',
      result: {
        grantId: job.jobId,
        userId,
        username: this.setup.username,
        membership: 'active',
        added,
        alreadyHeld: [],
        created,
        expiresAt,
      },
      startedAt,
      finishedAt: new Date().toISOString(),
    };
  }
}
