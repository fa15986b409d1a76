import { createHash } from 'crypto';
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeModelPackageCommand,
  DescribeModelPackageCommandOutput,
  DescribeModelPackageGroupCommand,
  ListModelPackagesCommand,
  ModelPackageSummary,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { checkTrainingCache, handler, recordOutcome } from '../../lambda/training-cache.lambda';

const sagemaker = mockClient(SageMakerClient);
const s3 = mockClient(S3Client);
// The evaluation's aggregate, which aggregate-metrics wrote and the package's model metrics point to.
const AGGREGATE = {
  metrics: { auc: 0.91, logloss: 0.23 },
  slices: { 'region=eu': { auc: 0.92 }, 'region=us': { auc: 0.9 } },
  latencyMs: { p50: 9, p95: 30, p99: 55 },
  shards: 4,
};
function body(text: string) {
  return { Body: { transformToString: async () => text } } as never;
}
const GROUP = 'fraud';
const arn = (v: number) => `arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/${v}`;

const TRAINING_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training@sha256:${'a'.repeat(64)}`;
const EVALUATION_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training@sha256:${'b'.repeat(64)}`;
const event = { candidate: 'xgb-deep', configHash: 'cfg-9', trainingImageUri: TRAINING_IMAGE, evaluationImageUri: EVALUATION_IMAGE, dataVersionId: 'dv-1' };
// The spec's key, derived here independently of the code under test: the images by digest, never the commit.
const KEY = createHash('sha256')
  .update(`cdk-mlops-training-cache v2\ndata dv-1\ntraining-image sha256:${'a'.repeat(64)}\nevaluation-image sha256:${'b'.repeat(64)}\nconfig cfg-9`)
  .digest('hex');
const MARKER = `mlops-cache:${KEY}`;

function serviceError(name: string, message: string, status: number): SageMakerServiceException {
  return new SageMakerServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

function summary(version: number, description: string, approval: 'Approved' | 'PendingManualApproval' | 'Rejected' = 'Approved'): ModelPackageSummary {
  return {
    ModelPackageArn: arn(version),
    ModelPackageVersion: version,
    ModelPackageDescription: description,
    ModelApprovalStatus: approval,
    ModelPackageStatus: 'Completed',
    CreationTime: new Date(),
  };
}

function described(version: number): Partial<DescribeModelPackageCommandOutput> {
  return {
    ModelPackageArn: arn(version),
    ModelPackageGroupName: GROUP,
    ModelPackageVersion: version,
    ModelApprovalStatus: 'Approved',
    InferenceSpecification: {
      Containers: [{ Image: 'serve@sha256:1', ModelDataUrl: `s3://models/${version}/model.tar.gz` }],
      SupportedContentTypes: ['application/json'],
      SupportedResponseMIMETypes: ['application/json'],
    },
    ModelMetrics: { ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: `s3://metrics/${version}/aggregate.json` } } },
    CustomerMetadataProperties: {
      'mlops:code-version': 'abc123',
      'mlops:data-version': 'dv-1',
      'mlops:candidate': 'xgb-deep',
      'mlops:config-hash': 'cfg-9',
      'mlops:training-job': `train-${version}`,
      'mlops:evaluation-job': `eval-${version}`,
      'mlops:execution': 'arn:aws:states:eu-west-1:111122223333:execution:train:run-1',
      'mlops:metric:auc': '0.91',
      'mlops:metric:logloss': '0.23',
      'mlops:metric:comment': 'not a number',
    },
  };
}

beforeEach(() => {
  s3.reset();
  s3.on(GetObjectCommand).resolves(body(JSON.stringify(AGGREGATE)));
  sagemaker.reset();
  sagemaker.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupName: GROUP });
  sagemaker.on(DescribeModelPackageCommand).callsFake((input: { ModelPackageName: string }) =>
    described(Number(input.ModelPackageName.split('/').pop())),
  );
});

describe('handler', () => {
  const saved = process.env.MODEL_PACKAGE_GROUP_NAME;
  afterEach(() => {
    if (saved === undefined) delete process.env.MODEL_PACKAGE_GROUP_NAME;
    else process.env.MODEL_PACKAGE_GROUP_NAME = saved;
  });

  test('returns a CACHED outcome with the metrics and lineage of the package trained on the same inputs', async () => {
    // GIVEN a group whose newest package has another key, and an older one the same key
    process.env.MODEL_PACKAGE_GROUP_NAME = GROUP;
    sagemaker.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [summary(5, `mlops-cache:${'0'.repeat(64)} candidate=lgbm`), summary(4, `${MARKER} candidate=xgb-deep`)],
    });

    // WHEN
    const result = await handler(event);

    // THEN
    expect(result).toEqual({
      hit: true,
      cacheKey: KEY,
      outcome: {
        candidate: 'xgb-deep',
        configHash: 'cfg-9',
        status: 'CACHED',
        modelPackageArn: arn(4),
        modelDataUrl: 's3://models/4/model.tar.gz',
        metrics: { auc: 0.91, logloss: 0.23 },
        slices: AGGREGATE.slices,
        latencyMs: AGGREGATE.latencyMs,
        metricsUri: 's3://metrics/4/aggregate.json',
        trainingJobId: 'train-4',
        evaluationJobId: 'eval-4',
      },
    });
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'metrics', Key: '4/aggregate.json' });
    expect(sagemaker).toHaveReceivedCommandWith(DescribeModelPackageGroupCommand, { ModelPackageGroupName: GROUP });
    const listed = sagemaker.commandCalls(ListModelPackagesCommand)[0].args[0].input;
    expect(listed).toMatchObject({ ModelPackageGroupName: GROUP, ModelPackageType: 'Versioned', SortBy: 'CreationTime', SortOrder: 'Descending' });
    expect(listed.ModelApprovalStatus).toBeUndefined();
    expect(sagemaker).toHaveReceivedCommandTimes(DescribeModelPackageCommand, 1);
    expect(sagemaker).toHaveReceivedCommandWith(DescribeModelPackageCommand, { ModelPackageName: arn(4) });
  });

  test('fails with InvalidCacheRequest when MODEL_PACKAGE_GROUP_NAME is not set', async () => {
    // GIVEN
    delete process.env.MODEL_PACKAGE_GROUP_NAME;

    // WHEN
    const error = await handler(event).catch((e: Error) => e);

    // THEN
    expect(error).toMatchObject({ name: 'InvalidCacheRequest' });
    expect((error as Error).message).toMatch(/MODEL_PACKAGE_GROUP_NAME environment variable is not set/);
    expect(sagemaker.calls()).toHaveLength(0);
  });
});

test('misses when no package carries the key, reading every page', async () => {
  // GIVEN
  sagemaker
    .on(ListModelPackagesCommand)
    .resolvesOnce({ ModelPackageSummaryList: [summary(3, 'hand-registered')], NextToken: 'page-2' })
    .resolvesOnce({ ModelPackageSummaryList: [summary(2, `mlops-cache:${'f'.repeat(64)}`)] });

  // WHEN
  const result = await checkTrainingCache(new SageMakerClient({}), GROUP, event);

  // THEN
  expect(result).toEqual({ hit: false, cacheKey: KEY });
  expect(sagemaker).toHaveReceivedCommandTimes(ListModelPackagesCommand, 2);
  expect(sagemaker).not.toHaveReceivedCommand(DescribeModelPackageCommand);
});

test('misses when the evaluation aggregate of the package is gone: fairness and latency could not be judged', async () => {
  sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [summary(4, MARKER)] });
  s3.on(GetObjectCommand).rejects(Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }));

  const result = await checkTrainingCache(new SageMakerClient({}), GROUP, event, new S3Client({}));

  expect(result).toEqual({ hit: false, cacheKey: KEY });
});

test('fails with MalformedMetrics naming the object when the aggregate is malformed', async () => {
  sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [summary(4, MARKER)] });
  s3.on(GetObjectCommand).resolves(body('{"metrics": {"auc": "high"}}'));

  await expect(checkTrainingCache(new SageMakerClient({}), GROUP, event, new S3Client({}))).rejects.toMatchObject({
    name: 'MalformedMetrics',
    message: expect.stringContaining('s3://metrics/4/aggregate.json'),
  });
});

test('misses in an empty group', async () => {
  // GIVEN
  sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });

  // WHEN
  const result = await checkTrainingCache(new SageMakerClient({}), GROUP, event);

  // THEN
  expect(result).toEqual({ hit: false, cacheKey: KEY });
});

test('follows NextToken to a hit on the second page', async () => {
  // GIVEN
  // The tokens as sent: the SDK's paginator reuses one input object for every page.
  const tokens: Array<string | undefined> = [];
  const pages = [
    { ModelPackageSummaryList: [summary(9, 'other'), summary(8, 'other')], NextToken: 'page-2' },
    { ModelPackageSummaryList: [summary(7, `${MARKER} candidate=xgb-deep`)], NextToken: 'page-3' },
  ];
  sagemaker.on(ListModelPackagesCommand).callsFake((input: { NextToken?: string }) => pages[tokens.push(input.NextToken) - 1]);

  // WHEN
  const result = await checkTrainingCache(new SageMakerClient({}), GROUP, event);

  // THEN
  expect(result.hit).toBe(true);
  expect(result.hit && result.outcome.modelPackageArn).toBe(arn(7));
  expect(sagemaker).toHaveReceivedCommandTimes(ListModelPackagesCommand, 2);
  expect(tokens).toEqual([undefined, 'page-2']);
});

test('does not reuse a Rejected package, and reuses an older one that was not rejected', async () => {
  // GIVEN
  sagemaker.on(ListModelPackagesCommand).resolves({
    ModelPackageSummaryList: [summary(6, MARKER, 'Rejected'), summary(5, MARKER, 'PendingManualApproval')],
  });

  // WHEN
  const result = await checkTrainingCache(new SageMakerClient({}), GROUP, event);

  // THEN
  expect(result.hit && result.outcome.modelPackageArn).toBe(arn(5));
  expect(sagemaker).not.toHaveReceivedCommandWith(DescribeModelPackageCommand, { ModelPackageName: arn(6) });
});

test('misses when the only package with the key was Rejected', async () => {
  // GIVEN
  sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [summary(6, MARKER, 'Rejected')] });

  // WHEN
  const result = await checkTrainingCache(new SageMakerClient({}), GROUP, event);

  // THEN
  expect(result).toEqual({ hit: false, cacheKey: KEY });
  expect(sagemaker).not.toHaveReceivedCommand(DescribeModelPackageCommand);
});

test('passes on the throttling error the client gives back after its own retries', async () => {
  // GIVEN
  sagemaker.on(ListModelPackagesCommand).rejects(serviceError('ThrottlingException', 'Rate exceeded', 400));

  // WHEN
  const error = await checkTrainingCache(new SageMakerClient({}), GROUP, event).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'ThrottlingException' });
  expect(sagemaker).toHaveReceivedCommandTimes(ListModelPackagesCommand, 1);
});

test('fails with ModelPackageGroupNotFound when the group does not exist', async () => {
  // GIVEN
  sagemaker
    .on(DescribeModelPackageGroupCommand)
    .rejects(serviceError('ValidationException', 'ModelPackageGroup arn:...:model-package-group/nope does not exist.', 400));

  // WHEN
  const error = await checkTrainingCache(new SageMakerClient({}), 'nope', event).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'ModelPackageGroupNotFound' });
  expect((error as Error).message).toMatch(/'nope' does not exist/);
  expect(sagemaker).not.toHaveReceivedCommand(ListModelPackagesCommand);
});

test('fails with ModelPackageGroupNotFound when the listing says ResourceNotFound', async () => {
  // GIVEN
  sagemaker.on(ListModelPackagesCommand).rejects(serviceError('ResourceNotFound', 'Group gone', 400));

  // WHEN
  const error = await checkTrainingCache(new SageMakerClient({}), GROUP, event).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'ModelPackageGroupNotFound' });
});

test('passes an access error through unchanged', async () => {
  // GIVEN
  sagemaker.on(ListModelPackagesCommand).rejects(serviceError('AccessDeniedException', 'not authorized', 400));

  // WHEN
  const error = await checkTrainingCache(new SageMakerClient({}), GROUP, event).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'AccessDeniedException', message: 'not authorized' });
  expect(sagemaker).toHaveReceivedCommandTimes(ListModelPackagesCommand, 1);
});

test.each([
  ['a missing configHash', { ...event, configHash: undefined }, /'configHash' is missing/],
  ['an empty dataVersionId', { ...event, dataVersionId: '' }, /'dataVersionId' is missing or not a non-empty string/],
  ['a numeric trainingImageUri', { ...event, trainingImageUri: 7 }, /'trainingImageUri' is missing or not a non-empty string \(got number\)/],
  ['a training image by tag', { ...event, trainingImageUri: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training:v1' }, /not an image by digest/],
])('fails with InvalidCacheRequest on %s, before any call', async (_, malformed, message) => {
  // WHEN
  const error = await checkTrainingCache(new SageMakerClient({}), GROUP, malformed as never).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'InvalidCacheRequest' });
  expect((error as Error).message).toMatch(message);
  expect(sagemaker.calls()).toHaveLength(0);
});

describe('the record of every evaluated candidate (a loser has no model package)', () => {
  const BUCKET = 'models';
  const RECORD_KEY = `training-cache/${KEY}.json`;
  const OUTCOME = {
    candidate: 'xgb-deep',
    configHash: 'cfg-9',
    status: 'EVALUATED',
    metrics: { auc: 0.88 },
    metricsUri: 's3://models/evaluations/run-1/xgb-deep/metrics.json',
    modelDataUrl: 's3://models/runs/run-1/xgb-deep/model.tar.gz',
    trainingJobId: 'train-1',
    evaluationJobId: 'eval-1',
  };
  const noPackage = () => sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });

  test('is written under training-cache/<key>.json with the outcome', async () => {
    s3.on(PutObjectCommand).resolves({});

    const result = await recordOutcome(new S3Client({}), BUCKET, { remember: { cacheKey: KEY, outcome: OUTCOME } });

    expect(result).toEqual({ recorded: `s3://${BUCKET}/${RECORD_KEY}` });
    const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put).toMatchObject({ Bucket: BUCKET, Key: RECORD_KEY, ContentType: 'application/json' });
    expect(JSON.parse(put.Body as string)).toEqual(OUTCOME);
  });

  test.each([
    ['a key that is not one', { cacheKey: 'key-xgb', outcome: OUTCOME }, /remember.cacheKey is 'key-xgb', not a cache key/],
    ['a failed outcome', { cacheKey: KEY, outcome: { ...OUTCOME, status: 'FAILED' } }, /only an EVALUATED outcome is recorded/],
    ['no metrics URI', { cacheKey: KEY, outcome: { ...OUTCOME, metricsUri: undefined } }, /remember.outcome.metricsUri is nothing/],
  ])('fails with InvalidCacheRequest on %s, before any call', async (_what, remember, message) => {
    const error = await recordOutcome(new S3Client({}), BUCKET, { remember }).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'InvalidCacheRequest', message: expect.stringMatching(message) });
    expect(s3.calls()).toHaveLength(0);
  });

  test('is a hit when no package has the key: the recorded outcome stays EVALUATED, with the aggregate\'s slices and latency', async () => {
    noPackage();
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: RECORD_KEY }], KeyCount: 1 });
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: RECORD_KEY }).resolves(body(JSON.stringify(OUTCOME)));

    const result = await checkTrainingCache(new SageMakerClient({}), GROUP, event, new S3Client({}), BUCKET);

    expect(result).toEqual({
      hit: true,
      cacheKey: KEY,
      outcome: { ...OUTCOME, metrics: AGGREGATE.metrics, slices: AGGREGATE.slices, latencyMs: AGGREGATE.latencyMs },
    });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: BUCKET, Prefix: RECORD_KEY, MaxKeys: 1 });
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'models', Key: 'evaluations/run-1/xgb-deep/metrics.json' });
  });

  test('misses without reading an object when the record is not listed (GetObject of a missing key may be AccessDenied)', async () => {
    noPackage();
    s3.on(ListObjectsV2Command).resolves({ KeyCount: 0 });

    const result = await checkTrainingCache(new SageMakerClient({}), GROUP, event, new S3Client({}), BUCKET);

    expect(result).toEqual({ hit: false, cacheKey: KEY });
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });

  test.each([
    ['of another candidate', { ...OUTCOME, candidate: 'mlp' }],
    ['of another configuration', { ...OUTCOME, configHash: 'cfg-8' }],
    ['not JSON', 'not json'],
  ])('misses when the record is %s', async (_what, record) => {
    noPackage();
    s3.on(ListObjectsV2Command).resolves({ Contents: [{ Key: RECORD_KEY }] });
    s3.on(GetObjectCommand, { Bucket: BUCKET, Key: RECORD_KEY }).resolves(body(typeof record === 'string' ? record : JSON.stringify(record)));

    const result = await checkTrainingCache(new SageMakerClient({}), GROUP, event, new S3Client({}), BUCKET);

    expect(result).toEqual({ hit: false, cacheKey: KEY });
  });

  test('a registered package wins over a record: the record is not read', async () => {
    sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [summary(4, MARKER)] });

    const result = await checkTrainingCache(new SageMakerClient({}), GROUP, event, new S3Client({}), BUCKET);

    expect(result).toMatchObject({ hit: true, outcome: { status: 'CACHED', modelPackageArn: arn(4) } });
    expect(s3).not.toHaveReceivedCommand(ListObjectsV2Command);
  });

  test('the handler records through MODEL_BUCKET_NAME, and fails with InvalidCacheRequest without it', async () => {
    const saved = process.env.MODEL_BUCKET_NAME;
    try {
      delete process.env.MODEL_BUCKET_NAME;
      await expect(handler({ remember: { cacheKey: KEY, outcome: OUTCOME as never } }))
        .rejects.toMatchObject({ name: 'InvalidCacheRequest', message: expect.stringMatching(/MODEL_BUCKET_NAME environment variable is not set/) });
      process.env.MODEL_BUCKET_NAME = BUCKET;
      s3.on(PutObjectCommand).resolves({});
      await expect(handler({ remember: { cacheKey: KEY, outcome: OUTCOME as never } })).resolves.toEqual({ recorded: `s3://${BUCKET}/${RECORD_KEY}` });
    } finally {
      if (saved === undefined) delete process.env.MODEL_BUCKET_NAME;
      else process.env.MODEL_BUCKET_NAME = saved;
    }
  });
});
