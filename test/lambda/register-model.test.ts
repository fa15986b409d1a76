import { createHash } from 'crypto';
import {
  CreateModelPackageCommand,
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  ListModelPackagesCommand,
  ModelPackageSummary,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler, registerModel } from '../../lambda/register-model.lambda';
import { RegisterModelEvent, RegistrationConfig } from '../../lambda/shared/model-registration';

const sagemaker = mockClient(SageMakerClient);
const GROUP = 'fraud';
const IMAGE = '111122223333.dkr.ecr.eu-west-1.amazonaws.com/serve@sha256:abc';
const EXECUTION = 'arn:aws:states:eu-west-1:111122223333:execution:train:run-1';
const arn = (v: number) => `arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/${v}`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

const TRAINING_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training@sha256:${'a'.repeat(64)}`;
const EVALUATION_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training@sha256:${'b'.repeat(64)}`;
// The spec's cache key and idempotency token, derived here independently of the code under test: the images count by
// digest, the commit not at all.
const KEY = sha256(`cdk-mlops-training-cache v2\ndata dv-1\ntraining-image sha256:${'a'.repeat(64)}\nevaluation-image sha256:${'b'.repeat(64)}\nconfig cfg-9`);
const MARKER = `mlops-cache:${KEY}`;
const TOKEN = sha256(`${EXECUTION}\nxgb-deep`).slice(0, 32);

const config: RegistrationConfig = {
  modelPackageGroupName: GROUP,
  approvalStatus: 'PendingManualApproval',
  inferenceImageUri: IMAGE,
  contentTypes: ['application/json'],
};

const event: RegisterModelEvent = {
  winner: {
    candidate: 'xgb-deep',
    configHash: 'cfg-9',
    status: 'EVALUATED',
    metrics: { auc: 0.91, logloss: 0.23 },
    metricsUri: 's3://runs/run-1/xgb-deep/aggregate.json',
    modelDataUrl: 's3://runs/run-1/xgb-deep/model.tar.gz',
    trainingJobId: 'train-job-1',
    evaluationJobId: 'eval-job-1',
  },
  codeVersion: 'abc123',
  trainingImageUri: TRAINING_IMAGE,
  evaluationImageUri: EVALUATION_IMAGE,
  dataVersion: { dataVersionId: 'dv-1', manifestUri: 's3://data/data-versions/dv-1.jsonl' },
  executionId: EXECUTION,
};

function serviceError(name: string, message: string, status: number): SageMakerServiceException {
  return new SageMakerServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

function summary(version: number, description: string, approval: 'Approved' | 'PendingManualApproval' | 'Rejected'): ModelPackageSummary {
  return {
    ModelPackageArn: arn(version),
    ModelPackageVersion: version,
    ModelPackageDescription: description,
    ModelApprovalStatus: approval,
    ModelPackageStatus: 'Completed',
    CreationTime: new Date(),
  };
}

beforeEach(() => {
  sagemaker.reset();
  sagemaker.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupName: GROUP });
  sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
  sagemaker.on(CreateModelPackageCommand).resolves({ ModelPackageArn: arn(1) });
});

describe('handler', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const name of ['MODEL_PACKAGE_GROUP_NAME', 'APPROVAL_STATUS', 'INFERENCE_IMAGE_URI', 'CONTENT_TYPES']) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });

  test('registers the winner with its lineage, metrics, cache marker and idempotency token', async () => {
    // GIVEN
    process.env.MODEL_PACKAGE_GROUP_NAME = GROUP;
    process.env.INFERENCE_IMAGE_URI = IMAGE;
    delete process.env.APPROVAL_STATUS;
    process.env.CONTENT_TYPES = 'application/json,text/csv';

    // WHEN
    const result = await handler(event);

    // THEN
    expect(result).toEqual({ modelPackageArn: arn(1), approvalStatus: 'PendingManualApproval', created: true });
    expect(sagemaker).toHaveReceivedCommandTimes(CreateModelPackageCommand, 1);
    expect(sagemaker.commandCalls(CreateModelPackageCommand)[0].args[0].input).toEqual({
      ModelPackageGroupName: GROUP,
      ModelPackageDescription: `${MARKER} candidate=xgb-deep`,
      InferenceSpecification: {
        Containers: [{ Image: IMAGE, ModelDataUrl: 's3://runs/run-1/xgb-deep/model.tar.gz' }],
        SupportedContentTypes: ['application/json', 'text/csv'],
        SupportedResponseMIMETypes: ['application/json', 'text/csv'],
      },
      ModelApprovalStatus: 'PendingManualApproval',
      ModelMetrics: {
        ModelQuality: { Statistics: { ContentType: 'application/json', S3Uri: 's3://runs/run-1/xgb-deep/aggregate.json' } },
      },
      CustomerMetadataProperties: {
        'mlops:code-version': 'abc123',
        'mlops:training-image': TRAINING_IMAGE,
        'mlops:evaluation-image': EVALUATION_IMAGE,
        'mlops:data-version': 'dv-1',
        'mlops:data-manifest': 's3://data/data-versions/dv-1.jsonl',
        'mlops:candidate': 'xgb-deep',
        'mlops:config-hash': 'cfg-9',
        'mlops:training-job': 'train-job-1',
        'mlops:evaluation-job': 'eval-job-1',
        'mlops:execution': EXECUTION,
        'mlops:metric:auc': '0.91',
        'mlops:metric:logloss': '0.23',
      },
      ClientToken: TOKEN,
    });
  });

  test('registers as Approved when APPROVAL_STATUS says so', async () => {
    // GIVEN
    process.env.MODEL_PACKAGE_GROUP_NAME = GROUP;
    process.env.INFERENCE_IMAGE_URI = IMAGE;
    process.env.APPROVAL_STATUS = 'Approved';
    delete process.env.CONTENT_TYPES;

    // WHEN
    const result = await handler(event);

    // THEN
    expect(result).toEqual({ modelPackageArn: arn(1), approvalStatus: 'Approved', created: true });
    expect(sagemaker).toHaveReceivedCommandWith(CreateModelPackageCommand, {
      ModelApprovalStatus: 'Approved',
      InferenceSpecification: expect.objectContaining({ SupportedContentTypes: ['application/json'] }),
    });
  });

  test('fails with InvalidRegistrationRequest naming INFERENCE_IMAGE_URI when it is not set, before any call', async () => {
    // GIVEN
    process.env.MODEL_PACKAGE_GROUP_NAME = GROUP;
    delete process.env.INFERENCE_IMAGE_URI;

    // WHEN
    const error = await handler(event).catch((e: Error) => e);

    // THEN
    expect(error).toMatchObject({ name: 'InvalidRegistrationRequest' });
    expect((error as Error).message).toMatch(/INFERENCE_IMAGE_URI is missing/);
    expect(sagemaker.calls()).toHaveLength(0);
  });
});

test('records why the run started in the lineage as mlops:trigger', async () => {
  await registerModel(new SageMakerClient({}), config, { ...event, trigger: 'data:datasets/fraud/2026-11-23/_SUCCESS' });
  const metadata = sagemaker.commandCalls(CreateModelPackageCommand)[0].args[0].input.CustomerMetadataProperties!;
  expect(metadata['mlops:trigger']).toBe('data:datasets/fraud/2026-11-23/_SUCCESS');
  // The trigger is lineage, not an input: the cache key (in the description) does not change with it.
  expect(sagemaker.commandCalls(CreateModelPackageCommand)[0].args[0].input.ModelPackageDescription).toBe(`${MARKER} candidate=xgb-deep`);
});

test('a trigger SageMaker could not store is made storable, not a reason to lose the winner', async () => {
  // An S3 key may hold characters metadata refuses (",", "(", "#"), and be longer than a value (256 characters).
  const key = `datasets/fraud (eu),#2/${'x'.repeat(300)}/_SUCCESS`;
  await registerModel(new SageMakerClient({}), config, { ...event, trigger: `data:${key}` });
  const stored = sagemaker.commandCalls(CreateModelPackageCommand)[0].args[0].input.CustomerMetadataProperties!['mlops:trigger'];
  expect(stored).toHaveLength(256);
  expect(stored.startsWith('data:datasets/fraud _eu___2/xxx')).toBe(true);
  expect(stored.endsWith('...')).toBe(true);
});

test('an empty trigger is left out of the lineage; a trigger that is not a string is refused', async () => {
  await registerModel(new SageMakerClient({}), config, { ...event, trigger: '' });
  expect(sagemaker.commandCalls(CreateModelPackageCommand)[0].args[0].input.CustomerMetadataProperties).not.toHaveProperty(['mlops:trigger']);
  await expect(registerModel(new SageMakerClient({}), config, { ...event, trigger: 42 as unknown as string }))
    .rejects.toMatchObject({ name: 'InvalidRegistrationRequest', message: expect.stringMatching(/trigger is 42/) });
});

test('sends the same ClientToken for the same execution and candidate, another for another execution', async () => {
  // WHEN
  await registerModel(new SageMakerClient({}), config, event);
  await registerModel(new SageMakerClient({}), config, event);
  await registerModel(new SageMakerClient({}), config, { ...event, executionId: `${EXECUTION}-rerun` });

  // THEN
  const tokens = sagemaker.commandCalls(CreateModelPackageCommand).map((call) => call.args[0].input.ClientToken);
  expect(tokens).toEqual([TOKEN, TOKEN, sha256(`${EXECUTION}-rerun\nxgb-deep`).slice(0, 32)]);
});

test('leaves ModelMetrics out when the winner has no metrics URI', async () => {
  // GIVEN
  const { metricsUri, ...winner } = event.winner;

  // WHEN
  await registerModel(new SageMakerClient({}), config, { ...event, winner });

  // THEN
  expect(sagemaker.commandCalls(CreateModelPackageCommand)[0].args[0].input).not.toHaveProperty('ModelMetrics');
});

test('creates nothing for a CACHED winner and reports its package and status', async () => {
  // GIVEN
  sagemaker.on(DescribeModelPackageCommand).resolves({ ModelPackageArn: arn(4), ModelApprovalStatus: 'Approved' });
  const cached: RegisterModelEvent = {
    ...event,
    winner: { candidate: 'xgb-deep', configHash: 'cfg-9', status: 'CACHED', modelPackageArn: arn(4), metrics: { auc: 0.91 } },
  };

  // WHEN
  const result = await registerModel(new SageMakerClient({}), config, cached);

  // THEN
  expect(result).toEqual({ modelPackageArn: arn(4), approvalStatus: 'Approved', created: false });
  expect(sagemaker).toHaveReceivedCommandWith(DescribeModelPackageCommand, { ModelPackageName: arn(4) });
  expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
  expect(sagemaker).not.toHaveReceivedCommand(ListModelPackagesCommand);
});

test('reports unknown for a CACHED winner whose description has no approval status, without needing the image', async () => {
  // GIVEN
  sagemaker.on(DescribeModelPackageCommand).resolves({ ModelPackageArn: arn(4) });
  const cached: RegisterModelEvent = { ...event, winner: { candidate: 'xgb-deep', configHash: 'cfg-9', status: 'CACHED', modelPackageArn: arn(4) } };

  // WHEN
  const result = await registerModel(new SageMakerClient({}), { ...config, inferenceImageUri: undefined }, cached);

  // THEN
  expect(result).toEqual({ modelPackageArn: arn(4), approvalStatus: 'unknown', created: false });
  expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
});

test('fails naming winner.modelPackageArn for a CACHED winner without one', async () => {
  // WHEN
  const error = await registerModel(
    new SageMakerClient({}),
    config,
    { ...event, winner: { candidate: 'xgb-deep', configHash: 'cfg-9', status: 'CACHED' } },
  ).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'InvalidRegistrationRequest' });
  expect((error as Error).message).toMatch(/winner\.modelPackageArn is missing/);
  expect(sagemaker.calls()).toHaveLength(0);
});

test('returns the package registered before with the same cache key instead of creating another', async () => {
  // GIVEN a retried or re-run state: the package exists, on the second page
  sagemaker
    .on(ListModelPackagesCommand)
    .resolvesOnce({ ModelPackageSummaryList: [summary(9, 'other', 'Approved')], NextToken: 'page-2' })
    .resolvesOnce({ ModelPackageSummaryList: [summary(7, `${MARKER} candidate=xgb-deep`, 'PendingManualApproval')] });

  // WHEN
  const result = await registerModel(new SageMakerClient({}), config, event);

  // THEN
  expect(result).toEqual({ modelPackageArn: arn(7), approvalStatus: 'PendingManualApproval', created: false });
  expect(sagemaker).toHaveReceivedNthSpecificCommandWith(2, ListModelPackagesCommand, { ModelPackageGroupName: GROUP, NextToken: 'page-2' });
  expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
});

test('registers anew when the only package with the same cache key was Rejected', async () => {
  // GIVEN
  sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [summary(7, MARKER, 'Rejected')] });

  // WHEN
  const result = await registerModel(new SageMakerClient({}), config, event);

  // THEN
  expect(result).toEqual({ modelPackageArn: arn(1), approvalStatus: 'PendingManualApproval', created: true });
  expect(sagemaker).toHaveReceivedCommandTimes(CreateModelPackageCommand, 1);
});

test('passes on the throttling error the client gives back after its own retries', async () => {
  // GIVEN
  sagemaker.on(CreateModelPackageCommand).rejects(serviceError('ThrottlingException', 'Rate exceeded', 400));

  // WHEN
  const error = await registerModel(new SageMakerClient({}), config, event).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'ThrottlingException' });
  expect(sagemaker).toHaveReceivedCommandTimes(CreateModelPackageCommand, 1);
});

test('fails with ModelPackageGroupNotFound when the group does not exist', async () => {
  // GIVEN
  sagemaker
    .on(DescribeModelPackageGroupCommand)
    .rejects(serviceError('ValidationException', 'ModelPackageGroup arn:...:model-package-group/nope does not exist.', 400));

  // WHEN
  const error = await registerModel(new SageMakerClient({}), { ...config, modelPackageGroupName: 'nope' }, event).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'ModelPackageGroupNotFound' });
  expect((error as Error).message).toMatch(/'nope' does not exist/);
  expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
});

test.each([
  ['winner.modelDataUrl', { ...event, winner: { ...event.winner, modelDataUrl: undefined } }],
  ['winner.modelDataUrl', { ...event, winner: { ...event.winner, modelDataUrl: '/local/model.tar.gz' } }],
  ['winner.metrics', { ...event, winner: { ...event.winner, metrics: undefined } }],
  ['codeVersion', { ...event, codeVersion: '' }],
  ['trainingImageUri', { ...event, trainingImageUri: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud/training:v1' }],
  ['dataVersion.dataVersionId', { ...event, dataVersion: { manifestUri: 's3://data/m.jsonl' } }],
  ['executionId', { ...event, executionId: undefined }],
])('fails with InvalidRegistrationRequest naming %s, before any call', async (field, bad) => {
  // WHEN
  const error = await registerModel(new SageMakerClient({}), config, bad as RegisterModelEvent).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'InvalidRegistrationRequest' });
  expect((error as Error).message.startsWith(`register-model: ${field} is missing or invalid`)).toBe(true);
  expect(sagemaker.calls()).toHaveLength(0);
});

test('fails with InvalidRegistrationRequest, before any call, when the metadata would break SageMaker\'s limits', async () => {
  // GIVEN 41 metrics: with 10 lineage entries, 51 > 50
  const metrics = Object.fromEntries(Array.from({ length: 41 }, (_, i) => [`m${i}`, i]));

  // WHEN
  const error = await registerModel(new SageMakerClient({}), config, { ...event, winner: { ...event.winner, metrics } }).catch(
    (e: Error) => e,
  );

  // THEN
  expect(error).toMatchObject({ name: 'InvalidRegistrationRequest' });
  expect((error as Error).message).toMatch(/would hold 51 entries, and SageMaker allows at most 50/);
  expect(sagemaker.calls()).toHaveLength(0);
});

test('fails with InvalidRegistrationRequest when a metric name makes a key SageMaker refuses', async () => {
  // WHEN
  const error = await registerModel(
    new SageMakerClient({}),
    config,
    { ...event, winner: { ...event.winner, metrics: { 'recall@k#5': 0.5 } } },
  ).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'InvalidRegistrationRequest' });
  expect((error as Error).message).toMatch(/winner\.metrics\.recall@k#5: the metadata key/);
  expect(sagemaker).not.toHaveReceivedCommand(CreateModelPackageCommand);
});
