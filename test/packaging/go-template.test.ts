import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { checkBlocks, lexTemplate, PLACEHOLDER, valuesReferences, yamlSkeleton } from './go-template.js';

const paths = (template: string) =>
  valuesReferences(lexTemplate(template).actions).map((r) => r.path.join('.'));
const blockFindings = (template: string) => checkBlocks(lexTemplate(template).actions).map((f) => f.message);

describe('lexTemplate', () => {
  it('finds actions with their lines and drops trim markers', () => {
    const { actions, findings } = lexTemplate('a: 1\nb: {{- .Values.b -}}\n{{/* note */}}\n');
    expect(findings).toEqual([]);
    expect(actions.map((a) => [a.line, a.kind, a.body.trim()])).toEqual([
      [2, 'output', '.Values.b'],
      [3, 'comment', '/* note */'],
    ]);
  });

  it('does not end an action at "}}" inside a string literal', () => {
    const { actions, findings } = lexTemplate('x: {{ printf "}}%s" .Values.x }}');
    expect(findings).toEqual([]);
    expect(actions).toHaveLength(1);
  });

  it('reports an action that is never closed', () => {
    expect(lexTemplate('a: {{ .Values.a\nb: 2\n').findings).toEqual([
      { line: 1, message: '"{{" is never closed with "}}"' },
    ]);
  });

  it('reports an action that a new "{{" interrupts', () => {
    expect(lexTemplate('a: {{ .Values.a }\nb: {{ .Values.b }}').findings.map((f) => f.line)).toEqual([1]);
  });

  it('reports a stray "}}"', () => {
    expect(lexTemplate('a: .Values.a }}\n').findings).toEqual([
      { line: 1, message: '"}}" without a matching "{{"' },
    ]);
  });
});

describe('checkBlocks', () => {
  it('accepts nested blocks with else, else if and else with', () => {
    const template =
      '{{ define "x" }}{{ if .a }}{{ else if .b }}{{ with .c }}{{ else with .d }}{{ end }}{{ else }}{{ end }}{{ end }}';
    expect(blockFindings(template)).toEqual([]);
  });

  it('reports a block without end, naming the keyword', () => {
    expect(blockFindings('{{ range .Values.x }}\n- {{ . }}\n')).toEqual([
      '"range" block is never closed with "end"',
    ]);
  });

  it('reports an end without a block', () => {
    expect(blockFindings('{{ if .a }}{{ end }}{{ end }}')).toEqual(['"end" without an open block']);
  });

  it('reports else outside a block and a second final else', () => {
    expect(blockFindings('{{ else }}{{ if .a }}{{ else }}{{ else }}{{ end }}')).toEqual([
      '"else" outside an if, with or range block',
      '"else" after the final "else" of the if block',
    ]);
  });
});

describe('yamlSkeleton', () => {
  it('drops lines that hold only actions and turns inline output into a scalar', () => {
    const template =
      'metadata:\n  labels:\n    {{- include "labels" . | nindent 4 }}\n  name: {{ .Release.Name }}\n';
    expect(yamlSkeleton(template, lexTemplate(template).actions)).toBe(
      `metadata:\n  labels:\n\n  name: ${PLACEHOLDER}\n`,
    );
  });

  it('keeps a list item made of an action open for the indented keys that follow it', () => {
    const template =
      'items:\n  {{- range .Values.items }}\n  - {{ toYaml . | trim }}\n    extra: 1\n  {{- end }}\n';
    const skeleton = yamlSkeleton(template, lexTemplate(template).actions);
    expect(parseAllDocuments(skeleton).flatMap((doc) => doc.errors)).toEqual([]);
  });

  it('keeps broken indentation broken, so the YAML parse catches it', () => {
    const template = 'spec:\n  a: {{ .Values.a }}\n b: 1\n';
    const skeleton = yamlSkeleton(template, lexTemplate(template).actions);
    expect(parseAllDocuments(skeleton).flatMap((doc) => doc.errors).length).toBeGreaterThan(0);
  });
});

describe('valuesReferences', () => {
  it('reads literal and $-rooted paths but not string literals', () => {
    expect(paths('{{ .Values.a.b }} {{ $.Values.c }} {{ .Capabilities.APIVersions.Has "x.y/v1" }}')).toEqual([
      'a.b',
      'c',
    ]);
  });

  it('resolves relative fields inside with, and restores the dot after else and end', () => {
    const template = '{{ with .Values.sm }}{{ .interval }}{{ else }}{{ .Values.x }}{{ end }}{{ .Values.y }}';
    expect(paths(template)).toEqual(['sm', 'sm.interval', 'x', 'y']);
  });

  it('resolves fields of a variable bound to a values path', () => {
    expect(paths('{{- $sm := .Values.metrics.sm }}{{ if $sm.enabled }}{{ end }}')).toEqual([
      'metrics.sm',
      'metrics.sm.enabled',
    ]);
  });

  it('does not guess inside range, where the dot is a list item', () => {
    expect(
      paths('{{ range .Values.list }}{{ .name }}{{ end }}{{ range $k, $v := .Values.m }}{{ $v.x }}{{ end }}'),
    ).toEqual(['list', 'm']);
  });
});
