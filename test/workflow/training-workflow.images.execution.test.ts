/**
 * What a commit costs on the GPUs: several executions of the synthesized workflow on the real ASL interpreter, one
 * after the other, with the real training-cache, quality-gate and register-model handlers over one model registry
 * (SageMaker and S3 mocked with aws-sdk-client-mock; the registry remembers what each run registered). Only the Batch
 * jobs, the aggregation and prepare-job-definitions are local functions; the latter hands out one revision per image,
 * as the real one does (its own tests are in job-definition-revisions.test.ts).
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  CreateModelPackageCommandInput,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  ListModelPackagesCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { Template } from 'aws-cdk-lib/assertions';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { mockClient } from 'aws-sdk-client-mock';
import { workflowStack } from './fixture';
import { handler as qualityGate } from '../../lambda/quality-gate.lambda';
import { registerModel } from '../../lambda/register-model.lambda';
import { checkTrainingCache } from '../../lambda/training-cache.lambda';
import { MlJobDefinition } from '../../lib';
import { MISSING_IMAGE_ERROR } from '../../lib/workflow/job-definition-revisions';
import { runLocally, TaskHandler } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

// One candidate: the registry keeps only winners, so a workflow's losers are trained again on every run (see the
// report of this change); with one candidate every run's result is in the registry.
const { stack } = workflowStack({}, undefined, (s, { gpus }) => [{
  name: 'xgb',
  trainingJob: MlJobDefinition.training(s, 'Solo', { queue: gpus, image: ecs.ContainerImage.fromRegistry('123456789012.dkr.ecr.us-east-1.amazonaws.com/train:v1') }),
  hyperparameters: { depth: '6' },
}]);
const definition = stateMachineDefinition(stack);
const gateRules = (() => {
  const functions = Template.fromStack(stack).findResources('AWS::Lambda::Function');
  const gate = Object.values(functions).find((f: any) => f.Properties.Environment?.Variables?.GATE_RULES) as any;
  return gate.Properties.Environment.Variables.GATE_RULES as string;
})();

const REPOSITORY = '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud/training';
const IMAGE_A = `${REPOSITORY}@sha256:${'a'.repeat(64)}`;
const IMAGE_B = `${REPOSITORY}@sha256:${'b'.repeat(64)}`;
const DATA_VERSION = { dataVersionId: 'dv-1', manifestUri: 's3://data/data-versions/dv-1.jsonl', prefix: 'datasets/fraud/' };
const GROUP = 'fraud';
const REGISTRATION = {
  modelPackageGroupName: GROUP,
  approvalStatus: 'PendingManualApproval' as const,
  inferenceImageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/serving:base-1',
  contentTypes: ['application/json'],
};

const sagemaker = mockClient(SageMakerClient);
const s3 = mockClient(S3Client);
const sagemakerClient = new SageMakerClient({ region: 'us-east-1' });
const s3Client = new S3Client({ region: 'us-east-1' });

/** The model registry and the model bucket across runs. */
class Registry {
  public readonly packages: CreateModelPackageCommandInput[] = [];
  public readonly objects = new Map<string, string>();
  /** Revisions prepare-job-definitions registered, per image, in order. */
  public readonly revisions: string[] = [];

  constructor() {
    sagemaker.reset();
    s3.reset();
    const arnOf = (i: number) => `arn:aws:sagemaker:us-east-1:123456789012:model-package/${GROUP}/${i + 1}`;
    sagemaker.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupName: GROUP });
    sagemaker.on(ListModelPackagesCommand).callsFake(() => ({
      // Newest first, as the handlers ask for.
      ModelPackageSummaryList: this.packages.map((p, i) => ({
        ModelPackageArn: arnOf(i),
        ModelPackageGroupName: GROUP,
        ModelPackageVersion: i + 1,
        ModelPackageDescription: p.ModelPackageDescription,
        ModelApprovalStatus: p.ModelApprovalStatus,
        ModelPackageStatus: 'Completed',
        CreationTime: new Date(Date.UTC(2026, 10, 23, 10, i)),
      })).reverse(),
    }));
    sagemaker.on(CreateModelPackageCommand).callsFake((input: CreateModelPackageCommandInput) => {
      this.packages.push(input);
      return { ModelPackageArn: arnOf(this.packages.length - 1) };
    });
    sagemaker.on(DescribeModelPackageCommand).callsFake(({ ModelPackageName }: { ModelPackageName: string }) => {
      const i = Number(ModelPackageName.split('/').pop()) - 1;
      const p = this.packages[i];
      return { ...p, ModelPackageArn: arnOf(i), ModelPackageVersion: i + 1 };
    });
    s3.on(GetObjectCommand).callsFake(({ Bucket, Key }: { Bucket: string; Key: string }) => {
      const text = this.objects.get(`s3://${Bucket}/${Key}`);
      if (text === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
      return { Body: { transformToString: async () => text } };
    });
  }

  /** The revision of a job definition for an image: a new one for each new image, as prepare-job-definitions does. */
  public revisionFor(name: string, image: string): string {
    const key = `${name} ${image}`;
    if (!this.revisions.includes(key)) this.revisions.push(key);
    const revision = this.revisions.filter((r) => r.startsWith(`${name} `)).indexOf(key) + 1;
    return `arn:aws:batch:us-east-1:123456789012:job-definition/${name}-img:${revision}`;
  }
}

interface Run { readonly commit: string; readonly trainingImageUri?: string; readonly evaluationImageUri?: string; readonly auc?: number }

/** One execution (one pipeline run): `auc` is what training and evaluation on these images measure. */
async function execute(registry: Registry, run: Run, name: string, handlers: Record<string, TaskHandler> = {}) {
  const input: Record<string, unknown> = { codeVersion: run.commit, dataVersion: DATA_VERSION };
  if (run.trainingImageUri) input.trainingImageUri = run.trainingImageUri;
  if (run.evaluationImageUri) input.evaluationImageUri = run.evaluationImageUri;
  const auc = run.auc ?? 0.93;
  return runLocally(definition, input, {
    'Prepare job definitions': async (p) => {
      const revisionArns = [registry.revisionFor('solo', p.images.training), registry.revisionFor('evaluate', p.images.evaluation)];
      return { revisionArns, bySourceArn: {} };
    },
    'Check training cache': async (p) => checkTrainingCache(sagemakerClient, GROUP, p, s3Client),
    'Train on spot': async (p) => ({ JobId: `${name}-${p.JobName}`, Status: 'SUCCEEDED' }),
    'Evaluate': async (p) => ({ JobId: `${name}-${p.JobName}`, Status: 'SUCCEEDED' }),
    'Aggregate metrics': async (p) => {
      const aggregate = {
        metrics: { auc, logloss: 0.3 },
        slices: { 'region=eu': { auc }, 'region=us': { auc: auc - 0.02 } },
        latencyMs: { p50: 10, p95: 40, p99: 80 },
        shards: 4,
        metricsUri: `${p.evaluationOutputUri}metrics.json`,
      };
      registry.objects.set(aggregate.metricsUri, JSON.stringify(aggregate));
      return aggregate;
    },
    'Find the champion': async () => null,
    'Quality gate': async (p) => {
      process.env.GATE_RULES = gateRules;
      return qualityGate(p);
    },
    'Register the winner': async (p) => registerModel(sagemakerClient, REGISTRATION, p),
    ...handlers,
  }, { executionId: `arn:aws:states:us-east-1:123456789012:execution:training:${name}`, executionName: name });
}

const trainingJobs = (result: { calls: Record<string, any[]> }) => result.calls['Train on spot'] ?? [];
const batchJobs = (result: { calls: Record<string, any[]> }) =>
  ['Train on spot', 'Train on demand', 'Evaluate', 'Evaluate on demand'].flatMap((state) => result.calls[state] ?? []);

test('the same training image and data: a cache hit, no Batch job at all, the registered model reused', async () => {
  const registry = new Registry();
  const first = await execute(registry, { commit: 'c1', trainingImageUri: IMAGE_A }, 'run-1');
  expect(first.error).toBeUndefined();
  expect(trainingJobs(first)).toHaveLength(1);
  expect(registry.packages).toHaveLength(1);

  const again = await execute(registry, { commit: 'c1', trainingImageUri: IMAGE_A }, 'run-2');

  expect(again.error).toBeUndefined();
  expect(batchJobs(again)).toEqual([]);
  expect(again.calls['Aggregate metrics']).toBeUndefined();
  expect(again.output.decision.winner).toMatchObject({ candidate: 'xgb', status: 'CACHED', modelPackageArn: expect.stringMatching(/fraud\/1$/) });
  expect(again.output.registration).toMatchObject({ created: false, modelPackageArn: expect.stringMatching(/fraud\/1$/) });
  expect(registry.packages).toHaveLength(1);
});

test('a cached model still goes through the gate: one that fails a threshold is rejected, and nothing is trained', async () => {
  // GIVEN a package for these exact inputs whose evaluation is below the gate's AUC threshold (0.8), registered
  // when the rules were looser
  const registry = new Registry();
  await registerModel(sagemakerClient, REGISTRATION, {
    winner: {
      candidate: 'xgb',
      configHash: definition.States.Candidates.Result[0].configHash,
      status: 'EVALUATED',
      metrics: { auc: 0.75, logloss: 0.3 },
      metricsUri: 's3://models/evaluations/old/xgb/metrics.json',
      modelDataUrl: 's3://models/runs/old/xgb/model.tar.gz',
    },
    codeVersion: 'c0',
    trainingImageUri: IMAGE_A,
    evaluationImageUri: IMAGE_A,
    dataVersion: DATA_VERSION,
    executionId: 'arn:aws:states:us-east-1:123456789012:execution:training:old',
  });
  registry.objects.set('s3://models/evaluations/old/xgb/metrics.json', JSON.stringify({
    metrics: { auc: 0.75, logloss: 0.3 }, slices: { 'region=eu': { auc: 0.75 }, 'region=us': { auc: 0.74 } }, latencyMs: { p99: 50 }, shards: 4,
  }));

  // WHEN
  const result = await execute(registry, { commit: 'c1', trainingImageUri: IMAGE_A }, 'run-1');

  // THEN
  expect(result.calls['Check training cache']).toHaveLength(1);
  expect(batchJobs(result)).toEqual([]);
  expect(result.error).toMatchObject({ name: 'QualityGateFailed' });
  expect(result.error.message).toMatch(/xgb.*auc 0.75/);
  expect(result.calls['Register the winner']).toBeUndefined();
});

test('a change only to the serving code: the Build stage gives the same training digest, so Train is a cache hit (0 GPU minutes)', async () => {
  const registry = new Registry();
  const first = await execute(registry, { commit: 'c1', trainingImageUri: IMAGE_A }, 'run-1');
  expect(first.error).toBeUndefined();
  const registered = registry.packages[0].CustomerMetadataProperties!;
  expect(registered['mlops:training-image']).toBe(IMAGE_A);
  expect(registered['mlops:code-version']).toBe('c1');

  // WHEN the next commit changes only serving/: the training directory's content tag, so its digest, is unchanged
  const next = await execute(registry, { commit: 'c2-serving-only', trainingImageUri: registered['mlops:training-image'] }, 'run-2');

  // THEN
  expect(next.error).toBeUndefined();
  expect(next.calls['Check training cache'][0]).not.toHaveProperty('codeVersion');
  expect(batchJobs(next)).toEqual([]);
  expect(next.output.decision.winner).toMatchObject({ status: 'CACHED', modelPackageArn: expect.stringMatching(/fraud\/1$/) });
  expect(registry.packages).toHaveLength(1);
});

test('a new training image: the new digest is trained, with the new revision prepare-job-definitions returned', async () => {
  const registry = new Registry();
  const first = await execute(registry, { commit: 'c1', trainingImageUri: IMAGE_A }, 'run-1');
  expect(trainingJobs(first).map((j) => j.JobDefinition)).toEqual(['arn:aws:batch:us-east-1:123456789012:job-definition/solo-img:1']);

  // WHEN the training code changed: the Build stage built and pushed another image
  const next = await execute(registry, { commit: 'c3-training', trainingImageUri: IMAGE_B }, 'run-2');

  // THEN the cache missed and the job ran the image's revision
  expect(next.error).toBeUndefined();
  expect(next.calls['Prepare job definitions'][0].images).toEqual({ training: IMAGE_B, evaluation: IMAGE_B });
  expect(trainingJobs(next).map((j) => j.JobDefinition)).toEqual(['arn:aws:batch:us-east-1:123456789012:job-definition/solo-img:2']);
  expect(next.calls.Evaluate.map((j: any) => j.JobDefinition)).toEqual(['arn:aws:batch:us-east-1:123456789012:job-definition/evaluate-img:2']);
  expect(next.output.decision.winner).toMatchObject({ status: 'EVALUATED', trainingJobId: 'run-2-xgb-train' });
  expect(registry.packages).toHaveLength(2);
  expect(registry.packages[1].CustomerMetadataProperties!['mlops:training-image']).toBe(IMAGE_B);
  expect(registry.packages[1].ModelPackageDescription).not.toBe(registry.packages[0].ModelPackageDescription);
});

test('a new evaluation image alone: the cached metrics were measured by other code, so the candidate is trained and evaluated again', async () => {
  const registry = new Registry();
  await execute(registry, { commit: 'c1', trainingImageUri: IMAGE_A }, 'run-1');

  const next = await execute(registry, { commit: 'c4-evaluation', trainingImageUri: IMAGE_A, evaluationImageUri: IMAGE_B }, 'run-2');

  expect(next.error).toBeUndefined();
  expect(trainingJobs(next)).toHaveLength(1);
  expect(next.calls.Evaluate[0].JobDefinition).toBe('arn:aws:batch:us-east-1:123456789012:job-definition/evaluate-img:2');
  expect(registry.packages[1].CustomerMetadataProperties).toMatchObject({ 'mlops:training-image': IMAGE_A, 'mlops:evaluation-image': IMAGE_B });
});

test('started without trainingImageUri: fails at once with MissingTrainingImage, before any data version, cache lookup or job', async () => {
  const registry = new Registry();
  const result = await execute(registry, { commit: 'c1' }, 'run-1', { 'Take data version': async () => DATA_VERSION });

  expect(result.error.name).toBe(MISSING_IMAGE_ERROR);
  expect(result.error.message).toMatch(/Start the workflow with "trainingImageUri": "<repository URI>@sha256:<digest>"/);
  expect(Object.keys(result.calls)).toEqual([]);
});
