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

  it('an IPv6 ADMIN_HOST on a host with IPv6 turned off names ADMIN_HOST', () => {
    // `::` binds IPv4 too where the kernel has IPv6; a node booted with ipv6.disable=1 refuses the
    // address family, and the daemon exited 1 with a fatal line that named no variable.
    const ipv6 = loadConfig({ ADMIN_HOST: '::' });
    expect(listenProblemMessage(failure('EAFNOSUPPORT', 8081), ipv6)).toBe(
      'cannot listen on ADMIN_HOST (::) or ADMIN_METRICS_HOST (127.0.0.1): this host does not support that address family (EAFNOSUPPORT), e.g. an IPv6 address such as :: where IPv6 is turned off; use 0.0.0.0',
    );
  });

  it('leaves other failures to the caller', () => {
    expect(listenProblemMessage(failure('ECONNRESET', 80), config)).toBeUndefined();
    expect(addressInUseMessage(failure('EACCES', 80), config)).toBeUndefined();
  });
});
