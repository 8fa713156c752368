import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { LoginCredential, LoginOutcome } from './timed-login.js';

/** The parent side of `login-worker.js`: `login()` resolves with the worker's outcome. */
export class LoginProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly waiting = new Map<string, (outcome: LoginOutcome) => void>();
  private next = 0;

  constructor() {
    const worker = fileURLToPath(new URL('./login-worker.js', import.meta.url));
    this.child = spawn(process.execPath, [worker], { stdio: ['pipe', 'pipe', 'pipe'] });
    createInterface({ input: this.child.stdout }).on('line', (line) => {
      const { id, ...outcome } = JSON.parse(line) as LoginOutcome & { id: string };
      this.waiting.get(id)?.(outcome);
      this.waiting.delete(id);
    });
  }

  /** `bare`: connect and ping without the credential (the bound). */
  login(credential: LoginCredential, bare = false): Promise<LoginOutcome> {
    const id = String((this.next += 1));
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.stdin.write(`${JSON.stringify({ id, ...credential, bare })}\n`);
    });
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    this.child.kill('SIGTERM');
    await exited;
  }
}
