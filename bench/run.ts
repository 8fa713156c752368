import { parseArgs } from 'node:util';
import { atlasClientScenario } from './atlas/atlas-scenario.js';
import { credentialLoginScenario } from './credential-login/credential-login-scenario.js';
import { databaseAccessScenario } from './database-access/database-access-scenario.js';
import { deepDiscoveryScenario } from './deep-discovery/deep-discovery-scenario.js';
import type { Figure } from './figures.js';
import { orgPortalScenario } from './org-portal/org-portal-scenario.js';
import { jsonReport, renderTables } from './report.js';
import { outageScenario } from './outage/outage-scenario.js';
import type { Scenario } from './scenario.js';
import { workerScenario } from './worker/worker-scenario.js';

/**
 * `node dist/bench/run.js [--json] [--only <scenario>]` (or `npm run bench -- …`, which builds
 * first). A new scenario is a module exporting a `Scenario`, added to this list.
 */
const scenarios: readonly Scenario[] = [
  workerScenario,
  atlasClientScenario,
  databaseAccessScenario,
  orgPortalScenario,
  deepDiscoveryScenario,
  credentialLoginScenario,
  outageScenario,
];

const usage = `usage: node dist/bench/run.js [--json] [--only <${scenarios.map((s) => s.name).join('|')}>]`;

function selectScenarios(only: readonly string[] | undefined): readonly Scenario[] {
  if (!only || only.length === 0) return scenarios;
  const unknown = only.filter((name) => !scenarios.some((s) => s.name === name));
  if (unknown.length > 0) throw new Error(`unknown scenario ${unknown.join(', ')}\n${usage}`);
  return scenarios.filter((s) => only.includes(s.name));
}

/** Rounds non-integers to 4 decimals in the JSON output; the measurement noise is far larger. */
function roundNumbers(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isInteger(value) ? Math.round(value * 1e4) / 1e4 : value;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      only: { type: 'string', multiple: true },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    console.error(usage);
    return 0;
  }
  const progress = (line: string): void => console.error(`[bench] ${line}`);
  const figures: Figure[] = [];
  const failed: string[] = [];
  const started = performance.now();
  for (const scenario of selectScenarios(values.only)) {
    progress(`${scenario.name}: ${scenario.description}`);
    try {
      figures.push(...(await scenario.run({ progress })));
    } catch (error) {
      failed.push(scenario.name);
      console.error(`[bench] ${scenario.name} failed:`, error);
    }
  }
  progress(`done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  if (values.json) {
    process.stdout.write(`${JSON.stringify(jsonReport(figures, failed), roundNumbers, 2)}\n`);
  } else {
    console.log(renderTables(figures));
    const missed = figures.filter((f) => f.met === false).length;
    console.log(
      `\n${missed === 0 ? 'all targets met' : `${missed} target(s) MISSED`} (the benchmark reports; it does not gate)`,
    );
  }
  // A missed target is a finding, not a failure; a scenario that could not run is.
  return failed.length > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 2;
  },
);
