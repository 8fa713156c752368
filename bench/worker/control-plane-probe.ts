import diagnostics from 'node:diagnostics_channel';
import { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { z } from 'zod';

/**
 * Server-side timestamps for the reference control plane running in this process, taken from
 * Node's `http.server.request.start` diagnostics channel without touching its code. For every
 * response it records the moment the control plane calls `res.end()` (on `performance.now()`):
 * a claim answer's end is when its jobs' leases leave the server, a result's end is when the
 * server has accepted it. Bodies are kept as text and parsed only after the run.
 */
export interface JobTimes {
  readonly leasedAt: number;
  readonly acceptedAt: number;
}

const claimPath = /^\/connector\/v1\/sessions\/[^/]+\/jobs:claim$/;
const resultPath = /^\/connector\/v1\/jobs\/([^/]+)\/attempts\/\d+\/result$/;
const ClaimAnswer = z.object({ jobs: z.array(z.object({ jobId: z.string() })) });

interface Start {
  readonly request: IncomingMessage;
  readonly response: ServerResponse;
}

function isStart(message: unknown): message is Start {
  return (
    typeof message === 'object' &&
    message !== null &&
    'request' in message &&
    message.request instanceof IncomingMessage &&
    'response' in message &&
    message.response instanceof ServerResponse
  );
}

export class ControlPlaneProbe {
  private claims: { at: number; body: string }[] = [];
  private accepted = new Map<string, number>();
  private watch: ((jobId: string) => void) | undefined;
  private readonly listener = (message: unknown): void => this.observe(message);

  /** `port`: the control plane's; other servers in this process are ignored. */
  constructor(private readonly port: number) {
    diagnostics.subscribe('http.server.request.start', this.listener);
  }

  close(): void {
    diagnostics.unsubscribe('http.server.request.start', this.listener);
  }

  /** Resolves once results for all of `jobIds` were accepted. */
  allAccepted(jobIds: readonly string[], timeoutMs: number): Promise<void> {
    const pending = new Set(jobIds.filter((id) => !this.accepted.has(id)));
    if (pending.size === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.watch = undefined;
        reject(new Error(`${pending.size} of ${jobIds.length} results not accepted after ${timeoutMs} ms`));
      }, timeoutMs);
      this.watch = (jobId) => {
        if (!pending.delete(jobId) || pending.size > 0) return;
        clearTimeout(timer);
        this.watch = undefined;
        resolve();
      };
    });
  }

  /** Lease and acceptance time of each of `jobIds` (parsing the recorded claim answers now). */
  times(jobIds: readonly string[]): JobTimes[] {
    const leased = new Map<string, number>();
    for (const claim of this.claims) {
      for (const job of ClaimAnswer.parse(JSON.parse(claim.body)).jobs) {
        if (!leased.has(job.jobId)) leased.set(job.jobId, claim.at);
      }
    }
    return jobIds.map((id) => {
      const leasedAt = leased.get(id);
      const acceptedAt = this.accepted.get(id);
      if (leasedAt === undefined || acceptedAt === undefined) throw new Error(`no timings for job ${id}`);
      return { leasedAt, acceptedAt };
    });
  }

  private observe(message: unknown): void {
    if (!isStart(message) || message.request.socket.localPort !== this.port) return;
    const { request, response } = message;
    const path = (request.url ?? '').split('?')[0] ?? '';
    if (request.method === 'POST' && claimPath.test(path))
      this.onEnd(response, (at, body) => this.claimEnded(response, at, body));
    const jobId = request.method === 'PUT' ? resultPath.exec(path)?.[1] : undefined;
    if (jobId !== undefined)
      this.onEnd(response, (at) => this.resultEnded(response, decodeURIComponent(jobId), at));
  }

  private claimEnded(response: ServerResponse, at: number, body: unknown): void {
    // Only a 200 hands out jobs; 204 (nothing ready) and errors carry none.
    if (response.statusCode === 200 && typeof body === 'string') this.claims.push({ at, body });
  }

  private resultEnded(response: ServerResponse, jobId: string, at: number): void {
    // Replays answer 200 too; the first acceptance is the one that counts.
    if (response.statusCode !== 200 || this.accepted.has(jobId)) return;
    this.accepted.set(jobId, at);
    this.watch?.(jobId);
  }

  /** Wraps `res.end` so the timestamp is taken when the control plane hands the answer over. */
  private onEnd(response: ServerResponse, record: (at: number, body: unknown) => void): void {
    const end = response.end;
    response.end = function (this: ServerResponse, ...args: unknown[]) {
      record(performance.now(), args[0]);
      return Reflect.apply(end, this, args) as ServerResponse;
    } as typeof end;
  }
}
