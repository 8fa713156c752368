import type { SimResponse } from './http-io.js';
import type { SimulatorInspector } from './inspector.js';
import { applyKnobsPatch, type Knobs } from './knobs.js';
import type { SimulatorStats } from './stats.js';

export const controlPrefix = '/__sim/';

export interface ControlDeps {
  readonly inspector: SimulatorInspector;
  readonly stats: SimulatorStats;
  readonly knobs: Knobs;
  readonly reset: () => void;
  /** The invited person accepts (see `AtlasSimulator.acceptInvitation`); false when nobody is pending. */
  readonly acceptInvitation: (username: string) => boolean;
}

const json = (status: number, body: unknown): SimResponse => ({
  status,
  headers: { 'content-type': 'application/json' },
  body,
});

function patchKnobs(deps: ControlDeps, body: string): SimResponse {
  let patch: unknown;
  try {
    patch = JSON.parse(body === '' ? '{}' : body) as unknown;
  } catch {
    return json(400, { error: 'body must be JSON' });
  }
  try {
    return json(200, applyKnobsPatch(deps.knobs, patch));
  } catch (error) {
    return json(400, { error: error instanceof Error ? error.message : String(error) });
  }
}

function accept(deps: ControlDeps, body: string): SimResponse {
  let username: unknown;
  try {
    username = (JSON.parse(body) as { username?: unknown }).username;
  } catch {
    return json(400, { error: 'body must be JSON {"username": "<email>"}' });
  }
  if (typeof username !== 'string' || username === '') return json(400, { error: 'username: required' });
  if (!deps.acceptInvitation(username)) return json(404, { error: `no pending invitation for ${username}` });
  return { status: 204, headers: {} };
}

/**
 * The simulator's own control surface (not part of the Atlas API, no authentication: it is only
 * ever bound to loopback in tests and the sandbox). `GET state|stats|knobs`, `POST knobs|reset|invitations:accept`.
 */
export function serveControl(deps: ControlDeps, method: string, path: string, body: string): SimResponse {
  const action = `${method} ${path.slice(controlPrefix.length).replace(/\/$/, '')}`;
  switch (action) {
    case 'GET state':
      return json(200, deps.inspector.snapshot());
    case 'GET stats':
      return json(200, deps.stats.snapshot());
    case 'GET knobs':
      return json(200, deps.knobs);
    case 'POST knobs':
      return patchKnobs(deps, body);
    case 'POST invitations:accept':
      return accept(deps, body);
    case 'POST reset':
      deps.reset();
      return { status: 204, headers: {} };
    default:
      return json(404, { error: `unknown control endpoint ${method} ${path}` });
  }
}
