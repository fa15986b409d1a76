import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as ts from 'typescript';
import { readmeFixture } from '../readme/fixture';

// jsii carries classes, interfaces and enums into the other languages; a free function, a constant or a type alias
// exported from lib/index.ts reaches TypeScript users only, and an internal name exported there leaks to them.
const ROOT = path.join(__dirname, '..', '..');
const INDEX = path.join(ROOT, 'lib', 'index.ts');

interface PublicExport {
  readonly name: string;
  readonly kind: string;
  readonly file: string;
  readonly internal: boolean;
  /** The class's declaration, when the export is a class. */
  readonly classDeclaration?: ts.ClassDeclaration;
}

const isInternal = (node: ts.Node) => ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'internal');
const hasModifier = (node: ts.Node, kind: ts.SyntaxKind) =>
  ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);

function publicExports(): PublicExport[] {
  const options = { target: ts.ScriptTarget.ES2020, module: ts.ModuleKind.CommonJS, skipLibCheck: true, noEmit: true };
  const program = ts.createProgram([INDEX], options);
  const checker = program.getTypeChecker();
  const module = checker.getSymbolAtLocation(program.getSourceFile(INDEX)!)!;
  return checker.getExportsOfModule(module).map((exported) => {
    // eslint-disable-next-line no-bitwise
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const declaration = symbol.declarations![0];
    const internal = isInternal(declaration) || (ts.isVariableDeclaration(declaration) && isInternal(declaration.parent.parent));
    return {
      name: exported.name,
      kind: ts.SyntaxKind[declaration.kind],
      file: path.relative(ROOT, declaration.getSourceFile().fileName),
      internal,
      ...(ts.isClassDeclaration(declaration) ? { classDeclaration: declaration } : {}),
    };
  });
}

/** The names of a class's public, non-internal instance members; `constructor` when its constructor is public. */
function publicInstanceMembers(declaration: ts.ClassDeclaration): string[] {
  const hidden = (m: ts.ClassElement) =>
    hasModifier(m, ts.SyntaxKind.PrivateKeyword) || hasModifier(m, ts.SyntaxKind.ProtectedKeyword) || isInternal(m);
  const names: string[] = [];
  const constructors = declaration.members.filter(ts.isConstructorDeclaration);
  if (constructors.length === 0 || constructors.some((c) => !hidden(c))) names.push('constructor');
  for (const member of declaration.members) {
    if (ts.isConstructorDeclaration(member)) {
      for (const p of member.parameters) {
        if (hasModifier(p, ts.SyntaxKind.PublicKeyword)) names.push(p.name.getText());
      }
    } else if (!hasModifier(member, ts.SyntaxKind.StaticKeyword) && !hidden(member) && member.name) {
      names.push(member.name.getText());
    }
  }
  return names;
}

const JSII_KINDS = ['ClassDeclaration', 'InterfaceDeclaration', 'EnumDeclaration'];

describe('the public API (lib/index.ts)', () => {
  const exports = publicExports();

  test('is found', () => {
    expect(exports.map((e) => e.name)).toEqual(expect.arrayContaining(['MlPipeline', 'InstanceCatalog', 'QualityGateRules', 'DeploymentPolicy']));
  });

  test('exports only what jsii carries to every language: classes, interfaces and enums', () => {
    expect(exports.filter((e) => !JSII_KINDS.includes(e.kind)).map((e) => `${e.name} (${e.kind}, ${e.file})`)).toEqual([]);
  });

  test('exports nothing internal: no @internal declaration, no name starting with "_"', () => {
    expect(exports.filter((e) => e.internal || e.name.startsWith('_')).map((e) => `${e.name} (${e.file})`)).toEqual([]);
  });

  test('exports nothing from a private module', () => {
    expect(exports.filter((e) => e.file.split(path.sep).includes('private')).map((e) => `${e.name} (${e.file})`)).toEqual([]);
  });

  test('a class of static members only cannot be instantiated', () => {
    const staticOnly = exports.filter((e) => e.classDeclaration !== undefined && !e.classDeclaration.heritageClauses
      && e.classDeclaration.members.every((m) => ts.isConstructorDeclaration(m) || hasModifier(m, ts.SyntaxKind.StaticKeyword)));
    expect(staticOnly.map((e) => e.name)).toEqual(expect.arrayContaining(['PipelineVariables', 'InstanceCatalog', 'PriceTables']));
    expect(staticOnly.filter((e) => publicInstanceMembers(e.classDeclaration!).includes('constructor')).map((e) => e.name)).toEqual([]);
  });

  test.each(['DeploymentPolicy', 'PipelineSource'])('%s is made by its static factories and shows nothing of its inside', (name) => {
    const declaration = exports.find((e) => e.name === name)!.classDeclaration!;
    expect(publicInstanceMembers(declaration)).toEqual([]);
  });
});

// jsii-rosetta compiles every docstring and README example with rosetta/default.ts-fixture around it (CI:
// `npx projen check:rosetta`); an export the fixture does not bind would fail there only once an example uses it.
describe('the examples\' fixture (rosetta/default.ts-fixture)', () => {
  const fixture = ts.createSourceFile('default.ts-fixture', fs.readFileSync(path.join(ROOT, 'rosetta', 'default.ts-fixture'), 'utf8'),
    ts.ScriptTarget.ES2020, true, ts.ScriptKind.TS);
  const values: string[] = [];
  const types: string[] = [];
  const declared: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isVariableDeclaration(node) && ts.isObjectBindingPattern(node.name) && node.initializer?.getText() === 'mlops') {
      values.push(...node.name.elements.map((e) => e.name.getText()));
    } else if (ts.isTypeAliasDeclaration(node) && node.type.getText() === `mlops.${node.name.text}`) {
      types.push(node.name.text);
    } else if (ts.isVariableStatement(node) && hasModifier(node, ts.SyntaxKind.DeclareKeyword)) {
      declared.push(...node.declarationList.declarations.map((d) => d.name.getText()));
    }
    ts.forEachChild(node, visit);
  };
  visit(fixture);
  const exports = publicExports();

  test('binds the value of every exported class and enum, and the type of every export', () => {
    expect(values.sort()).toEqual(exports.filter((e) => e.kind !== 'InterfaceDeclaration').map((e) => e.name).sort());
    expect(types.sort()).toEqual(exports.map((e) => e.name).sort());
  });

  test('declares every name the README snippets take as given', () => {
    const given = Object.keys(readmeFixture(new Stack(new App(), 'Names')));
    expect(given.filter((name) => !declared.includes(name))).toEqual([]);
  });
});

