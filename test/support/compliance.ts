import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { applyCompliancePacks } from '../../bin/compliance';

export interface ComplianceOptions {
  /** Also run the AWS Control Tower proactive controls (cfn-guard). */
  readonly controlTower?: boolean;
  /**
   * Control Tower rules switched off, each with the reason: cfn-guard findings cannot be acknowledged on a
   * construct, so elective controls are disabled here, in one visible list.
   */
  readonly electiveControlTowerRules?: Record<string, string>;
}

interface Report {
  pluginReports: Array<{
    pluginName: string;
    violations: Array<{ ruleName: string; violatingConstructs?: Array<{ constructPath?: string }> }>;
  }>;
}

/**
 * Builds a stack in a fresh app with the five cdk-nag packs (and optionally the Control Tower rules), synthesizes
 * it and returns every unacknowledged finding as "rule at construct path". An empty list is a clean bill.
 */
export function complianceFindings(build: (app: App) => void, options: ComplianceOptions = {}): string[] {
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-mlops-nag-'));
  try {
    const app = new App({ outdir });
    build(app);
    applyCompliancePacks(app);
    if (options.controlTower) {
      Validations.of(app).addPlugins(
        new CfnGuardValidator({ disabledRules: Object.keys(options.electiveControlTowerRules ?? {}), maxBuffer: 64 * 1024 * 1024 }),
      );
    }
    try {
      app.synth();
    } catch (error) {
      if (!fs.existsSync(path.join(outdir, 'validation-report.json'))) throw error;
    }
    const reportFile = path.join(outdir, 'validation-report.json');
    if (!fs.existsSync(reportFile)) return [];
    const report = JSON.parse(fs.readFileSync(reportFile, 'utf-8')) as Report;
    return report.pluginReports.flatMap((plugin) =>
      plugin.violations.flatMap((v) =>
        (v.violatingConstructs ?? [{}]).map((c) => `${v.ruleName} at ${c.constructPath ?? '?'}`),
      ),
    );
  } finally {
    fs.rmSync(outdir, { recursive: true, force: true });
  }
}

/** {@link complianceFindings} for constructs built in one fresh stack. */
export function stackFindings(build: (stack: Stack) => void, options: ComplianceOptions = {}): string[] {
  return complianceFindings((app) => build(new Stack(app, 'Test')), options);
}
