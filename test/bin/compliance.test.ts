import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { failOnValidationReport } from '../../bin/compliance';

/** Runs failOnValidationReport on a report in a fresh process and returns its exit code. */
function exitCodeFor(report: unknown): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-report-'));
  try {
    if (report !== undefined) fs.writeFileSync(path.join(dir, 'validation-report.json'), JSON.stringify(report));
    const script = `require(${JSON.stringify(path.join(__dirname, '../../bin/compliance.ts'))}).failOnValidationReport({ directory: ${JSON.stringify(dir)} })`;
    try {
      execFileSync(process.execPath, ['-r', require.resolve('ts-node/register/transpile-only'), '-e', script], { stdio: 'pipe' });
      return 0;
    } catch (error) {
      return (error as { status: number }).status;
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('a validation report with a failure (as a nested Stage leaves it, with cdk synth exiting 0) makes the app exit 1', () => {
  expect(exitCodeFor({ pluginReports: [{ pluginName: 'AwsSolutions', conclusion: 'failure', violations: [{ ruleName: 'AwsSolutions-S1' }] }] })).toBe(1);
});

test('a clean report, or none, lets the app go on', () => {
  expect(exitCodeFor({ pluginReports: [{ pluginName: 'AwsSolutions', conclusion: 'success', violations: [] }] })).toBe(0);
  expect(exitCodeFor(undefined)).toBe(0);
  expect(typeof failOnValidationReport).toBe('function');
});
