import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { z } from 'zod';
import { JobEnvelope, type ResultRequest } from '../../src/control-plane/protocol.js';
import { createBareHttp, type BareHttp } from '../bare-http.js';
import { BareCommand, BareConfig, type BareReply } from './bare-client-process.js';
import { BareGrant } from './bare-grant.js';
import { claim, deregister, putIntent, putResult, register, type BareSession } from './bare-protocol.js';

/**
 * Child-process entry (`node dist/bench/worker/bare-client.js '<config json>'`): the smallest
 * client that runs ping jobs the way the connector does — one claim loop asking for as many jobs
 * as it has free slots, one result PUT per job (after an intent PUT when the ping asks), no other
 * work — and replays accepted results to time bare round trips. Its HTTP is raw node:http with a
 * keep-alive agent (`bench/bare-http.ts`), the cheapest client, on the same Node modules as the
 * daemon. It runs in its own process, like the daemon, so both share the two cores with the
 * control plane in the same way. Commands arrive one per stdin line (`BareCommand`).
 */

/**
 * `intent: true`: record an intent before the result, as an org-portal grant does before its write.
 * `grant: true`: run the minimal org-portal grant set up by `grantSetup` (`bare-grant.ts`).
 */
const PingPayload = z.object({
  echo: z.string(),
  intent: z.boolean().optional(),
  grant: z.boolean().optional(),
});

/** The process's minimal grant, once `grantSetup` has run. */
interface Grants {
  bare?: BareGrant;
}

interface Completed {
  readonly jobId: string;
  readonly attempt: number;
  readonly body: ResultRequest;
  readonly rttMs: number;
}

async function complete(session: BareSession, job: JobEnvelope, grants: Grants): Promise<Completed> {
  const startedAt = new Date().toISOString();
  const { echo, intent, grant } = PingPayload.parse(JSON.parse(job.payload));
  if (grant && !grants.bare) throw new Error('a grant ping before grantSetup');
  if (intent && !grant) await putIntent(session, job, { echo });
  const body: ResultRequest =
    grant && grants.bare
      ? await grants.bare.run(session, job, startedAt)
      : {
          leaseId: job.leaseId,
          fencingToken: job.fencingToken,
          outcome: 'succeeded',
          result: { echo },
          startedAt,
          finishedAt: new Date().toISOString(),
        };
  const sent = performance.now();
  await putResult(session, job.jobId, job.attempt, body);
  return { jobId: job.jobId, attempt: job.attempt, body, rttMs: performance.now() - sent };
}

/** Claims (long-poll) until `jobs` jobs are done, with at most `concurrency` in flight. */
async function work(
  session: BareSession,
  jobs: number,
  config: BareConfig,
  grants: Grants,
): Promise<Completed[]> {
  const done: Completed[] = [];
  const running = new Set<Promise<void>>();
  let claimed = 0;
  let slotFreed: (() => void) | undefined;
  while (claimed < jobs) {
    if (running.size >= config.concurrency) {
      await new Promise<void>((resolve) => (slotFreed = resolve));
      continue;
    }
    const free = Math.min(config.concurrency - running.size, jobs - claimed);
    const leased = await claim(session, free, config.pollWaitMs, randomUUID());
    claimed += leased.length;
    for (const job of leased) {
      const task: Promise<void> = complete(session, job, grants)
        .then((completed) => void done.push(completed))
        .finally(() => {
          running.delete(task);
          slotFreed?.();
          slotFreed = undefined;
        });
      running.add(task);
    }
  }
  await Promise.all(running);
  return done;
}

/** Replays `count` of `seeded` (cycling), one at a time: the unloaded round trip of a result PUT. */
async function replay(session: BareSession, seeded: readonly Completed[], count: number): Promise<number[]> {
  if (seeded.length === 0) throw new Error('replay: nothing seeded');
  const rtts: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const result = seeded[i % seeded.length];
    if (!result) continue;
    const sent = performance.now();
    await putResult(session, result.jobId, result.attempt, result.body);
    rtts.push(performance.now() - sent);
  }
  return rtts;
}

/**
 * Sequential pre-signed Atlas requests (as `bench/atlas/bare-digest.ts` sends them, on raw
 * node:http with a keep-alive agent), each timed from send to body read.
 */
async function atlasCalls(
  http: BareHttp,
  command: Extract<BareCommand, { cmd: 'atlas' }>,
): Promise<number[]> {
  const { method, url, body } = command;
  const rtts: number[] = [];
  for (const authorization of command.authorizations) {
    const sent = performance.now();
    const response = await http(url, { method, headers: { ...command.headers, authorization }, body });
    rtts.push(performance.now() - sent);
    if (!response.ok) throw new Error(`${method} ${url}: HTTP ${response.status}`);
  }
  return rtts;
}

/** A claimed job's envelope, as the daemon validates it before anything else on every job. */
const referenceEnvelope = {
  jobId: 'job-cold-path',
  type: 'grant',
  attempt: 1,
  leaseId: 'lease-cold-path',
  fencingToken: 7,
  leaseTtlMs: 30_000,
  notAfter: '2030-01-01T00:00:00.000Z',
  resourceKey: 'org-portal/member0@example.com',
  integration: {
    id: 'portal',
    kind: 'atlas-org-portal',
    config: { orgId: 'a'.repeat(24) },
    secretRef: 'sandbox',
  },
  payload: '{}',
};

/** `JobEnvelope` validation, timed back to back and after pauses (see the `coldPath` command). */
async function coldPath(
  command: Extract<BareCommand, { cmd: 'coldPath' }>,
): Promise<{ rttMs: number[]; afterPauseMs: number[] }> {
  const once = (): number => {
    const started = performance.now();
    const parsed = JobEnvelope.safeParse(referenceEnvelope);
    const elapsed = performance.now() - started;
    if (!parsed.success) throw new Error(`the reference envelope is invalid: ${parsed.error.message}`);
    return elapsed;
  };
  // Warm enough for V8 to optimise the parse, so only the pause differs between the two series.
  for (let i = 0; i < 500; i += 1) once();
  const rttMs = Array.from({ length: command.samples }, once);
  const afterPauseMs: number[] = [];
  for (let i = 0; i < command.samples; i += 1) {
    await new Promise((resolve) => setTimeout(resolve, command.pauseMs));
    afterPauseMs.push(once());
  }
  return { rttMs, afterPauseMs };
}

async function main(): Promise<void> {
  const config = BareConfig.parse(JSON.parse(process.argv[2] ?? '{}'));
  // One keep-alive agent for the process: both control planes and the Atlas calls.
  const http = createBareHttp();
  const onDaemonPlane = await register(
    http,
    config.daemonUrl,
    config.token,
    'bench-bare',
    config.concurrency,
  );
  const onTwin = await register(http, config.twinUrl, config.token, 'bench-bare', config.concurrency);
  const seeded: Completed[] = [];
  const grants: Grants = {};
  const reply = (answer: BareReply): boolean => process.stdout.write(`${JSON.stringify(answer)}\n`);
  reply({ rttMs: [] });
  for await (const line of createInterface({ input: process.stdin })) {
    const command = BareCommand.parse(JSON.parse(line));
    if (command.cmd === 'exit') break;
    if (command.cmd === 'atlas') {
      reply({ rttMs: await atlasCalls(http, command) });
      continue;
    }
    if (command.cmd === 'grantSetup') {
      grants.bare = await BareGrant.start(http, command.setup);
      reply({ rttMs: [] });
      continue;
    }
    if (command.cmd === 'coldPath') {
      reply(await coldPath(command));
      continue;
    }
    if (command.cmd === 'replay') {
      reply({ rttMs: await replay(onDaemonPlane, seeded, command.count) });
      continue;
    }
    const done = await work(command.cmd === 'seed' ? onDaemonPlane : onTwin, command.jobs, config, grants);
    if (command.cmd === 'seed') seeded.push(...done);
    reply({ rttMs: done.map((d) => d.rttMs) });
  }
  await Promise.all([deregister(onDaemonPlane), deregister(onTwin)]);
  process.stdin.destroy();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bare client failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  // Exits at once: left running (stdin keeps the process alive), it would never answer the
  // command that failed, and the bench would wait for that answer forever.
  process.exit(1);
});
