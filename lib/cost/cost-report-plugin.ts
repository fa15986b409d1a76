import * as fs from 'fs';
import * as path from 'path';
import { IPolicyValidationContextBeta1, IPolicyValidationPluginBeta1, PolicyValidationPluginReportBeta1 } from 'aws-cdk-lib';
import { CostEstimateOptions, CostEstimator } from './cost-estimate';
import { CostTable } from './cost-table';

export interface CostReportPluginProps extends CostEstimateOptions {
  /**
   * Print the table of each stack on stderr during synth.
   * @default true
   */
  readonly print?: boolean;
}

/**
 * Reports what each synthesized stack costs, during `cdk synth`, and never fails it: writes
 * `<stack>.cost-estimate.json` and `<stack>.cost-estimate.txt` into the cloud assembly (`cdk.out`) and prints the
 * table. Add it as aws-cdk-lib validation plugins are added: `Validations.of(app).addPlugins(new CostReportPlugin())`.
 * It reports no violation, so it never turns a synth red; an estimate that cannot be made is printed as such.
 */
export class CostReportPlugin implements IPolicyValidationPluginBeta1 {
  public readonly name: string = 'cdk-mlops-cost-estimate';
  public readonly ruleIds?: string[] = [];

  constructor(private readonly props: CostReportPluginProps = {}) {}

  public validate(context: IPolicyValidationContextBeta1): PolicyValidationPluginReportBeta1 {
    for (const templatePath of context.templatePaths) {
      const stack = path.basename(templatePath).replace(/\.template\.json$/, '');
      try {
        const template = JSON.parse(fs.readFileSync(templatePath, 'utf-8'));
        const estimate = CostEstimator.fromTemplate(template, this.props);
        const text = CostTable.format(estimate);
        const dir = path.dirname(templatePath);
        fs.writeFileSync(path.join(dir, `${stack}.cost-estimate.json`), JSON.stringify(estimate, undefined, 2));
        fs.writeFileSync(path.join(dir, `${stack}.cost-estimate.txt`), text);
        if (this.props.print ?? true) process.stderr.write(`\n${stack}\n${text}`);
      } catch (error) {
        // Reporting only: a failed estimate must not fail the synth.
        process.stderr.write(`cdk-mlops cost estimate of ${stack} failed: ${(error as Error).message}\n`);
      }
    }
    return { success: true, violations: [] };
  }
}
