import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * No module-level mutable state under src/ (STYLE habit 9): state lives in instances made by the
 * composition root. A top-level `let`/`var`, or a top-level `const` holding a fresh Map, Set,
 * WeakMap, WeakSet, array or object that is not declared read-only, is a finding. Test files are
 * exempt (they build their own fixtures at module level); test kits live in test/kits/.
 */

const srcRoot = path.resolve(import.meta.dirname, '../../src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    const exempt = full.endsWith('.test.ts');
    return entry.name.endsWith('.ts') && !exempt ? [full] : [];
  });
}

const mutableConstructors: ReadonlySet<string> = new Set(['Map', 'Set', 'WeakMap', 'WeakSet', 'Array']);

function unwrap(node: ts.Expression): ts.Expression {
  return ts.isSatisfiesExpression(node) || ts.isParenthesizedExpression(node)
    ? unwrap(node.expression)
    : node;
}

/** Why a top-level const initializer is mutable state, or undefined when it is not. */
function mutableInitializer(declaration: ts.VariableDeclaration): string | undefined {
  const init = declaration.initializer && unwrap(declaration.initializer);
  if (!init) return undefined;
  const typeText = declaration.type?.getText() ?? '';
  const readonlyType = /^Readonly|^readonly /.test(typeText);
  if (ts.isNewExpression(init) && ts.isIdentifier(init.expression)) {
    const name = init.expression.text;
    if (name.startsWith('Weak')) return `a module-level ${name}`;
    if (mutableConstructors.has(name) && !readonlyType) return `a module-level ${name} not typed Readonly`;
  }
  const literal = ts.isArrayLiteralExpression(init) || ts.isObjectLiteralExpression(init);
  if (literal && init.getChildCount() > 0 && isEmptyLiteral(init) && !readonlyType) {
    return 'a module-level empty collection (filled later?)';
  }
  return undefined;
}

function isEmptyLiteral(node: ts.ArrayLiteralExpression | ts.ObjectLiteralExpression): boolean {
  return ts.isArrayLiteralExpression(node) ? node.elements.length === 0 : node.properties.length === 0;
}

export function findModuleState(fileName: string, text: string): string[] {
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const findings: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isVariableStatement(statement)) continue;
    const list = statement.declarationList;
    const isConst = (list.flags & ts.NodeFlags.Const) !== 0;
    for (const declaration of list.declarations) {
      const where = `${path.relative(srcRoot, fileName)}:${source.getLineAndCharacterOfPosition(declaration.getStart()).line + 1}`;
      const name = declaration.name.getText();
      if (!isConst) findings.push(`${where} ${name}: a module-level let/var`);
      const why = isConst ? mutableInitializer(declaration) : undefined;
      if (why) findings.push(`${where} ${name}: ${why}`);
    }
  }
  return findings;
}

describe('module state', () => {
  it.each([
    { code: 'let count = 0;', finding: 'a module-level let/var' },
    { code: 'const cache = new WeakMap<object, string>();', finding: 'a module-level WeakMap' },
    { code: 'const seen = new Map<string, number>();', finding: 'a module-level Map not typed Readonly' },
    { code: 'const queue: string[] = [];', finding: 'a module-level empty collection' },
  ])('flags $finding', ({ code, finding }) => {
    expect(findModuleState(path.join(srcRoot, 'x.ts'), code).join('\n')).toContain(finding);
  });

  it.each([
    'const roles: ReadonlySet<string> = new Set(["read"]);',
    'export const kinds = ["a", "b"] as const;',
    'export function make() { let n = 0; const m = new Map(); return () => (n += m.size); }',
  ])('accepts %s', (code) => {
    expect(findModuleState(path.join(srcRoot, 'x.ts'), code)).toEqual([]);
  });

  it('finds no module-level mutable binding anywhere under src/', () => {
    const findings = sourceFiles(srcRoot).flatMap((file) =>
      findModuleState(file, readFileSync(file, 'utf8')),
    );
    expect(findings).toEqual([]);
  });
});
