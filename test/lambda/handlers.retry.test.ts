/**
 * Handlers through the SDK's real middleware (no aws-sdk-client-mock, which replaces `send` and with it the retry):
 * a throttled or failing call is retried by the client, with the same idempotency token, and the handler succeeds.
 */
import { CodePipelineClient } from '@aws-sdk/client-codepipeline';
import { SageMakerClient } from '@aws-sdk/client-sagemaker';
import { FakeAwsHttp, offline } from './support/fake-aws-http';
import { findLatestApprovedModel } from '../../lambda/latest-approved-model.lambda';
import { registerModel } from '../../lambda/register-model.lambda';
import { RegisterModelEvent } from '../../lambda/shared/model-registration';
import { sdkClientConfig } from '../../lambda/shared/sdk-clients';
import { startPipelineOnData } from '../../lambda/start-pipeline-on-data.lambda';
import { S3_OBJECT_CREATED } from '../fixtures/aws/eventbridge';
import { CONNECTION_ERRORS, INTERNAL_FAILURE, SERVICE_UNAVAILABLE, THROTTLING_EXCEPTION, TOO_MANY_REQUESTS, VALIDATION_EXCEPTION } from '../fixtures/aws/sdk-retry';

// The SDK's backoff is a random fraction of its cap (full jitter): a fraction of 0 lets the tests run without waiting.
beforeEach(() => jest.spyOn(Math, 'random').mockReturnValue(0));
afterEach(() => jest.restoreAllMocks());

const [RESET, TIMED_OUT] = CONNECTION_ERRORS.value;

describe('start-pipeline-on-data', () => {
  const ENV = { DATA_BUCKET: 'acme-data', DATA_PREFIX: 'datasets/fraud/', MARKER_SUFFIX: '_SUCCESS', PIPELINE_NAME: 'fraud-ml', VARIABLE_NAME: 'DATA_PREFIX' };
  const event = {
    ...S3_OBJECT_CREATED.value,
    detail: { ...S3_OBJECT_CREATED.value.detail, bucket: { name: 'acme-data' }, object: { ...S3_OBJECT_CREATED.value.detail.object, key: 'datasets/fraud/2026-11-23/_SUCCESS' } },
  };

  test('429, 500, 503 and a connection reset: the run starts on the fifth attempt, each with the same request token', async () => {
    const http = new FakeAwsHttp(TOO_MANY_REQUESTS.value, INTERNAL_FAILURE.value, SERVICE_UNAVAILABLE.value, RESET, { json: { pipelineExecutionId: 'exec-1' } });
    const client = new CodePipelineClient(sdkClientConfig(offline(http)));

    const result = await startPipelineOnData(client, event, ENV);

    expect(result).toEqual({ started: true, pipelineExecutionId: 'exec-1', dataPrefix: 'datasets/fraud/2026-11-23/', markerKey: 'datasets/fraud/2026-11-23/_SUCCESS' });
    expect(http.attempts).toBe(5);
    expect(new Set(http.targets)).toEqual(new Set(['CodePipeline_20150709.StartPipelineExecution']));
    expect(new Set(http.bodies.map((b) => b.clientRequestToken)).size).toBe(1);
  });

  test('a 400 ValidationException is thrown at once, for Lambda\'s retries and then the dead-letter queue', async () => {
    const http = new FakeAwsHttp(VALIDATION_EXCEPTION.value);
    const client = new CodePipelineClient(sdkClientConfig(offline(http)));

    await expect(startPipelineOnData(client, event, ENV)).rejects.toMatchObject({ name: VALIDATION_EXCEPTION.value.code });
    expect(http.attempts).toBe(1);
  });
});

describe('register-model', () => {
  const config = { modelPackageGroupName: 'fraud', approvalStatus: 'PendingManualApproval' as const, inferenceImageUri: 'img@sha256:abc', contentTypes: ['application/json'] };
  const event: RegisterModelEvent = {
    winner: {
      candidate: 'xgb-deep',
      configHash: 'cfg-9',
      status: 'EVALUATED',
      metrics: { auc: 0.91 },
      metricsUri: 's3://runs/run-1/xgb-deep/aggregate.json',
      modelDataUrl: 's3://runs/run-1/xgb-deep/model.tar.gz',
      trainingJobId: 'train-job-1',
      evaluationJobId: 'eval-job-1',
    },
    codeVersion: 'abc123',
    trainingImageUri: `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training@sha256:${'a'.repeat(64)}`,
    evaluationImageUri: `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training@sha256:${'a'.repeat(64)}`,
    dataVersion: { dataVersionId: 'dv-1', manifestUri: 's3://data/data-versions/dv-1.jsonl' },
    executionId: 'arn:aws:states:eu-west-1:111122223333:execution:train:run-1',
  };
  const ARN = 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/2';

  test('a throttled lookup and a throttled create with a reset: one package, created with one client token', async () => {
    const http = new FakeAwsHttp(
      { json: { ModelPackageGroupName: 'fraud' } }, // DescribeModelPackageGroup
      THROTTLING_EXCEPTION.value, // ListModelPackages, throttled
      { json: { ModelPackageSummaryList: [] } }, // ListModelPackages: no package with this cache key
      TOO_MANY_REQUESTS.value, // CreateModelPackage, throttled
      TIMED_OUT, // CreateModelPackage, the connection timed out
      { json: { ModelPackageArn: ARN } },
    );
    const client = new SageMakerClient(sdkClientConfig(offline(http)));

    const result = await registerModel(client, config, event);

    expect(result).toEqual({ modelPackageArn: ARN, approvalStatus: 'PendingManualApproval', created: true });
    expect(http.targets).toEqual([
      'SageMaker.DescribeModelPackageGroup',
      'SageMaker.ListModelPackages', 'SageMaker.ListModelPackages',
      'SageMaker.CreateModelPackage', 'SageMaker.CreateModelPackage', 'SageMaker.CreateModelPackage',
    ]);
    const creates = http.bodies.slice(3);
    expect(creates[1]).toEqual(creates[0]);
    expect(creates[2]).toEqual(creates[0]);
    expect(typeof creates[0].ClientToken).toBe('string');
  });
});

describe('latest-approved-model, with the SDK\'s paginator', () => {
  test('pages on with NextToken (100 per page), through a throttled page, to the newest approved package', async () => {
    const ARN = 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/9';
    const http = new FakeAwsHttp(
      { json: { ModelPackageGroupName: 'fraud' } },
      { json: { ModelPackageSummaryList: [], NextToken: 'page-2' } },
      THROTTLING_EXCEPTION.value,
      { json: { ModelPackageSummaryList: [{ ModelPackageArn: ARN, ModelPackageVersion: 9, ModelApprovalStatus: 'Approved', ModelPackageStatus: 'Completed', CreationTime: 1 }] } },
      { json: { ModelPackageArn: ARN, ModelPackageGroupName: 'fraud', ModelPackageVersion: 9, ModelApprovalStatus: 'Approved', CreationTime: 1, InferenceSpecification: { Containers: [{ Image: 'img', ModelDataUrl: 's3://m/model.tar.gz' }] } } },
    );
    const model = await findLatestApprovedModel(new SageMakerClient(sdkClientConfig(offline(http))), 'fraud');

    expect(model.modelPackageVersion).toBe(9);
    const lists = http.bodies.filter((_, i) => http.targets[i] === 'SageMaker.ListModelPackages');
    expect(lists.map((b) => [b.NextToken, b.MaxResults, b.ModelApprovalStatus, b.SortOrder])).toEqual([
      [undefined, 100, 'Approved', 'Descending'],
      ['page-2', 100, 'Approved', 'Descending'],
      ['page-2', 100, 'Approved', 'Descending'],
    ]);
  });
});
