import type { HeartbeatAction, HeartbeatRequest, HeartbeatResponse } from '../control-plane/protocol.js';
import type { ControlPlaneClient } from '../control-plane/control-plane-client.js';

export interface SkewSample {
  /** Server clock minus local clock, in ms (positive: the server is ahead). */
  readonly skewMs: number;
  readonly rttMs: number;
}

/** skew ≈ serverTime − (tSend + rtt/2), from wall-clock send and receive times (agent-protocols §7.7). */
export function estimateSkew(
  sentWallMs: number,
  receivedWallMs: number,
  serverTime: string,
): SkewSample | undefined {
  const server = Date.parse(serverTime);
  if (Number.isNaN(server)) return undefined;
  const rttMs = Math.max(0, receivedWallMs - sentWallMs);
  return { skewMs: server - (sentWallMs + rttMs / 2), rttMs };
}

export interface HeartbeatOutcome {
  readonly response: HeartbeatResponse;
  readonly skew: SkewSample | undefined;
}

export async function sendHeartbeat(
  client: Pick<ControlPlaneClient, 'heartbeat'>,
  request: HeartbeatRequest,
  now: () => number,
  signal: AbortSignal,
): Promise<HeartbeatOutcome> {
  const sent = now();
  const response = await client.heartbeat(request, signal);
  return { response, skew: estimateSkew(sent, now(), response.serverTime) };
}

/** Heartbeat interval with ±10 % jitter, so a fleet restarted together does not beat in step. */
export function jitteredInterval(intervalMs: number, draw: number): number {
  return Math.round(intervalMs * (0.9 + 0.2 * draw));
}

export type { HeartbeatAction };
