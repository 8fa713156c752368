/** One finding of the static packaging checks: which check, where, and what is wrong. */
export interface Problem {
  readonly check: CheckName;
  /** Path relative to the chart (or repository) root. */
  readonly file: string;
  /** 1-based line, when the finding has one. */
  readonly line?: number;
  readonly message: string;
}

export type CheckName =
  | 'chart-yaml'
  | 'values-paths'
  | 'values-schema'
  | 'schema-strictness'
  | 'template-syntax'
  | 'template-yaml'
  | 'template-includes'
  | 'values-docs'
  | 'env-vars'
  | 'security-defaults'
  | 'dockerfile'
  | 'dockerignore';

export function formatProblem(problem: Problem): string {
  const where = problem.line === undefined ? problem.file : `${problem.file}:${problem.line}`;
  return `[${problem.check}] ${where}: ${problem.message}`;
}
