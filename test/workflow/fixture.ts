import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import {
  BatchNetwork,
  BucketPurpose,
  DataVersionSnapshot,
  MlJobDefinition,
  ModelImageRepository,
  ModelPackageGroup,
  QualityGateRules,
  SpotCpuQueue,
  SpotGpuQueue,
  TrainingCandidate,
  TrainingWorkflow,
  TrainingWorkflowProps,
  VersionedBucket,
} from '../../lib';

export const GATE: QualityGateRules = {
  primaryMetric: 'auc',
  thresholds: [{ metric: 'auc', min: 0.8 }, { metric: 'logloss', max: 0.5 }],
  fairness: [{ metric: 'auc', maxGap: 0.05 }],
  latency: { max: Duration.millis(100) },
  championMargin: 0.01,
};

/**
 * A stack with everything a TrainingWorkflow needs: buckets, registry, network, queues, two candidates (or those
 * `candidates` makes).
 */
export function workflowStack(
  overrides: Partial<TrainingWorkflowProps> = {},
  app: App = new App(),
  candidates?: (stack: Stack, queues: { gpus: SpotGpuQueue; cpus: SpotCpuQueue }) => TrainingCandidate[],
) {
  const stack = new Stack(app, 'Test');
  const data = new VersionedBucket(stack, 'Data', { purpose: BucketPurpose.DATA });
  const models = new VersionedBucket(stack, 'Models', { purpose: BucketPurpose.MODELS });
  const checkpoints = new VersionedBucket(stack, 'Checkpoints', { purpose: BucketPurpose.CHECKPOINTS });
  const group = new ModelPackageGroup(stack, 'Registry', { modelPackageGroupName: 'fraud' });
  const trainingImages = new ModelImageRepository(stack, 'TrainingImages', { repositoryName: 'fraud/training' });
  const network = new BatchNetwork(stack, 'Network');
  const gpus = new SpotGpuQueue(stack, 'Gpus', { network });
  const cpus = new SpotCpuQueue(stack, 'Cpus', { network });
  // A placeholder: the jobs run revisions with the execution's image (JobDefinitionRevisions).
  const image = ecs.ContainerImage.fromRegistry('123456789012.dkr.ecr.us-east-1.amazonaws.com/train:v1');
  const xgb = MlJobDefinition.training(stack, 'Xgb', { queue: gpus, image, reads: [{ bucket: data, prefix: 'datasets/' }] });
  const mlp = MlJobDefinition.training(stack, 'Mlp', { queue: gpus, image, gpus: 4, vcpus: 48, memory: Size.gibibytes(160) });
  const evaluate = MlJobDefinition.evaluation(stack, 'Evaluate', {
    queue: cpus, image, shards: 4, vcpus: 2, memory: Size.gibibytes(4), reads: [{ bucket: data, prefix: 'datasets/' }],
  });
  const snapshot = new DataVersionSnapshot(stack, 'Snapshot', { bucket: data, dataPrefix: 'datasets/' });
  const workflow = new TrainingWorkflow(stack, 'Training', {
    candidates: candidates ? candidates(stack, { gpus, cpus }) : [
      { name: 'xgb', trainingJob: xgb, hyperparameters: { depth: '6', eta: '0.1' } },
      { name: 'mlp', trainingJob: mlp, hyperparameters: { lr: '0.001' } },
    ],
    evaluationJob: evaluate,
    modelPackageGroup: group,
    trainingImageRepository: trainingImages,
    dataBucket: data,
    modelBucket: models,
    checkpointBucket: checkpoints,
    dataSnapshot: snapshot,
    inferenceImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:base-1',
    gate: GATE,
    ...overrides,
  });
  return { stack, workflow, data, models, checkpoints, group, trainingImages, gpus, cpus, xgb, mlp, evaluate, snapshot };
}

/**
 * A training-cache handler for the interpreter: `candidate` has a cached, evaluated result (an earlier model package);
 * every other candidate misses.
 */
export function cachedResultOf(candidate: string) {
  return async (p: { candidate: string; configHash: string }) => (p.candidate === candidate ? {
    hit: true,
    cacheKey: `key-${candidate}`,
    outcome: {
      candidate,
      configHash: p.configHash,
      status: 'CACHED',
      metrics: { auc: 0.92, logloss: 0.3 },
      slices: { 'region=eu': { auc: 0.92 }, 'region=us': { auc: 0.9 } },
      latencyMs: { p99: 50 },
      modelPackageArn: 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3',
      modelDataUrl: `s3://models/runs/old/${candidate}/model.tar.gz`,
    },
  } : { hit: false, cacheKey: `key-${p.candidate}` });
}
