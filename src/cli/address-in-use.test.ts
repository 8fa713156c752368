import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/env.js';
import { addressInUseMessage, listenProblemMessage } from './address-in-use.js';

const config = loadConfig({
  ADMIN_PORT: '8081',
  ADMIN_METRICS_PORT: '9090',
  SANDBOX_CONTROL_PLANE_PORT: '80',
  SANDBOX_ATLAS_PORT: '443',
});
const failure = (code: string, port: number) => Object.assign(new Error(`listen ${code}`), { code, port });

describe('listener failures, told by the variable that chose the port', () => {
  it.each([
    [80, 'SANDBOX_CONTROL_PLANE_PORT'],
    [443, 'SANDBOX_ATLAS_PORT'],
    [8081, 'ADMIN_PORT'],
    [9090, 'ADMIN_METRICS_PORT'],
  ])('a privileged port %i names %s', (port, variable) => {
    expect(listenProblemMessage(failure('EACCES', port), config)).toBe(
      `cannot listen on port ${port}: permission denied (EACCES); ports below 1024 need a privilege the connector does not have: set ${variable} to 1024 or above`,
    );
  });

  it('a port in use names its variable', () => {
    expect(addressInUseMessage(failure('EADDRINUSE', 80), config)).toContain(
      'set SANDBOX_CONTROL_PLANE_PORT to a free port',
    );
  });

  it('leaves other failures to the caller', () => {
    expect(listenProblemMessage(failure('ECONNRESET', 80), config)).toBeUndefined();
    expect(addressInUseMessage(failure('EACCES', 80), config)).toBeUndefined();
  });
});
