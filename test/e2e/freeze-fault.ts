import type { HookMatch } from '../../src/sandbox/atlas/test-hooks.js';
import type { DaemonProcess } from './daemon-process.js';
import type { Sandbox } from './sandbox-harness.js';

/**
 * The freeze fault of the soaks: one of two daemon replicas stopped (SIGSTOP: a GC pause, a VM
 * freeze, CPU throttling) for longer than its lease TTL and its session's grace, so the control
 * plane expires its leases and the other replica redoes its jobs, then resumed (SIGCONT). What
 * must stop the resumed replica's late writes is its own lease deadline (docs/protocol.md §6);
 * what must refuse its late results is the control plane's fence.
 */

/**
 * The session grace the soaks set while they freeze: longer than the claim long-poll (2 s), so a
 * frozen daemon's open claim ends before its session does (test/e2e/paused-daemon.e2e.test.ts).
 */
export const freezeSessionGraceMs = 3_000;

/** A freeze outlasts the lease TTL plus the session grace by at least this much. */
const freezeSlackMs = 500;

export interface FrozenAttempt {
  readonly jobId: string;
  readonly attempt: number;
}

export interface Freeze {
  readonly victim: DaemonProcess;
  /** How the victim was chosen: holding the lease of the job whose Atlas answer was held, or not. */
  readonly how: string;
  /** The attempts the victim held when it was stopped. */
  readonly attempts: readonly FrozenAttempt[];
}

/** Daemons not killed (a frozen one counts). */
export const aliveDaemons = (sb: Sandbox): DaemonProcess[] =>
  sb.daemons.filter((d) => d.child.exitCode === null && d.child.signalCode === null);

/** The daemon whose session holds `jobId`'s current lease (`sb.connector` names daemon i `e2e-<i>`). */
export function leaseHolder(sb: Sandbox, jobId: string): DaemonProcess | undefined {
  const job = sb.cp.store.job(jobId);
  if (job?.state !== 'leased') return undefined;
  const sessionId = job.history.at(-1)?.sessionId;
  const session = sb.cp.store.sessions().find((s) => s.sessionId === sessionId);
  const index = /^e2e-(\d+)$/.exec(session?.connectorId ?? '')?.[1];
  return index === undefined ? undefined : sb.daemons[Number(index)];
}

/** The attempts `daemon` holds a lease on now. */
function attemptsOf(sb: Sandbox, daemon: DaemonProcess): FrozenAttempt[] {
  return sb.cp.store
    .jobs('leased')
    .filter((job) => leaseHolder(sb, job.jobId) === daemon)
    .map((job) => ({ jobId: job.jobId, attempt: job.attempts }));
}

/**
 * Stops one of the replicas for longer than lease TTL + session grace, then resumes it. With
 * `held`, Atlas first holds the next request it matches (waiting a second at most); the replica
 * leasing a job whose resource `attributes` ties to the held request is stopped, else one leasing
 * any job (waiting a second at most for one), and the held request is answered into its stopped
 * socket; with no job leased, none is (undefined). `draw` picks among equals and the freeze's
 * length.
 */
export async function freezeOne(
  sb: Sandbox,
  options: {
    readonly draw: () => number;
    readonly leaseTtlMs: number;
    readonly held?: HookMatch;
    /** Whether the held request (`METHOD path`) acts on the resource of this leased job. */
    readonly attributes?: (heldRequest: string, resourceKey: string) => boolean;
  },
): Promise<Freeze | undefined> {
  const { draw } = options;
  const oneOf = <T>(items: readonly T[]): T | undefined => items[Math.floor(draw() * items.length)];
  const replicas = aliveDaemons(sb);
  if (replicas.length < 2) return undefined;
  let heldRequest: string | undefined;
  if (options.held !== undefined) {
    sb.sim.hooks.holdNext(options.held);
    heldRequest = await waitFor(() => sb.sim.hooks.held()[0], 1_000);
    if (heldRequest === undefined) sb.sim.hooks.reset();
  }
  const someLeased = () => {
    const jobs = sb.cp.store.jobs('leased');
    return jobs.length > 0 ? jobs : undefined;
  };
  const leased = (await waitFor(someLeased, 1_000)) ?? [];
  if (leased.length === 0) {
    sb.sim.hooks.release();
    return undefined;
  }
  const tied = leased.filter(
    (j) => heldRequest !== undefined && options.attributes?.(heldRequest, j.resourceKey ?? '') === true,
  );
  const holders = (jobs: typeof leased) => [
    ...new Set(jobs.map((j) => leaseHolder(sb, j.jobId)).filter((d) => d !== undefined)),
  ];
  const tiedHolders = holders(tied);
  const [victim, how] =
    tiedHolders.length === 1
      ? [tiedHolders[0], `holding ${heldRequest}`]
      : [
          oneOf(holders(leased)),
          heldRequest === undefined
            ? `at random${options.held === undefined ? '' : ` (no ${JSON.stringify(options.held)} held)`}`
            : `maybe holding ${heldRequest}`,
        ];
  if (!victim || !replicas.includes(victim)) {
    sb.sim.hooks.release();
    return undefined;
  }
  victim.kill('SIGSTOP');
  const attempts = attemptsOf(sb, victim);
  sb.sim.hooks.release();
  const freezeMs = options.leaseTtlMs + freezeSessionGraceMs + freezeSlackMs + Math.floor(draw() * 1_000);
  await new Promise((resolve) => setTimeout(resolve, freezeMs));
  victim.kill('SIGCONT');
  return { victim, how: `${how}, ${freezeMs} ms, ${attempts.length} leases`, attempts };
}

async function waitFor<T>(check: () => T | undefined, timeoutMs: number): Promise<T | undefined> {
  const started = Date.now();
  for (;;) {
    const value = check();
    if (value !== undefined || Date.now() - started > timeoutMs) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * Results the control plane accepted from an attempt after a later attempt of the same job was
 * leased: a resumed replica's late result taken over the replica that redid the job. Expected empty.
 */
export function lateResultsAccepted(sb: Sandbox, jobIds: readonly string[]): string[] {
  const results = sb.cp.store.results();
  return jobIds.flatMap((jobId) => {
    const history = sb.cp.store.job(jobId)?.history ?? [];
    return results
      .filter((r) => r.jobId === jobId)
      .flatMap((r) => {
        const later = history.find((h) => h.attempt > r.attempt && h.leasedAt < r.acceptedAt);
        return later
          ? [
              `${jobId}: attempt ${r.attempt} accepted ${r.acceptedAt}, after attempt ${later.attempt} leased ${later.leasedAt}`,
            ]
          : [];
      });
  });
}

/** How a daemon logs the end of an attempt: its result delivered or refused, or none sent. */
const attemptEnded = /^job finished|^control plane refused the result|^lease lost while the job waited/;

/**
 * The attempts a resumed replica held when frozen whose end it has not logged within `timeoutMs`
 * (a replica killed since is not asked): it must notice its lost leases and end them. Expected empty.
 */
export async function unendedAttempts(freezes: readonly Freeze[], timeoutMs = 15_000): Promise<string[]> {
  const waits = freezes
    .filter(({ victim }) => victim.child.signalCode === null && victim.child.exitCode === null)
    .flatMap(({ victim, attempts }) =>
      attempts.map(({ jobId, attempt }) =>
        victim
          .waitForLog(
            (l) => l.jobId === jobId && l.attempt === attempt && attemptEnded.test(String(l.msg)),
            timeoutMs,
          )
          .then(
            () => [],
            () => [`${jobId} attempt ${attempt}: no end logged by the resumed replica`],
          ),
      ),
    );
  return (await Promise.all(waits)).flat();
}
