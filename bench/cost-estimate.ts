/**
 * The reference app's cost estimate, printed by `npm run bench` (and runnable alone): synthesized in-process without
 * the compliance packs, whose findings are the nag tests' business, not the estimate's.
 */
import { App } from 'aws-cdk-lib';
import { REFERENCE_COST_ASSUMPTIONS } from '../bin/cost-assumptions';
import { MlOpsReferenceStack } from '../bin/mlops-reference-stack';
import { CostEstimator, CostTable } from '../lib';

const app = new App();
const stack = new MlOpsReferenceStack(app, 'MlOpsReference');
const template = app.synth().getStackArtifact(stack.artifactId).template;

const estimate = CostEstimator.fromTemplate(template, REFERENCE_COST_ASSUMPTIONS);
process.stdout.write(CostTable.format(estimate));
