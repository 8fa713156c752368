import type { AtlasProcess, ConnectionStrings } from '../../../atlas/index.js';

/**
 * Atlas's process listing has no cluster name, so discovery maps each process to a cluster by
 * comparing its hostname / `userAlias` with what the cluster's connection strings reveal. The
 * tiers run strongest first; a tier that names two clusters is ambiguous and the process stays
 * unmatched rather than being credited to the wrong cluster (docs/discovery-and-sweep.md).
 */

/** What matching needs from a cluster, dedicated or flex. */
export interface ClusterHosts {
  readonly name: string;
  readonly connectionStrings?: ConnectionStrings | undefined;
}

export interface SeedList {
  readonly hosts: readonly string[];
  readonly replicaSet?: string;
}

export interface SrvHost {
  /** `cluster0` of `cluster0.abcde.mongodb.net`. */
  readonly label: string;
  /** `abcde.mongodb.net`: the project's shared suffix. */
  readonly domain: string;
}

interface ClusterFacts {
  readonly name: string;
  readonly hosts: ReadonlySet<string>;
  readonly replicaSets: ReadonlySet<string>;
  readonly srv: readonly SrvHost[];
}

interface ProcessNames {
  readonly names: readonly string[];
  readonly replicaSet: string | undefined;
}

function stripPort(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1] ?? '';
  return host.replace(/:\d+$/, '');
}

/** Hosts and `replicaSet` of a `mongodb://h1:27017,h2:27017/?replicaSet=…` seed list. */
export function parseSeedList(uri: string): SeedList | undefined {
  const match = /^mongodb:\/\/(?:[^@/]*@)?([^/?]+)(?:\/[^?]*)?(?:\?(.*))?$/i.exec(uri.trim());
  if (!match) return undefined;
  const hosts = (match[1] ?? '')
    .split(',')
    .map((host) => stripPort(host.trim().toLowerCase()))
    .filter((host) => host.length > 0);
  const replicaSet = new URLSearchParams(match[2] ?? '').get('replicaSet') ?? undefined;
  return { hosts, ...(replicaSet ? { replicaSet } : {}) };
}

/** The SRV record name of a `mongodb+srv://cluster0.abcde.mongodb.net/…` string, split once. */
export function parseSrvHost(uri: string): SrvHost | undefined {
  const match = /^mongodb\+srv:\/\/(?:[^@/]*@)?([^/?:,]+)/i.exec(uri.trim());
  const host = match?.[1]?.toLowerCase();
  if (!host) return undefined;
  const dot = host.indexOf('.');
  const label = host.slice(0, dot);
  const domain = host.slice(dot + 1);
  // A suffix with fewer than two labels (`mongodb.net` alone) would match every Atlas host.
  if (dot <= 0 || domain.split('.').length < 2) return undefined;
  return { label, domain };
}

function factsOf(cluster: ClusterHosts): ClusterFacts {
  const strings = cluster.connectionStrings ?? {};
  const seeds = [strings.standard, strings.private]
    .filter((uri): uri is string => typeof uri === 'string')
    .map(parseSeedList)
    .filter((seed): seed is SeedList => seed !== undefined);
  const srv = [strings.standardSrv, strings.privateSrv]
    .filter((uri): uri is string => typeof uri === 'string')
    .map(parseSrvHost)
    .filter((host): host is SrvHost => host !== undefined);
  return {
    name: cluster.name,
    hosts: new Set(seeds.flatMap((seed) => seed.hosts)),
    replicaSets: new Set(seeds.flatMap((seed) => (seed.replicaSet ? [seed.replicaSet] : []))),
    srv,
  };
}

function firstLabel(host: string): string {
  return host.split('.')[0] ?? '';
}

type Tier = (cluster: ClusterFacts, process: ProcessNames) => boolean;

const tiers: readonly Tier[] = [
  // 1. The process is one of the hosts listed in a seed list.
  (c, p) => p.names.some((name) => c.hosts.has(name)),
  // 2. Its replica set is the one a seed list names (`replicaSet=atlas-xxxx-shard-0`).
  (c, p) => p.replicaSet !== undefined && c.replicaSets.has(p.replicaSet),
  // 3. SRV: same domain, and the node name starts with the SRV label (`cluster0-shard-00-01`).
  (c, p) =>
    p.names.some((name) =>
      c.srv.some((s) => name.endsWith(`.${s.domain}`) && firstLabel(name).startsWith(`${s.label}-`)),
    ),
  // 4. SRV: same domain only — decisive only when a single cluster of the project has it.
  (c, p) => p.names.some((name) => c.srv.some((s) => name.endsWith(`.${s.domain}`))),
];

function clusterFor(facts: readonly ClusterFacts[], process: ProcessNames): string | undefined {
  for (const tier of tiers) {
    const candidates = facts.filter((cluster) => tier(cluster, process));
    if (candidates.length === 1) return candidates[0]?.name;
    if (candidates.length > 1) return undefined;
  }
  return undefined;
}

/**
 * Maps processes to the clusters they belong to. Pass every cluster the project lists (also
 * those out of scope or being deleted), so the "only one cluster has this domain" tier is
 * decided against the whole project.
 */
export function matchProcessesToClusters(
  clusters: readonly ClusterHosts[],
  processes: readonly AtlasProcess[],
): Map<string, AtlasProcess[]> {
  const facts = clusters.map(factsOf);
  const matched = new Map<string, AtlasProcess[]>();
  for (const process of processes) {
    const names = [process.hostname, process.userAlias]
      .filter((name): name is string => typeof name === 'string' && name.length > 0)
      .map((name) => name.toLowerCase());
    const cluster = clusterFor(facts, { names, replicaSet: process.replicaSetName });
    if (cluster === undefined) continue;
    matched.set(cluster, [...(matched.get(cluster) ?? []), process]);
  }
  return matched;
}

/** mongod types that can answer listDatabases, best first. Mongos and config servers are skipped. */
const mongodRank: Readonly<Record<string, number>> = {
  REPLICA_PRIMARY: 0,
  SHARD_PRIMARY: 0,
  SHARD_STANDALONE: 1,
  REPLICA_SECONDARY: 2,
  SHARD_SECONDARY: 2,
};

function rankOf(process: AtlasProcess): number | undefined {
  const type = process.typeName;
  return type !== undefined && Object.hasOwn(mongodRank, type) ? mongodRank[type] : undefined;
}

/**
 * One mongod per replica set (each shard is one): the primary when there is one, otherwise a
 * secondary, so a sharded cluster's databases are the union over its shards.
 */
export function processesToQuery(processes: readonly AtlasProcess[]): AtlasProcess[] {
  const best = new Map<string, { process: AtlasProcess; rank: number }>();
  for (const process of processes) {
    const rank = rankOf(process);
    if (rank === undefined) continue;
    const group = process.replicaSetName ?? process.shardName ?? process.id;
    const current = best.get(group);
    const better =
      !current || rank < current.rank || (rank === current.rank && process.id < current.process.id);
    if (better) best.set(group, { process, rank });
  }
  return [...best.values()].map((entry) => entry.process).sort((a, b) => a.id.localeCompare(b.id));
}
