import type { LoadedChart } from './chart-check.js';
import type { Problem } from './problem.js';
import { isObject } from './values-check.js';

function at(values: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((node, key) => (isObject(node) ? node[key] : undefined), values);
}

/** Default values that make the pod meet Pod Security "restricted" and the chart's own rules. */
const valueRules: readonly {
  path: string;
  holds: (value: unknown, values: unknown) => boolean;
  rule: string;
}[] = [
  { path: 'podSecurityContext.runAsNonRoot', holds: (v) => v === true, rule: 'must be true' },
  {
    path: 'podSecurityContext.runAsUser',
    holds: (v) => typeof v === 'number' && v > 0,
    rule: 'must be a non-zero UID',
  },
  {
    path: 'podSecurityContext.fsGroup',
    holds: (v) => typeof v === 'number' && v > 0,
    rule: 'must be set so the runtime user can read the 0400 token file',
  },
  {
    path: 'podSecurityContext.seccompProfile.type',
    holds: (v) => v === 'RuntimeDefault',
    rule: 'must be RuntimeDefault',
  },
  { path: 'securityContext.allowPrivilegeEscalation', holds: (v) => v === false, rule: 'must be false' },
  { path: 'securityContext.readOnlyRootFilesystem', holds: (v) => v === true, rule: 'must be true' },
  { path: 'securityContext.privileged', holds: (v) => v === false, rule: 'must be false' },
  {
    path: 'securityContext.capabilities.drop',
    holds: (v) => Array.isArray(v) && v.includes('ALL'),
    rule: 'must include ALL',
  },
  { path: 'serviceAccount.automountServiceAccountToken', holds: (v) => v === false, rule: 'must be false' },
  { path: 'resources.limits.memory', holds: (v) => typeof v === 'string' && v !== '', rule: 'must be set' },
  {
    path: 'resources.limits.cpu',
    holds: (v) => v === undefined,
    rule: 'must be unset by default (CPU throttling delays lease extensions)',
  },
  {
    path: 'terminationGracePeriodSeconds',
    holds: (v, values) =>
      typeof v === 'number' && v > Number(at(values, 'connector.drainTimeoutSeconds')) + 10,
    rule: 'must exceed connector.drainTimeoutSeconds + 10',
  },
];

/** Text the Deployment template must contain for those values to reach the pod. */
const deploymentRules: readonly { pattern: RegExp; rule: string }[] = [
  {
    pattern: /securityContext:\s*\n\s*\{\{-? toYaml \.Values\.podSecurityContext\b/,
    rule: 'render .Values.podSecurityContext',
  },
  {
    pattern: /securityContext:\s*\n\s*\{\{-? toYaml \.Values\.securityContext\b/,
    rule: 'render .Values.securityContext',
  },
  {
    pattern: /automountServiceAccountToken: \{\{ \.Values\.serviceAccount\.automountServiceAccountToken \}\}/,
    rule: 'set automountServiceAccountToken from serviceAccount.automountServiceAccountToken',
  },
  { pattern: /mountPath: \/tmp\b/, rule: 'mount a writable volume at /tmp' },
  { pattern: /emptyDir:\s*\n\s*sizeLimit:/, rule: 'give the /tmp emptyDir a sizeLimit' },
  { pattern: /defaultMode: 0400\b/, rule: 'mount the token with defaultMode 0400' },
  { pattern: /terminationMessagePolicy: FallbackToLogsOnError/, rule: 'set terminationMessagePolicy' },
  {
    pattern: /\{\{-? fail [^}]*terminationGracePeriodSeconds/,
    rule: 'fail when terminationGracePeriodSeconds does not exceed the drain timeout',
  },
];

const forbidden = /\b(hostNetwork|hostPID|hostIPC|hostPath|privileged: true)\b/;

export function securityProblems(chart: LoadedChart): Problem[] {
  const problems: Problem[] = [];
  for (const { path, holds, rule } of valueRules) {
    if (!holds(at(chart.values, path), chart.values)) {
      problems.push({ check: 'security-defaults', file: 'values.yaml', message: `${path} ${rule}` });
    }
  }
  const deployment = chart.templates.find((t) => t.file === 'templates/deployment.yaml');
  for (const { pattern, rule } of deploymentRules) {
    if (!deployment || !pattern.test(deployment.text)) {
      problems.push({
        check: 'security-defaults',
        file: 'templates/deployment.yaml',
        message: `must ${rule}`,
      });
    }
  }
  for (const template of chart.templates) {
    template.text.split('\n').forEach((text, i) => {
      const hit = forbidden.exec(text)?.[1];
      if (hit) {
        problems.push({
          check: 'security-defaults',
          file: template.file,
          line: i + 1,
          message: `uses ${hit}`,
        });
      }
    });
  }
  return problems;
}
