import diagnostics from 'node:diagnostics_channel';
import { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { countCalls, type CallCounts } from './atlas-calls.js';
import {
  enqueueGrants,
  refillPause,
  settleJobs,
  startLoadSandbox,
  terminalStates,
  type LoadSettings,
} from './rate-limited-load.js';
import type { Sandbox } from './sandbox.js';

/**
 * Item 3: many per-grant grants spread over 10 projects, all enqueued at once, against the
 * simulator's per-project token buckets, with the daemon's own pacing set to the buckets' rate.
 */
export interface RateLimitedSettings extends LoadSettings {
  readonly grants: number;
  /** Whatever is not done by then counts as unfinished; keeps the run inside its budget. */
  readonly deadlineMs: number;
}

export interface RateLimitedResult {
  readonly settings: RateLimitedSettings;
  readonly projects: number;
  readonly succeeded: number;
  /** Ended in `failed` or `dead`. */
  readonly failed: number;
  /** Still queued or leased at the deadline. */
  readonly unfinished: number;
  /** Jobs that needed more than one attempt. */
  readonly retried: number;
  /** From the enqueue of the first grant to the acceptance of the last successful result. */
  readonly windowSeconds: number;
  readonly calls: CallCounts;
  /** Claim→result of the grants that succeeded at the first attempt. */
  readonly latencyMs: readonly number[];
  readonly firstError: string;
}

/**
 * Time of the last accepted (200) result PUT of every job on one control plane; `onAccepted` is
 * told right after the answer is sent, when the job's result is already in the store.
 */
export class AcceptanceLog {
  readonly lastAccepted = new Map<string, number>();
  private readonly listener = (message: unknown): void => this.observe(message);

  constructor(
    private readonly port: number,
    private readonly onAccepted: (jobId: string, at: number) => void = () => {},
  ) {
    diagnostics.subscribe('http.server.request.start', this.listener);
  }

  close(): void {
    diagnostics.unsubscribe('http.server.request.start', this.listener);
  }

  private observe(message: unknown): void {
    if (typeof message !== 'object' || message === null) return;
    const { request, response } = message as { request?: unknown; response?: unknown };
    if (!(request instanceof IncomingMessage) || !(response instanceof ServerResponse)) return;
    if (request.socket.localPort !== this.port || request.method !== 'PUT') return;
    const jobId = /\/jobs\/([^/]+)\/attempts\/\d+\/result$/.exec(
      (request.url ?? '').split('?')[0] ?? '',
    )?.[1];
    if (jobId === undefined) return;
    const log = this.lastAccepted;
    const onAccepted = this.onAccepted;
    const end = response.end;
    response.end = function (this: ServerResponse, ...args: unknown[]) {
      const accepted = response.statusCode === 200;
      const at = performance.now();
      if (accepted) log.set(decodeURIComponent(jobId), at);
      const sent = Reflect.apply(end, this, args) as ServerResponse;
      if (accepted) onAccepted(decodeURIComponent(jobId), at);
      return sent;
    } as typeof end;
  }
}

function summarize(
  sb: Sandbox,
  ids: readonly string[],
  log: AcceptanceLog,
  started: number,
): Omit<RateLimitedResult, 'settings' | 'projects' | 'calls' | 'latencyMs'> {
  let succeeded = 0;
  let failed = 0;
  let retried = 0;
  let lastSuccess = started;
  let firstError = '';
  for (const id of ids) {
    const view = sb.cp.store.job(id);
    if (view && view.attempts > 1) retried += 1;
    if (view?.state === 'succeeded') {
      succeeded += 1;
      lastSuccess = Math.max(lastSuccess, log.lastAccepted.get(id) ?? started);
    } else if (view && terminalStates.has(view.state)) {
      failed += 1;
      firstError ||= `${view.error?.code ?? view.state}: ${view.error?.message ?? ''}`.slice(0, 300);
    }
  }
  return {
    succeeded,
    failed,
    unfinished: ids.length - succeeded - failed,
    retried,
    windowSeconds: (lastSuccess - started) / 1000,
    firstError,
  };
}

export async function runRateLimited(settings: RateLimitedSettings): Promise<RateLimitedResult> {
  const load = await startLoadSandbox(settings, 'bench-database-access-rate');
  const { sb, projects } = load;
  const log = new AcceptanceLog(Number(new URL(sb.cp.url).port));
  const runBatch = async (prefix: string, count: number, deadlineMs: number) => {
    const ids = enqueueGrants(load, prefix, count);
    await settleJobs(sb, ids, deadlineMs);
    return ids;
  };
  try {
    // One grant per project first (JIT, connections, each project's learned propagation time),
    // then a pause so every bucket is full again when timing starts.
    const warm = await runBatch('warm', projects.length, 30_000);
    const warmed = summarize(sb, warm, log, 0);
    if (warmed.succeeded !== warm.length) throw new Error(`warm-up grants failed: ${warmed.firstError}`);
    await refillPause(settings.bucket);
    const before = sb.sim.stats.snapshot();
    const started = performance.now();
    const ids = await runBatch('load', settings.grants, settings.deadlineMs);
    const calls = countCalls(before, sb.sim.stats.snapshot());
    const once = ids.filter((id) => {
      const view = sb.cp.store.job(id);
      return view?.state === 'succeeded' && view.attempts === 1;
    });
    const latencyMs = sb.probe.times(once).map((t) => t.acceptedAt - t.leasedAt);
    return { settings, projects: projects.length, calls, latencyMs, ...summarize(sb, ids, log, started) };
  } finally {
    log.close();
    await sb.close();
  }
}
