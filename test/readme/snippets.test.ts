/**
 * Every TypeScript snippet in the README compiles in strict mode and synthesizes, as a user would paste it into a
 * stack: the names a snippet takes as given come from ./fixture.ts, its own `import ... from 'cdk-mlops'` lines
 * are pointed at the library, and each snippet runs in a stack of its own.
 */
import * as fs from 'fs';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ts from 'typescript';
import { readmeFixture } from './fixture';
import * as library from '../../lib';

const ROOT = path.resolve(__dirname, '../..');
const OUT = path.join(ROOT, '.readme-snippets');
const README = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
const FIXTURE_NAMES = Object.keys(readmeFixture(new Stack(new App(), 'Names')));

/** The aws-cdk-lib names and modules a snippet may use without importing them. */
const CDK_PRELUDE = [
  "import { App, CfnParameter, Duration, RemovalPolicy, Size, Stack, Stage } from 'aws-cdk-lib';",
  ...['s3', 'kms', 'ecs', 'iam', 'cloudwatch', 'lambda', 'sns', 'codebuild', 'logs', 'ec2', 'sfn:aws-stepfunctions']
    .map((m) => { const [name, module] = m.split(':'); return `import * as ${name} from 'aws-cdk-lib/aws-${(module ?? name).replace(/^aws-/, '')}';`; }),
];

interface Snippet { readonly index: number; readonly line: number; readonly code: string }

function snippets(): Snippet[] {
  const found: Snippet[] = [];
  const fence = /^```ts\n([\s\S]*?)^```/gm;
  for (let m = fence.exec(README); m; m = fence.exec(README)) {
    found.push({ index: found.length + 1, line: README.slice(0, m.index).split('\n').length, code: m[1] });
  }
  return found;
}

function moduleFor(snippet: Snippet): string {
  const own: string[] = [];
  const body = snippet.code.replace(/^import \{([^}]*)\} from 'cdk-mlops';\n/gm, (_all, names: string) => {
    own.push(...names.split(',').map((n) => n.trim()).filter(Boolean));
    return '';
  });
  const given = Object.keys(library).filter((name) => !own.includes(name));
  const lib = path.relative(OUT, path.join(ROOT, 'lib')).split(path.sep).join('/');
  return [
    ...CDK_PRELUDE,
    `import { ${[...given, ...own].join(', ')} } from '${lib}';`,
    `import { ReadmeFixture } from '${path.relative(OUT, path.join(__dirname, 'fixture')).split(path.sep).join('/')}';`,
    '',
    `// README.md line ${snippet.line}`,
    'export function snippet(this: Stack, fixture: ReadmeFixture): void {',
    `  const { ${FIXTURE_NAMES.join(', ')} } = fixture;`,
    '  {',
    body.split('\n').map((l) => `    ${l}`).join('\n'),
    '  }',
    '}',
    '',
  ].join('\n');
}

const SNIPPETS = snippets();
const FILES = SNIPPETS.map((s) => path.join(OUT, `snippet-${s.index}.ts`));

beforeAll(() => {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  SNIPPETS.forEach((s, i) => fs.writeFileSync(FILES[i], moduleFor(s)));
});

test('the README has TypeScript snippets', () => {
  expect(SNIPPETS.length).toBeGreaterThanOrEqual(5);
});

test('every snippet compiles in strict mode', () => {
  const program = ts.createProgram(FILES, {
    strict: true,
    noImplicitAny: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.CommonJS,
    moduleResolution: ts.ModuleResolutionKind.Node10,
    esModuleInterop: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
  });
  const problems = ts.getPreEmitDiagnostics(program)
    .filter((d) => d.file && FILES.includes(path.resolve(d.file.fileName)))
    .map((d) => {
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      const source = d.file!.text.split('\n');
      const readmeLine = Number(/README.md line (\d+)/.exec(d.file!.text)![1]) + line - source.findIndex((l) => l === '  {');
      return `README.md:${readmeLine}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
    });
  expect(problems).toEqual([]);
}, 120_000);

test.each(SNIPPETS.map((s, i) => [s.line, i] as [number, number]))('the snippet at README.md line %d synthesizes', (_line, i) => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { snippet } = require(FILES[i]);
  const stack = new Stack(new App(), `Snippet${i + 1}`);
  snippet.call(stack, readmeFixture(stack));
  expect(() => Template.fromStack(stack)).not.toThrow();
});
