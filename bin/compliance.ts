import * as fs from 'fs';
import * as path from 'path';
import { App, Validations } from 'aws-cdk-lib';
import {
  AwsSolutionsChecks,
  HIPAASecurityChecks,
  NIST80053R5Checks,
  PCIDSS321Checks,
  ServerlessChecks,
} from 'cdk-nag';

/** The five cdk-nag packs the reference app must pass: any unacknowledged finding fails synth. */
export function applyCompliancePacks(app: App): void {
  Validations.of(app).addPlugins(
    new AwsSolutionsChecks(app),
    new HIPAASecurityChecks(app),
    new NIST80053R5Checks(app),
    new PCIDSS321Checks(app),
    new ServerlessChecks(app),
  );
}

/**
 * Exits non-zero when the synthesized assembly's validation report holds a failure. `app.synth()` throws on
 * findings in stacks directly under the App, but in a nested `Stage` the CDK CLI only writes the report and
 * `cdk synth` exits 0; reading the report closes that gap in every app shape.
 */
export function failOnValidationReport(assembly: { directory: string }): void {
  const report = path.join(assembly.directory, 'validation-report.json');
  if (!fs.existsSync(report)) return;
  const failed = (JSON.parse(fs.readFileSync(report, 'utf-8')).pluginReports ?? [])
    .filter((r: { conclusion?: string }) => r.conclusion === 'failure')
    .map((r: { pluginName: string }) => r.pluginName);
  if (failed.length > 0) {
    process.stderr.write(`Validation failed (${failed.join(', ')}): see ${report}\n`);
    process.exit(1);
  }
}
