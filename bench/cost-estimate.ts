/**
 * The reference app's cost estimate, printed by `npm run bench` (and runnable alone): synthesized in-process without
 * the compliance packs, whose findings are the nag tests' business, not the estimate's.
 */
import { App } from 'aws-cdk-lib';
import { MlOpsReferenceStack } from '../bin/mlops-reference-stack';
import { CostEstimator, CostTable } from '../lib';

const app = new App();
const stack = new MlOpsReferenceStack(app, 'MlOpsReference');
const template = app.synth().getStackArtifact(stack.artifactId).template;

// What one run of the reference pipeline is assumed to do (figures a team replaces with its own).
const estimate = CostEstimator.fromTemplate(template, {
  region: 'us-east-1',
  // The pipeline's deployment creates the endpoints: production runs 2 x ml.c6i.large (the production default count);
  // staging is serverless (nothing while idle).
  expectedEndpointInstances: [{ name: 'ProductionEndpoint', instanceType: 'ml.c6i.large', count: 2 }],
  run: {
    training: [
      { name: 'xgboost', instanceType: 'g5.xlarge', hours: 1 },
      { name: 'mlp', instanceType: 'g5.2xlarge', hours: 2 },
    ],
    evaluation: [{ name: 'evaluate', vcpus: 2, memoryGiB: 4, hours: 0.25, tasks: 8 }],
    builds: [
      { project: 'PipelineCheck', minutes: 5 },
      { project: 'PipelineSmokeTraining', minutes: 10 },
      { project: 'ServingImageBuild', minutes: 15 },
    ],
    stateTransitions: 300,
    pipelineActionMinutes: 240,
  },
  // Both candidates run on the training job definition(s): the worst case counts each candidate.
  jobCopies: { Train: 2 },
});
process.stdout.write(CostTable.format(estimate));
