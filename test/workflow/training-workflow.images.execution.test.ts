/**
 * What a commit costs on the GPUs: several executions of the synthesized workflow on the real ASL interpreter, one
 * after the other, with the real training-cache, quality-gate and register-model handlers over one model registry
 * (SageMaker and S3 mocked with aws-sdk-client-mock; the registry remembers what each run registered). Only the Batch
 * jobs, the aggregation and prepare-job-definitions are local functions; the latter hands out one revision per image,
 * as the real one does (its own tests are in job-definition-revisions.test.ts). Two candidates: the winner is found
 * again as a model package, the loser as the cache's record.
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateModelPackageCommand,
  CreateModelPackageCommandInput,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  ListModelPackagesCommand,
  SageMakerClient,
} from '@aws-sdk/client-sagemaker';
import { Template } from 'aws-cdk-lib/assertions';
import { mockClient } from 'aws-sdk-client-mock';
import { workflowStack } from './fixture';
import { handler as qualityGate } from '../../lambda/quality-gate.lambda';
import { registerModel } from '../../lambda/register-model.lambda';
import { checkTrainingCache, recordOutcome } from '../../lambda/training-cache.lambda';
import { MISSING_IMAGE_ERROR } from '../../lib/workflow/job-definition-revisions';
import { batchJobResult } from '../fixtures/aws/step-functions-batch';
import { runLocally, TaskHandler } from '../support/local-execution';
import { stateMachineDefinition } from '../support/state-machine';

// xgb (its own job definition) and mlp (another one), as the fixture has them.
const { stack } = workflowStack();
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
const MODEL_BUCKET = 'ModelsBucket';
const AUC: Record<string, number> = { xgb: 0.93, mlp: 0.91 };
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
    s3.on(PutObjectCommand).callsFake(({ Bucket, Key, Body }: { Bucket: string; Key: string; Body: string }) => {
      this.objects.set(`s3://${Bucket}/${Key}`, Body);
      return {};
    });
    s3.on(ListObjectsV2Command).callsFake(({ Bucket, Prefix }: { Bucket: string; Prefix: string }) => ({
      Contents: [...this.objects.keys()].filter((uri) => uri.startsWith(`s3://${Bucket}/${Prefix}`))
        .map((uri) => ({ Key: uri.slice(`s3://${Bucket}/`.length) })),
    }));
    s3.on(GetObjectCommand).callsFake(({ Bucket, Key }: { Bucket: string; Key: string }) => {
      const text = this.objects.get(`s3://${Bucket}/${Key}`);
      if (text === undefined) throw Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' });
      return { Body: { transformToString: async () => text } };
    });
  }

  /** The training cache's records (one per evaluated candidate). */
  public get records(): string[] {
    return [...this.objects.keys()].filter((uri) => uri.startsWith(`s3://${MODEL_BUCKET}/training-cache/`));
  }

  /** The revision of a job definition for an image: a new one for each new image, as prepare-job-definitions does. */
  public revisionFor(name: string, image: string): string {
    const key = `${name} ${image}`;
    if (!this.revisions.includes(key)) this.revisions.push(key);
    const revision = this.revisions.filter((r) => r.startsWith(`${name} `)).indexOf(key) + 1;
    return `arn:aws:batch:us-east-1:123456789012:job-definition/${name}-img:${revision}`;
  }
}

interface Run { readonly commit: string; readonly trainingImageUri?: string; readonly evaluationImageUri?: string }

/** One execution (one pipeline run): each candidate measures its `AUC`. */
async function execute(registry: Registry, run: Run, name: string, handlers: Record<string, TaskHandler> = {}) {
  const input: Record<string, unknown> = { codeVersion: run.commit, dataVersion: DATA_VERSION };
  if (run.trainingImageUri) input.trainingImageUri = run.trainingImageUri;
  if (run.evaluationImageUri) input.evaluationImageUri = run.evaluationImageUri;
  return runLocally(definition, input, {
    'Prepare job definitions': async (p) => {
      const revisionArns = [registry.revisionFor('xgb', p.images.training), registry.revisionFor('mlp', p.images.training),
        registry.revisionFor('evaluate', p.images.evaluation)];
      return { revisionArns, bySourceArn: {} };
    },
    'Check training cache': async (p) => checkTrainingCache(sagemakerClient, GROUP, p, s3Client, MODEL_BUCKET),
    'Remember the result': async (p) => recordOutcome(s3Client, MODEL_BUCKET, p),
    'Train on spot': async (p) => batchJobResult(p.JobName, undefined, `${name}-${p.JobName}`),
    'Evaluate': async (p) => ({ JobId: `${name}-${p.JobName}`, Status: 'SUCCEEDED' }),
    'Aggregate metrics': async (p) => {
      const auc = AUC[p.candidate];
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

const revision = (name: string, n: number) => `arn:aws:batch:us-east-1:123456789012:job-definition/${name}-img:${n}`;

test('the same training image and data: a cache hit for both candidates, no Batch job at all, the winner\'s package reused', async () => {
  const registry = new Registry();
  const first = await execute(registry, { commit: 'c1', trainingImageUri: IMAGE_A }, 'run-1');
  expect(first.error).toBeUndefined();
  expect(trainingJobs(first)).toHaveLength(2);
  expect(registry.packages).toHaveLength(1); // the winner, xgb
  expect(registry.records).toHaveLength(2); // both evaluated candidates

  const again = await execute(registry, { commit: 'c1', trainingImageUri: IMAGE_A }, 'run-2');

  expect(again.error).toBeUndefined();
  expect(batchJobs(again)).toEqual([]);
  expect(again.calls['Aggregate metrics']).toBeUndefined();
  expect(again.output.decision.winner).toMatchObject({ candidate: 'xgb', status: 'CACHED', modelPackageArn: expect.stringMatching(/fraud\/1$/) });
  // The loser comes back from its record, as it was evaluated, and is judged again.
  expect(again.output.outcomes.find((o: any) => o.candidate === 'mlp')).toMatchObject({ status: 'EVALUATED', trainingJobId: 'run-1-mlp-train' });
  expect(again.output.decision.rejections).toEqual([{ candidate: 'mlp', reasons: [expect.stringMatching(/lost to xgb/)] }]);
  expect(again.output.registration).toMatchObject({ created: false, modelPackageArn: expect.stringMatching(/fraud\/1$/) });
  expect(registry.packages).toHaveLength(1);
});

test('a cached model still goes through the gate: one that fails a threshold is rejected without training it', async () => {
  // GIVEN a package for xgb's exact inputs whose evaluation is below the gate's AUC threshold (0.8), registered when
  // the rules were looser
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

  // THEN xgb is not trained, and rejected on its cached metrics; mlp (not cached) is trained and wins
  expect(result.error).toBeUndefined();
  expect(trainingJobs(result).map((j) => j.JobName)).toEqual(['mlp-train']);
  expect(result.output.outcomes.find((o: any) => o.candidate === 'xgb')).toMatchObject({ status: 'CACHED' });
  expect(result.output.decision.rejections).toEqual([{ candidate: 'xgb', reasons: [expect.stringMatching(/auc 0.75/)] }]);
  expect(result.output.decision.winner.candidate).toBe('mlp');
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

  // THEN no Batch job for either candidate
  expect(next.error).toBeUndefined();
  expect(next.calls['Check training cache'].every((c: any) => c.codeVersion === undefined)).toBe(true);
  expect(batchJobs(next)).toEqual([]);
  expect(next.output.decision.winner).toMatchObject({ status: 'CACHED', modelPackageArn: expect.stringMatching(/fraud\/1$/) });
  expect(registry.packages).toHaveLength(1);
});

test('a new training image: the new digest is trained, with the new revisions prepare-job-definitions returned', async () => {
  const registry = new Registry();
  const first = await execute(registry, { commit: 'c1', trainingImageUri: IMAGE_A }, 'run-1');
  expect(trainingJobs(first).map((j) => j.JobDefinition).sort()).toEqual([revision('mlp', 1), revision('xgb', 1)]);

  // WHEN the training code changed: the Build stage built and pushed another image
  const next = await execute(registry, { commit: 'c3-training', trainingImageUri: IMAGE_B }, 'run-2');

  // THEN the cache missed and the jobs ran the image's revisions
  expect(next.error).toBeUndefined();
  expect(next.calls['Prepare job definitions'][0].images).toEqual({ training: IMAGE_B, evaluation: IMAGE_B });
  expect(trainingJobs(next).map((j) => j.JobDefinition).sort()).toEqual([revision('mlp', 2), revision('xgb', 2)]);
  expect(next.calls.Evaluate.map((j: any) => j.JobDefinition)).toEqual([revision('evaluate', 2), revision('evaluate', 2)]);
  expect(next.output.decision.winner).toMatchObject({ candidate: 'xgb', status: 'EVALUATED', trainingJobId: 'run-2-xgb-train' });
  expect(registry.packages).toHaveLength(2);
  expect(registry.packages[1].CustomerMetadataProperties!['mlops:training-image']).toBe(IMAGE_B);
  expect(registry.packages[1].ModelPackageDescription).not.toBe(registry.packages[0].ModelPackageDescription);
});

test('a new evaluation image alone: the cached metrics were measured by other code, so the candidates are trained and evaluated again', async () => {
  const registry = new Registry();
  await execute(registry, { commit: 'c1', trainingImageUri: IMAGE_A }, 'run-1');

  const next = await execute(registry, { commit: 'c4-evaluation', trainingImageUri: IMAGE_A, evaluationImageUri: IMAGE_B }, 'run-2');

  expect(next.error).toBeUndefined();
  expect(trainingJobs(next)).toHaveLength(2);
  expect(next.calls.Evaluate[0].JobDefinition).toBe(revision('evaluate', 2));
  expect(registry.packages[1].CustomerMetadataProperties).toMatchObject({ 'mlops:training-image': IMAGE_A, 'mlops:evaluation-image': IMAGE_B });
});

test('started without trainingImageUri: fails at once with MissingTrainingImage, before any data version, cache lookup or job', async () => {
  const registry = new Registry();
  const result = await execute(registry, { commit: 'c1' }, 'run-1', { 'Take data version': async () => DATA_VERSION });

  expect(result.error.name).toBe(MISSING_IMAGE_ERROR);
  expect(result.error.message).toMatch(/Start the workflow with "trainingImageUri": "<repository URI>@sha256:<digest>"/);
  expect(Object.keys(result.calls)).toEqual([]);
});
