/**
 * `npm run bench`: prints the figures the README's performance section quotes. Figures, not pass/fail: a
 * benchmark on a shared runner is not a test.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

const root = path.resolve(__dirname, '..');
const RUNS = 5;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function timeMs(command: string, args: string[], env: NodeJS.ProcessEnv = {}): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(command, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'pipe' });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.status !== 0 && !args.includes('bench/one-bucket-app.ts')) {
    throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr.toString()}`);
  }
  return elapsed;
}

/** `defaultValidation: false` turns off aws-cdk-lib's built-in CloudFormation template validation (CDK_VALIDATION). */
function synthMs(app: string, defaultValidation = true): number {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-bench-'));
  try {
    // The same runner cdk.json uses, without the CLI around it.
    return timeMs('npx', ['ts-node', '--prefer-ts-exts', '-T', '-P', 'bin/tsconfig.json', app], {
      CDK_OUTDIR: outdir,
      ...(defaultValidation ? {} : { CDK_VALIDATION: 'false' }),
    });
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

function coldInitMs(bundle: string): number {
  const script = `const t = process.hrtime.bigint(); require(${JSON.stringify(bundle)}); ` +
    'process.stdout.write(String(Number(process.hrtime.bigint() - t) / 1e6));';
  return Number(execFileSync(process.execPath, ['--no-warnings', '-e', script], { cwd: root }).toString());
}

function row(label: string, value: string): void {
  console.log(`${label.padEnd(44)} ${value}`);
}

execFileSync('npx', ['projen', 'bundle'], { cwd: root, stdio: 'ignore' });

console.log(`cdk-mlops benchmark: ${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ` +
  `${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}, ${RUNS} runs each (median)\n`);

const reference = median(Array.from({ length: RUNS }, () => synthMs('bin/mlops-reference.ts')));
const baseline = median(Array.from({ length: RUNS }, () => synthMs('bench/one-bucket-app.ts')));
row('synth, reference app (5 nag packs)', `${reference.toFixed(0)} ms`);
row('synth, one-bucket app (5 nag packs)', `${baseline.toFixed(0)} ms`);
row('ratio reference / one bucket (target <= 1.5)', (reference / baseline).toFixed(2));
// How much of it is aws-cdk-lib's own CloudFormation validation (a WebAssembly engine, on by default).
const referenceBare = median(Array.from({ length: RUNS }, () => synthMs('bin/mlops-reference.ts', false)));
const baselineBare = median(Array.from({ length: RUNS }, () => synthMs('bench/one-bucket-app.ts', false)));
row('synth, reference app, CDK_VALIDATION=false', `${referenceBare.toFixed(0)} ms`);
row('synth, one-bucket app, CDK_VALIDATION=false', `${baselineBare.toFixed(0)} ms`);

const assets = path.join(root, 'assets', 'lambda');
for (const dir of fs.readdirSync(assets).sort()) {
  const bundle = path.join(assets, dir, 'index.js');
  const kb = fs.statSync(bundle).size / 1024;
  const init = median(Array.from({ length: RUNS }, () => coldInitMs(bundle)));
  row(`handler ${dir.replace(/\.lambda$/, '')}: bundle (target <= 100 KB)`, `${kb.toFixed(1)} KB`);
  row(`handler ${dir.replace(/\.lambda$/, '')}: cold init (target <= 100 ms)`, `${init.toFixed(1)} ms`);
}

const tests = timeMs('npx', ['jest', '--silent', '--coverage=false']);
row('test suite (jest, one run)', `${(tests / 1000).toFixed(1)} s`);

// The reference app's cost estimate (idle, serving, per run, worst case), from the price table shipped with the library.
console.log('\n' + execFileSync('npx', ['ts-node', '--prefer-ts-exts', '-T', '-P', 'bin/tsconfig.json', 'bench/cost-estimate.ts'],
  { cwd: root }).toString());
