#!/usr/bin/env node
// Only what the usage, argument checks and signal latch need: the daemon's modules (about a second
// to load) are imported once the latch listens (`run`), schema and doctor as they run.
import type { RunMode } from './cli/run-daemon.js';
import { signalLatch } from './cli/signal-latch.js';
import { version } from './version.js';

const usage = `atlas-jit-connector ${version}

Usage:
  atlas-jit-connector           Run the connector; the embedded sandbox when CONTROL_PLANE_URL is
                                unset (what \`npm start\` does)
  atlas-jit-connector run       Run against CONTROL_PLANE_URL; refuses to start without it (the
                                container image's default command)
  atlas-jit-connector sandbox   Run the embedded sandbox on purpose (control plane + Atlas simulator)
  atlas-jit-connector schema    Print each integration kind's config as JSON Schema
  atlas-jit-connector doctor    Check configuration, secret access, Atlas auth and the key's roles
                                (doctor --help for its options; run it first on every install)
  atlas-jit-connector --help    Show this help
  atlas-jit-connector --version Print the version

Configuration comes from environment variables: see .env.example and the README.`;

const runModes: Readonly<Record<string, RunMode>> = { run: 'remote', sandbox: 'sandbox' };

async function main(argv: readonly string[]): Promise<number> {
  const [command] = argv;
  if (command === undefined) return run('auto');
  if (command === '--help' || command === '-h' || command === 'help') {
    console.log(usage);
    return 0;
  }
  if (command === '--version') {
    console.log(version);
    return 0;
  }
  if (command === 'schema') {
    const { runSchema } = await import('./cli/schema/schema-command.js');
    return runSchema(argv.slice(1), {
      stdout: (text) => console.log(text),
      stderr: (text) => console.error(text),
    });
  }
  if (command === 'doctor') {
    const { runDoctor } = await import('./cli/doctor/doctor.js');
    return runDoctor(argv.slice(1), {
      env: process.env,
      stdout: (line) => console.log(line),
      stderr: (line) => console.error(line),
    });
  }
  const mode = runModes[command];
  if (mode === undefined) {
    console.error(`unknown command "${command}"\n\n${usage}`);
    return 2;
  }
  // `run --help` must not start a daemon that registers and claims jobs.
  const [extra] = argv.slice(1);
  if (extra === '--help' || extra === '-h') {
    console.log(usage);
    return 0;
  }
  if (extra !== undefined) {
    console.error(
      `"${command}" takes no arguments (got "${extra}"); configuration comes from environment variables\n\n${usage}`,
    );
    return 2;
  }
  return run(mode);
}

async function run(mode: RunMode): Promise<number> {
  // Listening before the daemon's modules load: as PID 1 (the container) a signal without a
  // listener is dropped by the kernel, and one sent while the daemon starts would otherwise be lost.
  const signals = signalLatch();
  try {
    const { runDaemon } = await import('./cli/run-daemon.js');
    return await runDaemon(mode, process.env, signals);
  } finally {
    signals.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    // Exit explicitly once the staged shutdown is complete: idle keep-alive sockets must not hold the process.
    process.exitCode = code;
    setImmediate(() => process.exit(code));
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
