import { defaultFixture, sandboxIds, type AtlasFixtureInput } from '../../src/sandbox/atlas/index.js';

/** A project a grant can target, with the one cluster the bench grants on. */
export interface BenchProject {
  readonly projectId: string;
  readonly cluster: string;
}

/** The default fixture's two projects and the cluster of each that grants name. */
const seeded: readonly BenchProject[] = [
  { projectId: sandboxIds.payments, cluster: 'Cluster0' },
  { projectId: sandboxIds.analytics, cluster: 'Analytics' },
];

const extraProjects = 8;

/** 24-hex ids in a range the default fixture does not use (its ids start with 66). */
const hexId = (kind: number, n: number): string =>
  `77${kind.toString(16).padStart(2, '0')}${n.toString(16).padStart(20, '0')}`;

function extra(n: number): { project: BenchProject; input: AtlasFixtureInput } {
  const projectId = hexId(2, n);
  const cluster = `Bench${n}`;
  const host = `bench${n}.b3nch.mongodb.net`;
  return {
    project: { projectId, cluster },
    input: {
      organizations: [],
      projects: [{ id: projectId, orgId: sandboxIds.org, name: `bench-${n}` }],
      clusters: [
        {
          id: hexId(3, n),
          projectId,
          name: cluster,
          connectionStrings: { standardSrv: `mongodb+srv://${host}` },
          databases: [{ name: 'sales', collections: ['orders'] }],
        },
      ],
    },
  };
}

/**
 * `defaultFixture()` plus 8 projects with one replica set each: 10 projects, so 10 project token
 * buckets for the rate-limited run.
 */
export function tenProjectFixture(): { fixture: AtlasFixtureInput; projects: BenchProject[] } {
  const base = defaultFixture();
  const extras = Array.from({ length: extraProjects }, (_, i) => extra(i + 1));
  return {
    fixture: {
      ...base,
      projects: [...base.projects, ...extras.flatMap((e) => e.input.projects)],
      clusters: [...(base.clusters ?? []), ...extras.flatMap((e) => e.input.clusters ?? [])],
    },
    projects: [...seeded, ...extras.map((e) => e.project)],
  };
}
