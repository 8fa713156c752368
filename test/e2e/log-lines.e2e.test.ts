// Every line `npm start` prints through a whole sandbox run (startup, the demo's discover, grant
// and revoke, a job with a bad payload, shutdown) goes through a strict JSON parser that rejects
// duplicate keys, because log pipelines downstream do. The process runs with the image's
// NODE_OPTIONS, so the start-up heap compaction (which needs --expose-gc) is among them.
import { afterEach, describe, expect, it } from 'vitest';
import { productionNodeOptions } from '../../bench/worker/daemon-process.js';
import { parseStrictJson } from '../fakes/strict-json.js';
import { eventually, spawnDaemon, type DaemonProcess } from './daemon-process.js';

const daemons: DaemonProcess[] = [];
afterEach(async () => {
  for (const daemon of daemons.splice(0)) {
    daemon.kill('SIGKILL');
    await daemon.exited;
  }
});

describe('log lines of a sandbox run', () => {
  it('are JSON by default off a terminal, each with unique keys; the expected failure has no stack', async () => {
    const daemon = await spawnDaemon(
      { SANDBOX_CONTROL_PLANE_PORT: '0', SANDBOX_ATLAS_PORT: '0', NODE_OPTIONS: productionNodeOptions },
      30_000,
    );
    daemons.push(daemon);
    await eventually(() => (daemon.output().includes('demo 3/3') ? true : undefined), 60_000, 'the demo');
    const controlPlane = /control plane\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(daemon.output())?.[1];
    expect(controlPlane, daemon.output()).toBeDefined();
    const enqueued = await fetch(`${controlPlane}/admin/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ type: 'ping', resourceKey: 'ping/bad', payload: { echo: 7 } }),
    });
    expect(enqueued.status, await enqueued.clone().text()).toBeLessThan(300);
    const failed = await daemon.waitForLog(
      (line) => line.msg === 'job failed' && line.code === 'invalid_job',
      20_000,
    );
    daemon.kill('SIGINT');
    expect((await daemon.exited).code).toBe(0);

    expect(JSON.stringify(failed)).not.toContain('"stack"');
    const compacted = daemon.lines().find((line) => line.msg === 'heap compacted after start-up');
    expect(compacted, 'the image runs with --expose-gc, so the daemon compacts once').toMatchObject({
      rssBeforeMb: expect.any(Number),
      rssAfterMb: expect.any(Number),
      durationMs: expect.any(Number),
    });
    const lines = daemon
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(lines.length).toBeGreaterThan(20);
    const rejected = lines.flatMap((line) => {
      try {
        parseStrictJson(line);
        return [];
      } catch (error) {
        return [`${String(error)}: ${line.slice(0, 200)}`];
      }
    });
    expect(rejected).toEqual([]);
  }, 120_000);
});
