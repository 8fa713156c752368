import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * The bare client (`bare-client.ts`) runs in a child process and is driven by one JSON command
 * per stdin line; it answers each with one JSON line on stdout.
 */
export const BareConfig = z.object({
  token: z.string(),
  concurrency: z.number().int().positive(),
  pollWaitMs: z.number().int().nonnegative(),
  /** The daemon's control plane: results are seeded and replayed there. */
  daemonUrl: z.string(),
  /** A twin control plane where the bare client runs its own share of jobs. */
  twinUrl: z.string(),
});
export type BareConfig = z.infer<typeof BareConfig>;

/** One HTTP request as the bare client sends it. */
export const BareRequest = z.object({
  method: z.enum(['GET', 'POST']),
  url: z.string(),
  headers: z.record(z.string(), z.string()),
  body: z.string().optional(),
});

export type BareRequest = z.infer<typeof BareRequest>;

/** The minimal org-portal grant's calls (`bare-grant.ts`): the adapter's read and write. */
export const BareGrantSetup = z.object({
  read: BareRequest,
  write: BareRequest,
  /** The person the calls are made on (their username goes into the result). */
  username: z.string(),
  /** A bodiless GET the simulator answers with a Digest challenge. */
  challengeUrl: z.string(),
});
export type BareGrantSetup = z.infer<typeof BareGrantSetup>;

export const BareCommand = z.discriminatedUnion('cmd', [
  /** Claims and completes `jobs` jobs on the daemon's control plane, keeping them for replays. */
  z.object({ cmd: z.literal('seed'), jobs: z.number().int().positive() }),
  /** Claims and completes `jobs` jobs on the twin control plane. */
  z.object({ cmd: z.literal('work'), jobs: z.number().int().positive() }),
  /** Replays `count` seeded results, one at a time. */
  z.object({ cmd: z.literal('replay'), count: z.number().int().positive() }),
  /**
   * One `method url` (with `body`) per header in `authorizations` (each a Digest answer signed beforehand),
   * sequentially, each timed from send to body read: a bare Atlas call made from a process of its
   * own, as the daemon makes its calls, rather than from the process that hosts the simulator.
   */
  BareRequest.extend({ cmd: z.literal('atlas'), authorizations: z.array(z.string()).min(1) }),
  /**
   * The host's cold-path penalty: the same small piece of the daemon's per-job work (validating a
   * job envelope) timed `samples` times back to back, then `samples` times each after a pause of
   * `pauseMs`, as the daemon's code runs after every simulated Atlas wait.
   */
  z.object({
    cmd: z.literal('coldPath'),
    pauseMs: z.number().int().positive(),
    samples: z.number().int().positive(),
  }),
  /** Sets up the minimal grant that ping jobs with `grant: true` run (`bare-grant.ts`). */
  z.object({ cmd: z.literal('grantSetup'), setup: BareGrantSetup }),
  z.object({ cmd: z.literal('exit') }),
]);
export type BareCommand = z.infer<typeof BareCommand>;

/**
 * Client-side round trips (ms) of the result PUTs (or, for `atlas`, the GETs) the command sent;
 * for `coldPath`, the back-to-back times in `rttMs` and the after-a-pause times in `afterPauseMs`.
 */
export const BareReply = z.object({
  rttMs: z.array(z.number()),
  afterPauseMs: z.array(z.number()).optional(),
});
export type BareReply = z.infer<typeof BareReply>;

const entry = fileURLToPath(new URL('./bare-client.js', import.meta.url));

export interface BareClientProcess {
  readonly pid: number;
  send(command: BareCommand): Promise<BareReply>;
  /** Sends `exit` and waits for the process to end. */
  close(): Promise<void>;
}

export async function startBareClient(config: BareConfig): Promise<BareClientProcess> {
  const child = spawn(process.execPath, [entry, JSON.stringify(config)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString('utf8')).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const failed = (what: string): Error => new Error(`bare client ${what}: ${stderr}`);
  if (child.pid === undefined) throw failed('has no pid');
  const bare: BareClientProcess = {
    pid: child.pid,
    send: async (command) => {
      child.stdin.write(`${JSON.stringify(command)}\n`);
      const line = await lines.next();
      if (line.done) throw failed(`exited during ${command.cmd}`);
      return BareReply.parse(JSON.parse(line.value));
    },
    close: async () => {
      if (child.exitCode === null) child.stdin.write(`${JSON.stringify({ cmd: 'exit' })}\n`);
      await closeWithin(child, exited, 5_000);
    },
  };
  // The child prints an empty reply once both sessions are registered.
  const ready = await lines.next();
  if (ready.done) throw failed('exited before it was ready');
  return bare;
}

async function closeWithin(
  child: ChildProcessWithoutNullStreams,
  exited: Promise<void>,
  graceMs: number,
): Promise<void> {
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
