import { performance } from 'node:perf_hooks';
import { createBareDigest } from '../atlas/bare-digest.js';
import { projectUrlPath } from '../atlas/atlas-setup.js';
import { startBareClient, type BareClientProcess } from '../worker/bare-client-process.js';
import type { ControlPlaneProbe } from '../worker/control-plane-probe.js';
import type { ReferenceControlPlane } from '../../src/sandbox/control-plane/reference-control-plane.js';

/**
 * The two measured parts of a grant's lower bound, sampled between jobs so they see the same
 * noise as the daemon: the simulator's per-call round trip (a bare GET carrying a Digest header
 * signed before timing, as in `bench/atlas`) and the bare control-plane round trip (claim answer
 * → result accepted for a ping job of the bare client from `bench/worker`, at concurrency 1).
 */
export class AtlasCallTimer {
  private headers: string[] = [];
  private readonly digest = createBareDigest();
  readonly samplesMs: number[] = [];

  constructor(private readonly url: string) {}

  static forSimulator(simUrl: string): AtlasCallTimer {
    return new AtlasCallTimer(`${simUrl}${projectUrlPath}`);
  }

  /** `count` sequential GETs, each timed from send to body read. */
  async sample(count: number): Promise<void> {
    for (let i = 0; i < count; i += 1) {
      // Signed in batches, before timing, each batch on a fresh nonce.
      if (this.headers.length === 0) this.headers = await this.digest.presignedHeaders(this.url, 200);
      const header = this.headers.shift() ?? '';
      const started = performance.now();
      await this.digest.signedGet(this.url, header);
      this.samplesMs.push(performance.now() - started);
    }
  }
}

export class BareRoundTrips {
  readonly samplesMs: number[] = [];
  private sequence = 0;

  private constructor(
    private readonly twin: ReferenceControlPlane,
    private readonly probe: ControlPlaneProbe,
    private readonly bare: BareClientProcess,
  ) {}

  /** The bare client's child process (it also times bare Atlas calls: `bench/org-portal/bare-atlas-calls.ts`). */
  get process(): BareClientProcess {
    return this.bare;
  }

  /** The bare client registers on `twin` only: the daemon's control plane never sees it. */
  static async start(
    twin: ReferenceControlPlane,
    probe: ControlPlaneProbe,
    token: string,
    pollWaitMs: number,
  ): Promise<BareRoundTrips> {
    const bare = await startBareClient({
      token,
      concurrency: 1,
      pollWaitMs,
      daemonUrl: twin.url,
      twinUrl: twin.url,
    });
    return new BareRoundTrips(twin, probe, bare);
  }

  /** Claim→intent→result times of pings that record an intent first (`sample(n, {intent: true})`). */
  readonly intentSamplesMs: number[] = [];
  /** Claim→result times of the minimal org-portal grant (`sample(n, {grant: true})`, `bare-grant.ts`). */
  readonly grantSamplesMs: number[] = [];

  /**
   * `count` ping jobs through the bare client; their server-side claim→result times are kept. With
   * `intent`, each ping also PUTs a job intent before its result (one more fenced round trip); with
   * `grant`, each runs the minimal org-portal grant the bare client was set up with.
   */
  async sample(count: number, options: { intent?: boolean; grant?: boolean } = {}): Promise<void> {
    const intent = options.intent === true;
    const grant = options.grant === true;
    const ids = Array.from({ length: count }, () =>
      this.twin.store.enqueueJob({
        type: 'ping',
        payload: {
          echo: `bare-${(this.sequence += 1)}`,
          ...(intent ? { intent } : {}),
          ...(grant ? { grant } : {}),
        },
      }),
    );
    await this.bare.send({ cmd: 'work', jobs: count });
    await this.probe.allAccepted(ids, 10_000);
    (grant ? this.grantSamplesMs : intent ? this.intentSamplesMs : this.samplesMs).push(
      ...this.probe.times(ids).map((t) => t.acceptedAt - t.leasedAt),
    );
  }

  close(): Promise<void> {
    return this.bare.close();
  }
}
