import { createInterface } from 'node:readline';
import { timedLogin } from './timed-login.js';

/**
 * A separate process that logs in on request, as a customer's application would: one JSON line
 * `{ id, connectionString, username, password, bare? }` in (bare: connect without credentials), one `{ id, ok, ms, error? }` line out. Keeps
 * the driver's work off the event loop that serves the simulator and the control plane.
 */
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const request = JSON.parse(line) as {
    id: string;
    connectionString: string;
    username: string;
    password: string;
  };
  void timedLogin(request.connectionString, request).then((outcome) => {
    process.stdout.write(`${JSON.stringify({ id: request.id, ...outcome })}\n`);
  });
});
