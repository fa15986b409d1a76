import * as fs from 'fs';
import * as path from 'path';
import * as ts from 'typescript';
import { REASONS } from '../../lib/private/nag-reasons';

// The library's sources as the compiler sees them: every acknowledgement call and catalogue use, with types.
const ROOT = path.resolve(__dirname, '../..');
const LIB = path.join(ROOT, 'lib');
const CATALOGUE = path.join(LIB, 'private', 'nag-reasons.ts');
// A file that does not exist on disk: a reason written at a call site, which the catalogue's type must refuse.
const LITERAL_PROBE = path.join(LIB, 'private', 'literal-reason-probe.ts');
const LITERAL_PROBE_TEXT = [
  "import { acknowledge } from './acknowledge';",
  "import { IConstruct } from 'constructs';",
  'declare const scope: IConstruct;',
  "acknowledge(scope, { 'AwsSolutions-S1': 'A reason written at the call site.' });",
].join('\n');

function libFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return libFiles(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

function createProgram(): ts.Program {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(ROOT, 'tsconfig.json'), { noEmit: true }, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n')); },
  })!;
  const host = ts.createCompilerHost(config.options);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (file, language, ...rest) => path.resolve(file) === LITERAL_PROBE
    ? ts.createSourceFile(file, LITERAL_PROBE_TEXT, language)
    : getSourceFile.call(host, file, language, ...rest);
  const fileExists = host.fileExists;
  host.fileExists = (file) => path.resolve(file) === LITERAL_PROBE || fileExists.call(host, file);
  return ts.createProgram({ rootNames: [...libFiles(LIB), LITERAL_PROBE], options: config.options, host });
}

const program = createProgram();
const checker = program.getTypeChecker();
const sources = program.getSourceFiles()
  .filter((f) => path.resolve(f.fileName).startsWith(LIB + path.sep) && path.resolve(f.fileName) !== LITERAL_PROBE);

function where(node: ts.Node): string {
  const file = node.getSourceFile();
  const { line } = file.getLineAndCharacterOfPosition(node.getStart());
  return `${path.relative(ROOT, file.fileName)}:${line + 1}`;
}

function visit(node: ts.Node, fn: (n: ts.Node) => void): void {
  fn(node);
  node.forEachChild((child) => visit(child, fn));
}

const BRAND = 'fromNagReasonCatalogue';

/** Whether a compiler flag set (of a type or a symbol) holds `flag`. */
function hasFlag(flags: number, flag: number): boolean {
  // eslint-disable-next-line no-bitwise
  return (flags & flag) !== 0;
}

/** Whether a type is, or holds (in a record, an array or an object's properties), a catalogue reason. */
function holdsReason(type: ts.Type, depth = 0): boolean {
  if (depth > 3) return false;
  if (type.getProperty(BRAND) && !hasFlag(type.flags, ts.TypeFlags.Any)) return true;
  if (type.isUnionOrIntersection()) return type.types.some((t) => holdsReason(t, depth + 1));
  if (checker.isArrayType(type)) return holdsReason(checker.getTypeArguments(type as ts.TypeReference)[0], depth + 1);
  const index = type.getStringIndexType();
  if (index && holdsReason(index, depth + 1)) return true;
  return type.getProperties().some((p) => p.valueDeclaration !== undefined && holdsReason(checker.getTypeOfSymbol(p), depth + 1));
}

/** Every argument of a call given to a parameter that takes catalogue reasons. */
function reasonArguments(): ts.Expression[] {
  const found: ts.Expression[] = [];
  for (const source of sources) {
    visit(source, (node) => {
      if (!ts.isCallExpression(node)) return;
      const signature = checker.getResolvedSignature(node);
      if (!signature) return;
      node.arguments.forEach((argument, i) => {
        const parameter = signature.parameters[Math.min(i, signature.parameters.length - 1)];
        if (parameter && holdsReason(checker.getTypeOfSymbolAtLocation(parameter, node))) found.push(argument);
      });
    });
  }
  return found;
}

/**
 * The strings written in an argument where a reason is expected: literals, templates and concatenations whose
 * contextual type is a reason. Finding ids (property names), patterns and names given to catalogue functions are not.
 */
function literalReasons(argument: ts.Expression): ts.Node[] {
  const literals: ts.Node[] = [];
  const walk = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node)) return walk(node.initializer);
    const written = ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateExpression(node)
      || (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken);
    if (written) {
      const expected = checker.getContextualType(node as ts.Expression);
      if (expected && holdsReason(expected)) literals.push(node);
      return;
    }
    node.forEachChild(walk);
  };
  walk(argument);
  return literals;
}

/** The catalogue's entries as `group.name`, each with its text (a function's with placeholders for its names). */
function catalogueEntries(): Array<[string, string]> {
  return Object.entries(REASONS).flatMap(([group, entries]) => Object.entries(entries).map(([name, entry]): [string, string] => {
    const text = typeof entry === 'function' ? (entry as (...names: string[]) => string)(...Array(entry.length).fill('NAME')) : entry;
    return [`${group}.${name}`, text];
  }));
}

describe('the reason catalogue (lib/private/nag-reasons.ts)', () => {
  test('the library compiles with it: no reason given outside the catalogue is accepted', () => {
    const refused = ts.getPreEmitDiagnostics(program)
      .filter((d) => d.file && path.resolve(d.file.fileName) !== LITERAL_PROBE)
      .map((d) => `${path.relative(ROOT, d.file!.fileName)}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`)
      .filter((message) => /NagReason|WildcardReason/.test(message));
    expect(refused).toEqual([]);
  });

  test('a reason written as a string literal at a call site does not compile', () => {
    const probe = program.getSourceFile(LITERAL_PROBE)!;
    const messages = ts.getPreEmitDiagnostics(program, probe).map((d) => ts.flattenDiagnosticMessageText(d.messageText, ' '));
    expect(messages).toEqual([expect.stringMatching(/Type 'string' is not assignable to type 'NagReason'/)]);
  });

  test('no acknowledgement or exemption in lib/ is given a string literal as a reason', () => {
    const args = reasonArguments();
    // The scan finds the calls through their parameters' types: every helper that takes reasons is among them.
    const callees = new Set(args.map((a) => (a.parent as ts.CallExpression).expression.getText().replace(/^.*\./, '')));
    expect([...callees]).toEqual(expect.arrayContaining(['acknowledge', 'acknowledgeNow', 'exemptFromControlTower',
      'acknowledgeHandler', 'acknowledgeGrantWildcards', 'inCompliancePacks', 'acknowledgePolicy']));
    const literals = args.flatMap(literalReasons).map((l) => `${where(l)} ${l.getText().slice(0, 60)}`);
    expect(literals).toEqual([]);
  });

  test('only the catalogue turns a string into a reason, and no reason argument is typed any', () => {
    const casts: string[] = [];
    for (const source of sources) {
      if (path.resolve(source.fileName) === CATALOGUE) continue;
      visit(source, (node) => {
        if ((ts.isAsExpression(node) || ts.isTypeAssertionExpression(node)) && /NagReason|fromNagReasonCatalogue/.test(node.type.getText())) {
          casts.push(where(node));
        }
      });
    }
    const untyped = reasonArguments().filter((a) => hasFlag(checker.getTypeAtLocation(a).flags, ts.TypeFlags.Any)).map(where);
    expect({ casts, untyped }).toEqual({ casts: [], untyped: [] });
  });

  test('each reason is written once: no two entries have the same text', () => {
    const byText = new Map<string, string[]>();
    for (const [name, text] of catalogueEntries()) {
      const key = text.toLowerCase().replace(/\s+/g, ' ').trim();
      byText.set(key, [...(byText.get(key) ?? []), name]);
    }
    expect([...byText.values()].filter((names) => names.length > 1)).toEqual([]);
  });

  test('every entry is a sentence a reviewer can read', () => {
    const bad = catalogueEntries().filter(([, text]) => !/^\S.{20,}[.)]$/s.test(text)).map(([name]) => name);
    expect(bad).toEqual([]);
  });

  test('every entry is used in lib/ (no dead reasons)', () => {
    const used = new Set<string>();
    for (const source of sources) {
      if (path.resolve(source.fileName) === CATALOGUE) continue;
      visit(source, (node) => {
        // REASONS.<group>.<name>, whatever the import is called locally.
        if (!ts.isPropertyAccessExpression(node) || !ts.isPropertyAccessExpression(node.expression)) return;
        const root = node.expression.expression;
        if (!ts.isIdentifier(root)) return;
        let symbol = checker.getSymbolAtLocation(root);
        if (symbol && hasFlag(symbol.flags, ts.SymbolFlags.Alias)) symbol = checker.getAliasedSymbol(symbol);
        const declaration = symbol?.valueDeclaration;
        if (declaration && path.resolve(declaration.getSourceFile().fileName) === CATALOGUE && symbol!.name === 'REASONS') {
          used.add(`${node.expression.name.text}.${node.name.text}`);
        }
      });
    }
    const unused = catalogueEntries().map(([name]) => name).filter((name) => !used.has(name));
    expect(unused).toEqual([]);
  });
});
