import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { EnvSchema } from '../../src/config/env.js';
import { checkBlocks, lexTemplate, templateNames, valuesReferences, yamlSkeleton } from './go-template.js';
import type { Problem } from './problem.js';
import {
  hasSchemaPath,
  hasValuesPath,
  isObject,
  mergeValues,
  schemaViolations,
  strictnessProblems,
  undocumentedKeys,
} from './values-check.js';
import { securityProblems } from './security-check.js';

/**
 * Static checks of a Helm chart, for a machine without Helm: Chart.yaml, values against the
 * schema, template syntax and structure, the values templates read, helm-docs comments, the
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

function yamlProblems(template: Template, skeleton: string): Problem[] {
  const problems: Problem[] = [];
  const problem = (line: number | undefined, message: string) =>
    problems.push({ check: 'template-yaml', file: template.file, line, message });
  for (const doc of parseAllDocuments(skeleton, { uniqueKeys: false })) {
    for (const error of doc.errors) problem(error.linePos?.[0].line, error.message.split('\n')[0] ?? '');
    if (doc.errors.length > 0 || doc.contents === null) continue;
    const line = skeleton.slice(0, doc.range[0]).split('\n').length;
    for (const field of ['apiVersion', 'kind']) {
      if (!doc.has(field)) problem(line, `document has no ${field}`);
    }
  }
  return problems;
}

function templateProblems(chart: LoadedChart): Problem[] {
  const problems: Problem[] = [];
  const defined = new Set<string>();
  const used: { file: string; name: string; line: number }[] = [];
  for (const template of chart.templates) {
    const { actions, findings } = lexTemplate(template.text);
    for (const finding of [...findings, ...checkBlocks(actions)]) {
      problems.push({ check: 'template-syntax', file: template.file, ...finding });
    }
    if (template.file.endsWith('.yaml') && findings.length === 0) {
      problems.push(...yamlProblems(template, yamlSkeleton(template.text, actions)));
    }
    const names = templateNames(actions);
    names.defined.forEach((name) => defined.add(name));
    used.push(...names.used.map((use) => ({ file: template.file, ...use })));
    for (const { path, line } of valuesReferences(actions)) {
      const name = `.Values.${path.join('.')}`;
      if (!hasValuesPath(chart.values, path)) {
        problems.push({
          check: 'values-paths',
          file: template.file,
          line,
          message: `${name} is not in values.yaml`,
        });
      }
      if (!hasSchemaPath(chart.schema, path)) {
        problems.push({
          check: 'values-paths',
          file: template.file,
          line,
          message: `${name} is not in values.schema.json`,
        });
      }
    }
  }
  for (const use of used.filter((u) => !defined.has(u.name))) {
    problems.push({
      check: 'template-includes',
      file: use.file,
      line: use.line,
      message: `"${use.name}" is not defined`,
    });
  }
  return problems;
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
    ...templateProblems(chart),
    ...envProblems(chart, known),
    ...securityProblems(chart),
  ];
}
