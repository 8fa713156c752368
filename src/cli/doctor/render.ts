import { version } from '../../version.js';
import type { CheckResult, CheckStatus, DoctorTarget } from './doctor-types.js';

const labels: Readonly<Record<CheckStatus, string>> = {
  pass: 'PASS',
  fail: 'FAIL',
  warn: 'WARN',
  skip: 'SKIP',
};

/** The human report: one line per check, continuation lines aligned, an indented `fix:` per remedy. */
export function renderTable(target: DoctorTarget | undefined, results: readonly CheckResult[]): string[] {
  const width = Math.max(...results.map((r) => r.name.length));
  const lines: string[] = [target ? heading(target) : '', ''];
  for (const result of results) {
    const [first = '', ...rest] = result.detail.split('\n');
    const indent = ' '.repeat(4 + 2 + width + 2);
    lines.push(`${labels[result.status]}  ${result.name.padEnd(width)}  ${first.trimStart()}`);
    lines.push(...rest.map((line) => `${indent}${line.trimStart()}`));
    if (result.remedy) {
      const [fix = '', ...more] = result.remedy.split('\n');
      lines.push(`      fix: ${fix}`, ...more.map((line) => `           ${line}`));
    }
  }
  lines.push('', summary(results));
  return lines;
}

/** One block of the environment report: the connector's shared checks, or one integration's. */
export interface ReportSection {
  readonly title: string;
  readonly results: readonly CheckResult[];
}

/** The report of `doctor` without a target: one table per section, one summary at the end. */
export function renderSections(connectorId: string, sections: readonly ReportSection[]): string[] {
  const lines = [
    `atlas-jit-connector ${version} doctor: connector ${connectorId}, from the daemon's environment`,
  ];
  for (const section of sections) {
    lines.push('', `== ${section.title}`, ...renderTable(undefined, section.results).slice(2, -2));
  }
  lines.push('', summary(sections.flatMap((section) => section.results)));
  return lines;
}

/** `--json` without a target: `{ok, sections: [{title, ok, checks}]}` on one line. */
export function renderSectionsJson(sections: readonly ReportSection[]): string {
  const all = sections.flatMap((section) => section.results);
  return JSON.stringify({
    ok: isOk(all),
    sections: sections.map((s) => ({ title: s.title, ok: isOk(s.results), checks: s.results })),
  });
}

/** `--json`: `{ok, checks}` on one line, for scripts and CI. */
export function renderJson(results: readonly CheckResult[]): string {
  return JSON.stringify({ ok: isOk(results), checks: results });
}

export function isOk(results: readonly CheckResult[]): boolean {
  return !results.some((r) => r.status === 'fail');
}

/** Names what was checked, for a support ticket; not the secret reference, which may be mistyped. */
function heading(target: DoctorTarget): string {
  const scope = target.orgId
    ? `organization ${target.orgId}`
    : target.projectIds.length > 0
      ? `project ${target.projectIds.join(', ')}`
      : 'every visible project';
  return `atlas-jit-connector ${version} doctor: ${target.kind} on ${scope}`;
}

function summary(results: readonly CheckResult[]): string {
  const count = (status: CheckStatus): number => results.filter((r) => r.status === status).length;
  const [failed, warned, skipped] = [count('fail'), count('warn'), count('skip')];
  const tally = `${count('pass')} passed, ${failed} failed, ${warned} warning(s), ${skipped} skipped`;
  if (failed > 0) return `${tally}: fix the FAIL lines above, then run doctor again.`;
  // A skipped check proved nothing (e.g. no control plane configured): "ready" covers only the rest.
  const caveats = [
    ...(warned > 0 ? ['read the WARN lines'] : []),
    ...(skipped > 0 ? ['the SKIP lines were not checked'] : []),
  ];
  return caveats.length > 0 ? `${tally}: ready, but ${caveats.join(' and ')}.` : `${tally}: ready.`;
}
