import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CfnGuardValidator } from '@cdklabs/cdk-validator-cfnguard';
import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { applyCompliancePacks } from '../../bin/compliance';
import { CONTROL_TOWER_EXEMPTIONS } from '../../lib/private/acknowledge';

export interface ComplianceOptions {
  /**
   * Also run the AWS Control Tower proactive controls (cfn-guard). A finding counts unless its resource records
   * the rule, with a reason, under the `cdk-mlops:control-tower-exemptions` metadata (exemptFromControlTower).
   */
  readonly controlTower?: boolean;
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
        new CfnGuardValidator({ maxBuffer: 64 * 1024 * 1024 }),
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
    const byPath = new Map<string, IConstruct>(app.node.findAll().map((c) => [c.node.path, c]));
    return report.pluginReports.flatMap((plugin) =>
      plugin.violations.flatMap((v) =>
        (v.violatingConstructs ?? [{}])
          .filter((c) => !isExempt(byPath.get(c.constructPath ?? ''), v.ruleName))
          .map((c) => `${v.ruleName} at ${c.constructPath ?? '?'}`),
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

function isExempt(construct: IConstruct | undefined, rule: string): boolean {
  if (!CfnResource.isCfnResource(construct)) return false;
  const exemptions = construct.getMetadata(CONTROL_TOWER_EXEMPTIONS) as Record<string, string> | undefined;
  return typeof exemptions?.[rule] === 'string' && exemptions[rule].length > 20;
}
