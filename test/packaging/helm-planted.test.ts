// The chart checks themselves can fail: a planted mistake in a copy of the chart fails strict
// schema validation of the rendered objects, or `helm lint --strict`.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { suiteTempDir } from '../kits/temp-dir-test-kit.js';
import { installHelm } from './helm-binary.js';
import { chartDir, helmRunner, required } from './helm-chart-kit.js';
import { schemaViolations } from './rendered-objects.js';

const ciValues = parse(readFileSync(join(chartDir, 'ci/ci-values.yaml'), 'utf8')) as Record<string, unknown>;
const helm = await installHelm();
const scratch = suiteTempDir('helm-planted-test-');
const { valuesFile, helmRun, template } = helmRunner(helm, scratch);

describe.skipIf('skip' in helm)('planted chart mistakes under a real helm', () => {
  it.each([
    [
      'a field its kind does not have',
      'enableServiceLinks: false',
      'enableServiceLink: false',
      /"enableServiceLink"/,
    ],
    [
      'a misspelled container field',
      'terminationMessagePolicy:',
      'terminationMesagePolicy:',
      /terminationMesagePolicy/,
    ],
    [
      'a value of the wrong type',
      'enableServiceLinks: false',
      'enableServiceLinks: "no"',
      /enableServiceLinks/,
    ],
  ] as const)(
    'rejects a rendered Deployment with %s (strict field validation)',
    async (_name, from, to, says) => {
      const copy = join(scratch(), `strict-${to.replace(/\W+/g, '-')}`);
      cpSync(chartDir, copy, { recursive: true });
      const file = join(copy, 'templates/deployment.yaml');
      const before = readFileSync(file, 'utf8');
      writeFileSync(file, before.replace(from, to));
      expect(readFileSync(file, 'utf8')).not.toBe(before);
      const violations = schemaViolations(await template(copy, valuesFile('required', required)));
      expect(violations.length).toBeGreaterThan(0);
      for (const line of violations) expect(line).toMatch(/^Deployment\/rel-atlas-jit-connector: /);
      expect(violations.join('\n')).toMatch(says);
    },
  );

  it.each([
    [
      'a value neither values.yaml nor the schema defines',
      'templates/servicemonitor.yaml',
      'interval: {{ $sm.interval }}',
      'interval: {{ $sm.intervall.seconds }}',
      /intervall/,
    ],
    ['a block whose end was deleted', 'templates/pdb.yaml', /\{\{- end \}\}\n$/, '', /pdb\.yaml/],
    [
      'an action missing a closing brace',
      'templates/service.yaml',
      'port: {{ .Values.service.port }}',
      'port: {{ .Values.service.port }',
      /service\.yaml/,
    ],
    [
      'YAML mis-indented in the output',
      'templates/service.yaml',
      '  type: ClusterIP',
      ' type: ClusterIP',
      /service\.yaml|yaml/i,
    ],
    [
      'an include of an undefined helper',
      'templates/service.yaml',
      '"atlas-jit-connector.fullname"',
      '"atlas-jit-connector.fulname"',
      /fulname/,
    ],
  ] as const)('fails lint on a chart with %s', async (name, file, from, to, says) => {
    const copy = join(scratch(), `planted-${name.replace(/\W+/g, '-')}`);
    cpSync(chartDir, copy, { recursive: true });
    const before = readFileSync(join(copy, file), 'utf8');
    const after = before.replace(from, to);
    expect(after, 'the planted change must change the file').not.toBe(before);
    writeFileSync(join(copy, file), after);
    const result = await helmRun(['lint', '--strict', copy, '-f', valuesFile('ci', ciValues)]);
    expect(result.ok).toBe(false);
    expect(result.output).toMatch(says);
  });
});
