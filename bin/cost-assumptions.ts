import { CostEstimateOptions } from '../lib';

/**
 * What one run of the reference pipeline is assumed to do, for its cost estimate (`npm run bench` and the report
 * `cdk synth` prints): figures a team replaces with its own measurements.
 */
export const REFERENCE_COST_ASSUMPTIONS: CostEstimateOptions = {
  region: 'us-east-1',
  // The pipeline's deployments create the endpoints: production runs 2 x ml.c6i.large (the production default count);
  // staging is serverless (nothing while idle).
  expectedEndpointInstances: [{ name: 'ProductionEndpoint', instanceType: 'ml.c6i.large', count: 2 }],
  run: {
    // The starter's two candidates are small: a g4dn.xlarge for 15 minutes each.
    training: [
      { name: 'logreg', instanceType: 'g4dn.xlarge', hours: 0.25 },
      { name: 'logreg-l2', instanceType: 'g4dn.xlarge', hours: 0.25 },
    ],
    evaluation: [{ name: 'evaluate', vcpus: 2, memoryGiB: 4, hours: 0.25, tasks: 8 }],
    builds: [
      { project: 'PipelineCheck', minutes: 5 },
      { project: 'PipelineSmokeTraining', minutes: 10 },
      { project: 'TrainingImageBuild', minutes: 10 },
      { project: 'ServingImageBuild', minutes: 15 },
    ],
    stateTransitions: 300,
    pipelineActionMinutes: 240,
  },
  // Both candidates run on the one training job definition: the worst case counts each.
  jobCopies: { Train: 2 },
};
