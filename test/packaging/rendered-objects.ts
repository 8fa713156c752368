import {
  PrometheusRule,
  ServiceMonitor,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment } from 'kubernetes-models/apps/v1';
import { ConfigMap, Pod, Secret, Service, ServiceAccount } from 'kubernetes-models/v1';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import { join } from 'node:path';
import ts from 'typescript';
import { parseAllDocuments } from 'yaml';

/** A model whose `validate()` checks an object against the Kubernetes (or Prometheus Operator) schema. */
type Validator = new (data: never) => { validate(): void };

/** Every kind the chart renders, by apiVersion/kind. A kind missing here fails the check. */
const models: Readonly<Record<string, Validator>> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Pod': Pod,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
};

export interface RenderedObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly annotations?: Record<string, string> };
  readonly [field: string]: unknown;
}

/** The objects of a `helm template` output; YAML errors and duplicate keys throw. */
export function parseManifests(text: string): RenderedObject[] {
  return parseAllDocuments(text, { uniqueKeys: true })
    .map((doc) => {
      if (doc.errors.length > 0) throw new Error(doc.errors.map((e) => e.message).join('\n'));
      return doc.toJS() as RenderedObject | null;
    })
    .filter((object): object is RenderedObject => object !== null);
}

/**
 * Schema violations of each object, as "<kind>/<name>: <message>"; empty when all are valid. Both
 * the models' JSON schemas (types, required fields, formats) and strict field validation apply.
 */
export function schemaViolations(objects: readonly RenderedObject[]): string[] {
  return [...jsonSchemaViolations(objects), ...strictFieldViolations(objects)];
}

function jsonSchemaViolations(objects: readonly RenderedObject[]): string[] {
  return objects.flatMap((object) => {
    const name = `${object.kind}/${object.metadata.name}`;
    const Model = models[`${object.apiVersion}/${object.kind}`];
    if (!Model) return [`${name}: no schema for ${object.apiVersion} ${object.kind}`];
    try {
      new Model(object as never).validate();
      return [];
    } catch (error) {
      return [`${name}: ${error instanceof Error ? error.message : String(error)}`];
    }
  });
}

/** Where each kind's TypeScript interface lives (the same models, read by the compiler). */
const interfaces: Readonly<Record<string, string>> = {
  'v1/ConfigMap': "import('kubernetes-models/v1').IConfigMap",
  'v1/Pod': "import('kubernetes-models/v1').IPod",
  'v1/Secret': "import('kubernetes-models/v1').ISecret",
  'v1/Service': "import('kubernetes-models/v1').IService",
  'v1/ServiceAccount': "import('kubernetes-models/v1').IServiceAccount",
  'apps/v1/Deployment': "import('kubernetes-models/apps/v1').IDeployment",
  'networking.k8s.io/v1/NetworkPolicy': "import('kubernetes-models/networking.k8s.io/v1').INetworkPolicy",
  'policy/v1/PodDisruptionBudget': "import('kubernetes-models/policy/v1').IPodDisruptionBudget",
  'monitoring.coreos.com/v1/ServiceMonitor':
    "import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1').IServiceMonitor",
  'monitoring.coreos.com/v1/PrometheusRule':
    "import('@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1').IPrometheusRule",
};

const compilerOptions: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
};

/**
 * Fields the Kubernetes API would reject under strict field validation (`kubectl apply
 * --validate=strict`, kubeconform `-strict`): the models' JSON schemas allow unknown properties,
 * so each object is written as a typed object literal and the TypeScript compiler's excess-property
 * check names every field its kind does not have (and any value of the wrong type). ~1 s per call.
 */
function strictFieldViolations(objects: readonly RenderedObject[]): string[] {
  const file = join(import.meta.dirname, '__rendered-objects__.ts');
  const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
  const text = objects
    .map((o, i) => {
      const type = interfaces[`${o.apiVersion}/${o.kind}`] ?? 'unknown';
      return `export const o${i}: ${type} = ${JSON.stringify(o)};`;
    })
    .join('\n');
  const host = ts.createCompilerHost(compilerOptions);
  const { readFile, getSourceFile } = host;
  host.fileExists = (name) => name === file || ts.sys.fileExists(name);
  host.readFile = (name) => (name === file ? text : readFile.call(host, name));
  host.getSourceFile = (name, version, ...rest) =>
    name === file
      ? ts.createSourceFile(name, text, version)
      : getSourceFile.call(host, name, version, ...rest);
  const program = ts.createProgram([file], compilerOptions, host);
  return ts.getPreEmitDiagnostics(program, program.getSourceFile(file)).map((d) => {
    const at = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    return `${names[at] ?? 'rendered objects'}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`;
  });
}
