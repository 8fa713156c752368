import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { EnvSchema } from '../../src/config/env.js';
import type { Problem } from './problem.js';
import {
  isObject,
  mergeValues,
  schemaViolations,
  strictnessProblems,
  undocumentedKeys,
} from './values-check.js';
import { securityProblems } from './security-check.js';

/**
 * What `helm lint` does not check (helm.test.ts runs the real helm for syntax, rendering and the
 * values the templates read): Chart.yaml conventions, schema strictness, helm-docs comments, the
 * environment the chart gives the daemon, and the security defaults. Returns every problem found;
 * an empty list means the chart passed.
 */

export interface Template {
  /** Relative to the chart, e.g. templates/deployment.yaml. */
  readonly file: string;
  readonly text: string;
}

export interface LoadedChart {
  readonly dir: string;
  readonly chartYaml: unknown;
  readonly valuesText: string;
  readonly values: unknown;
  readonly schema: Record<string, unknown>;
  readonly templates: readonly Template[];
  /** ci/*.yaml override files, each merged over values.yaml as Helm would. */
  readonly ciValues: readonly { file: string; values: unknown }[];
}

export interface ChartCheckOptions {
  /** Variables the daemon reads; defaults to the keys of src/config/env.ts's EnvSchema. */
  readonly knownEnvVars?: readonly string[];
}

function listFiles(dir: string, under: string): string[] {
  if (!existsSync(join(dir, under))) return [];
  return readdirSync(join(dir, under), { withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => `${under}/${entry.name}`)
    .sort();
}

export function loadChart(dir: string): LoadedChart {
  const read = (file: string) => readFileSync(join(dir, file), 'utf8');
  const valuesText = read('values.yaml');
  const values: unknown = parse(valuesText);
  return {
    dir,
    chartYaml: parse(read('Chart.yaml')),
    valuesText,
    values,
    schema: JSON.parse(read('values.schema.json')) as Record<string, unknown>,
    templates: listFiles(dir, 'templates').map((file) => ({ file, text: read(file) })),
    ciValues: listFiles(dir, 'ci')
      .filter((file) => file.endsWith('.yaml'))
      .map((file) => ({ file, values: mergeValues(values, parse(read(file))) })),
  };
}

export function chartYamlProblems(chartYaml: unknown): Problem[] {
  const problem = (message: string): Problem => ({ check: 'chart-yaml', file: 'Chart.yaml', message });
  if (!isObject(chartYaml)) return [problem('is not a YAML mapping')];
  const problems: Problem[] = [];
  if (chartYaml.apiVersion !== 'v2') problems.push(problem('apiVersion must be v2'));
  if (typeof chartYaml.name !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(chartYaml.name)) {
    problems.push(problem('name must be a lowercase DNS-style name'));
  }
  const semver = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
  if (typeof chartYaml.version !== 'string' || !semver.test(chartYaml.version)) {
    problems.push(problem('version must be a SemVer 2 string'));
  }
  if (typeof chartYaml.appVersion !== 'string' || chartYaml.appVersion === '') {
    problems.push(problem('appVersion must be a quoted, non-empty string'));
  }
  if (chartYaml.type !== undefined && chartYaml.type !== 'application' && chartYaml.type !== 'library') {
    problems.push(problem('type must be application or library'));
  }
  for (const field of ['description', 'kubeVersion', 'home']) {
    if (typeof chartYaml[field] !== 'string' || chartYaml[field] === '')
      problems.push(problem(`${field} is missing`));
  }
  return problems;
}

function valuesProblems(chart: LoadedChart): Problem[] {
  const problems = strictnessProblems(chart.schema, 'values.schema.json');
  const sets = [{ file: 'values.yaml', values: chart.values }, ...chart.ciValues];
  for (const { file, values } of sets) {
    for (const message of schemaViolations(chart.schema, values)) {
      problems.push({
        check: 'values-schema',
        file,
        message: `does not match values.schema.json: ${message}`,
      });
    }
  }
  return [...problems, ...undocumentedKeys(chart.valuesText, 'values.yaml')];
}

/** Environment variable names a template sets: ConfigMap data keys and container `env` names. */
export function envVarsSetBy(template: Template): { name: string; line: number }[] {
  const pattern = template.file.endsWith('configmap.yaml')
    ? /^\s+([A-Z][A-Z0-9_]*)\s*:/
    : /^\s*-\s+name:\s*"?([A-Z][A-Z0-9_]*)"?\s*$/;
  return template.text.split('\n').flatMap((text, i) => {
    const name = pattern.exec(text)?.[1];
    return name ? [{ name, line: i + 1 }] : [];
  });
}

function envProblems(chart: LoadedChart, known: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  const set = new Set<string>();
  const sources = chart.templates.filter((t) => /(deployment|configmap)\.yaml$/.test(t.file));
  for (const template of sources) {
    for (const { name, line } of envVarsSetBy(template)) {
      set.add(name);
      const problem = (message: string) =>
        problems.push({ check: 'env-vars', file: template.file, line, message });
      if (name.startsWith('SANDBOX_'))
        problem(`${name} is for local development and must not be in the chart`);
      else if (name === 'CONTROL_PLANE_TOKEN')
        problem('pass the token as a file (CONTROL_PLANE_TOKEN_FILE), not an env var');
      else if (!known.has(name) && !/^(AWS|AZURE)_/.test(name))
        problem(`${name} is not read by the daemon (src/config/env.ts)`);
    }
  }
  for (const name of known) {
    if (!set.has(name) && !name.startsWith('SANDBOX_') && name !== 'CONTROL_PLANE_TOKEN') {
      problems.push({
        check: 'env-vars',
        file: 'templates',
        message: `the chart offers no way to set ${name}`,
      });
    }
  }
  for (const file of ['values.yaml', ...chart.templates.map((t) => t.file)]) {
    if (readFileSync(join(chart.dir, file), 'utf8').includes('SANDBOX_')) {
      problems.push({ check: 'env-vars', file, message: 'mentions SANDBOX_* variables' });
    }
  }
  return problems;
}

export function checkChart(dir: string, options: ChartCheckOptions = {}): Problem[] {
  const chart = loadChart(dir);
  const known = new Set(options.knownEnvVars ?? Object.keys(EnvSchema.shape));
  return [
    ...chartYamlProblems(chart.chartYaml),
    ...valuesProblems(chart),
    ...envProblems(chart, known),
    ...securityProblems(chart),
  ];
}
