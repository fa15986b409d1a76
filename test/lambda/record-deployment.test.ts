import {
  CodePipelineClient,
  CodePipelineServiceException,
  PutJobFailureResultCommand,
  PutJobSuccessResultCommand,
} from '@aws-sdk/client-codepipeline';
import { ListObjectsV2Command, ListObjectsV2CommandInput, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import {
  DescribeEndpointCommand,
  DescribeEndpointConfigCommand,
  DescribeModelCommand,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { handler, recordDeployment, RecordDeploymentClients } from '../../lambda/record-deployment.lambda';
import { LAMBDA_INVOKE_JOB_EVENT } from '../fixtures/aws/codepipeline';

const sagemaker = mockClient(SageMakerClient);
const s3 = mockClient(S3Client);
const codepipeline = mockClient(CodePipelineClient);
const clients: RecordDeploymentClients = { sagemaker: new SageMakerClient({}), s3: new S3Client({}), codepipeline: new CodePipelineClient({}) };
const NOW = new Date('2026-11-23T10:15:00.000Z');
const options = { ledgerBucket: 'ledger', now: () => NOW };

const EXECUTION = '3f2a9c1e-7b4d-4e0a-9f1b-2c3d4e5f6a7b';
const IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud-serving@sha256:${'a'.repeat(64)}`;
const OLD_IMAGE = `111122223333.dkr.ecr.eu-west-1.amazonaws.com/fraud-serving@sha256:${'b'.repeat(64)}`;
const PACKAGE = 'arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/7';
const PARAMETERS = {
  endpointName: 'fraud-prod',
  modelPackageArn: PACKAGE,
  imageUri: IMAGE,
  commit: '9fceb02',
  dataVersionId: 'd41d8cd98f00b204e9800998ecf8427e',
  pipelineExecutionId: EXECUTION,
  approver: 'alice@example.com',
};
const KEY = `deployments/fraud-prod/2026-11-23T10:15:00.000Z_${EXECUTION}.json`;

/** The CodePipeline job event of a Lambda invoke action whose UserParameters are `parameters`. */
/** The documented job event, with this job id and these UserParameters (JSON, as the action passes them). */
function jobEvent(parameters: unknown, id = 'job-1') {
  const job = LAMBDA_INVOKE_JOB_EVENT.value['CodePipeline.job'];
  const UserParameters = typeof parameters === 'string' ? parameters : JSON.stringify(parameters);
  return {
    'CodePipeline.job': {
      ...job,
      id,
      data: { ...job.data, actionConfiguration: { configuration: { ...job.data.actionConfiguration.configuration, UserParameters } } },
    },
  };
}

function sageMakerError(name: string, status: number, message = name): SageMakerServiceException {
  return new SageMakerServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

function s3Error(name: string, status: number, message = name): S3ServiceException {
  return new S3ServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

function endpointDescription(status: 'InService' | 'Updating' | 'Failed') {
  return {
    EndpointName: 'fraud-prod',
    EndpointArn: 'arn:aws:sagemaker:eu-west-1:111122223333:endpoint/fraud-prod',
    EndpointConfigName: 'fraud-prod-cfg-7',
    EndpointStatus: status,
    CreationTime: new Date('2026-01-01T00:00:00Z'),
    LastModifiedTime: new Date('2026-11-23T10:10:00Z'),
  };
}

/** The endpoint is `status` (InService) on config cfg-7, whose first variant's model serves `image`. */
function endpointServes(image: string, status: 'InService' | 'Updating' | 'Failed' = 'InService'): void {
  sagemaker.on(DescribeEndpointCommand, { EndpointName: 'fraud-prod' }).resolves(endpointDescription(status));
  sagemaker.on(DescribeEndpointConfigCommand, { EndpointConfigName: 'fraud-prod-cfg-7' }).resolves({
    EndpointConfigName: 'fraud-prod-cfg-7',
    ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: 'fraud-prod-model-7' }],
  });
  sagemaker.on(DescribeModelCommand, { ModelName: 'fraud-prod-model-7' }).resolves({
    ModelName: 'fraud-prod-model-7',
    PrimaryContainer: { Image: image },
  });
}

/** The ledger holds these keys under deployments/fraud-prod/, served two per page. */
function ledgerHolds(keys: string[]): void {
  s3.on(ListObjectsV2Command).callsFake((input: ListObjectsV2CommandInput) => {
    const start = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
    const page = keys.filter((k) => k.startsWith(input.Prefix ?? '')).slice(start, start + 2);
    const truncated = start + 2 < keys.length;
    return { Contents: page.map((Key) => ({ Key })), IsTruncated: truncated, NextContinuationToken: truncated ? String(start + 2) : undefined };
  });
}

function failureMessageSent(): string {
  expect(codepipeline).toHaveReceivedCommandTimes(PutJobFailureResultCommand, 1);
  return codepipeline.commandCalls(PutJobFailureResultCommand)[0].args[0].input.failureDetails!.message!;
}

beforeEach(() => {
  sagemaker.reset();
  s3.reset();
  codepipeline.reset();
  endpointServes(IMAGE);
  ledgerHolds([]);
  s3.on(PutObjectCommand).resolves({ ETag: '"record"' });
  codepipeline.on(PutJobSuccessResultCommand).resolves({});
  codepipeline.on(PutJobFailureResultCommand).resolves({});
});

test('records what the endpoint serves at deployments/<endpoint>/<time>_<execution>.json and ends the job with the key', async () => {
  // WHEN
  const result = await recordDeployment(clients, jobEvent(PARAMETERS), options);

  // THEN it followed the endpoint to the image it serves
  expect(sagemaker).toHaveReceivedCommandWith(DescribeEndpointCommand, { EndpointName: 'fraud-prod' });
  expect(sagemaker).toHaveReceivedCommandWith(DescribeEndpointConfigCommand, { EndpointConfigName: 'fraud-prod-cfg-7' });
  expect(sagemaker).toHaveReceivedCommandWith(DescribeModelCommand, { ModelName: 'fraud-prod-model-7' });
  // and looked for a record of the execution under the endpoint's prefix
  expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: 'ledger', Prefix: 'deployments/fraud-prod/' });
  // and wrote exactly this record, once
  expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
  expect(put).toMatchObject({ Bucket: 'ledger', Key: KEY, ContentType: 'application/json' });
  expect(JSON.parse(put.Body as string)).toEqual({
    endpointName: 'fraud-prod',
    deployedAt: '2026-11-23T10:15:00.000Z',
    endpointConfigName: 'fraud-prod-cfg-7',
    modelName: 'fraud-prod-model-7',
    imageUri: IMAGE,
    modelPackageArn: PACKAGE,
    commit: '9fceb02',
    dataVersionId: 'd41d8cd98f00b204e9800998ecf8427e',
    pipelineExecutionId: EXECUTION,
    approver: 'alice@example.com',
  });
  // and ended the job with the output variables
  expect(codepipeline).toHaveReceivedCommandTimes(PutJobSuccessResultCommand, 1);
  expect(codepipeline).toHaveReceivedCommandWith(PutJobSuccessResultCommand, {
    jobId: 'job-1',
    outputVariables: { LEDGER_KEY: KEY, ENDPOINT_CONFIG: 'fraud-prod-cfg-7' },
  });
  expect(codepipeline).not.toHaveReceivedCommand(PutJobFailureResultCommand);
  expect(result).toEqual({ jobId: 'job-1', succeeded: true, ledgerKey: KEY, endpointConfigName: 'fraud-prod-cfg-7', written: true });
});

test('records approver null when the pipeline names no approver', async () => {
  const { approver: _, ...withoutApprover } = PARAMETERS;

  await recordDeployment(clients, jobEvent(withoutApprover), options);

  const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
  expect(JSON.parse(put.Body as string)).toHaveProperty('approver', null);
});

test('fails the job naming both images, and records nothing, when the endpoint serves another image', async () => {
  // GIVEN SageMaker rolled the deployment back: the endpoint still serves the old image
  sagemaker.reset();
  endpointServes(OLD_IMAGE);

  // WHEN
  const result = await recordDeployment(clients, jobEvent(PARAMETERS), options);

  // THEN the job failed, without an exception
  const message = failureMessageSent();
  expect(message).toContain(`DeploymentRolledBack: the endpoint serves ${OLD_IMAGE}, not ${IMAGE}: the deployment was rolled back`);
  expect(codepipeline).toHaveReceivedCommandWith(PutJobFailureResultCommand, { jobId: 'job-1', failureDetails: { type: 'JobFailed', message } });
  expect(result).toEqual({ jobId: 'job-1', succeeded: false, message });
  // and nothing was recorded
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  expect(codepipeline).not.toHaveReceivedCommand(PutJobSuccessResultCommand);
});

test.each(['Updating', 'Failed'] as const)('fails the job, and records nothing, when the endpoint is %s', async (status) => {
  // GIVEN
  sagemaker.reset();
  endpointServes(IMAGE, status);

  // WHEN
  const result = await recordDeployment(clients, jobEvent(PARAMETERS), options);

  // THEN
  expect(failureMessageSent()).toContain(`EndpointNotInService: endpoint 'fraud-prod' is ${status}, not InService`);
  expect(result.succeeded).toBe(false);
  expect(sagemaker).not.toHaveReceivedCommand(DescribeEndpointConfigCommand);
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  expect(codepipeline).not.toHaveReceivedCommand(PutJobSuccessResultCommand);
});

test('writes no second record when the execution has one already, and succeeds with its key', async () => {
  // GIVEN the ledger holds the execution's record, made by an earlier run, on its second page
  const earlier = `deployments/fraud-prod/2026-11-23T10:14:02.345Z_${EXECUTION}.json`;
  ledgerHolds([
    'deployments/fraud-prod/2026-10-01T09:00:00.000Z_0a1b2c3d-0000-0000-0000-000000000001.json',
    'deployments/fraud-prod/2026-11-01T09:00:00.000Z_0a1b2c3d-0000-0000-0000-000000000002.json',
    earlier,
  ]);

  // WHEN
  const result = await recordDeployment(clients, jobEvent(PARAMETERS), options);

  // THEN
  expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 2);
  expect(s3.commandCalls(ListObjectsV2Command)[1].args[0].input).toEqual({ Bucket: 'ledger', Prefix: 'deployments/fraud-prod/', ContinuationToken: '2' });
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  expect(codepipeline).toHaveReceivedCommandWith(PutJobSuccessResultCommand, {
    jobId: 'job-1',
    outputVariables: { LEDGER_KEY: earlier, ENDPOINT_CONFIG: 'fraud-prod-cfg-7' },
  });
  expect(result).toMatchObject({ succeeded: true, ledgerKey: earlier, written: false });
});

test('records a new deployment when the ledger holds records of other executions only', async () => {
  ledgerHolds([
    'deployments/fraud-prod/2026-10-01T09:00:00.000Z_0a1b2c3d-0000-0000-0000-000000000001.json',
    `deployments/fraud-prod/2026-11-01T09:00:00.000Z_${EXECUTION}0.json`,
    'deployments/fraud-prod/README.md',
  ]);

  const result = await recordDeployment(clients, jobEvent(PARAMETERS), options);

  expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 2);
  expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Key: KEY });
  expect(result).toMatchObject({ succeeded: true, written: true });
});

// The SDK's retries happen inside the client (tested through its middleware in test/lambda/shared/sdk-clients.test.ts):
// what reaches this function is the error after them.
test('fails the job with the error the client gives back after its retries, and records nothing', async () => {
  sagemaker.on(DescribeEndpointCommand).rejects(sageMakerError('ThrottlingException', 400, 'Rate exceeded'));

  const result = await recordDeployment(clients, jobEvent(PARAMETERS), options);

  expect(sagemaker).toHaveReceivedCommandTimes(DescribeEndpointCommand, 1);
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  expect(codepipeline).not.toHaveReceivedCommand(PutJobSuccessResultCommand);
  expect(result).toMatchObject({ succeeded: false, message: expect.stringContaining('ThrottlingException') });
});

test('fails the job naming the missing fields of invalid UserParameters, and calls nothing else', async () => {
  // GIVEN
  const { imageUri: _image, commit: _commit, ...incomplete } = PARAMETERS;

  // WHEN
  const result = await recordDeployment(clients, jobEvent(incomplete), options);

  // THEN
  const message = failureMessageSent();
  expect(message).toContain('InvalidPipelineJob: record-deployment: UserParameters: "imageUri" is missing; "commit" is missing.');
  expect(codepipeline).toHaveReceivedCommandWith(PutJobFailureResultCommand, { jobId: 'job-1', failureDetails: { type: 'JobFailed', message } });
  expect(result).toEqual({ jobId: 'job-1', succeeded: false, message });
  expect(sagemaker.calls()).toHaveLength(0);
  expect(s3.calls()).toHaveLength(0);
});

test('fails the job when UserParameters is not JSON', async () => {
  const result = await recordDeployment(clients, jobEvent('endpointName=fraud-prod'), options);

  expect(failureMessageSent()).toContain('InvalidPipelineJob: record-deployment: UserParameters is not valid JSON');
  expect(result.succeeded).toBe(false);
});

test('throws InvalidPipelineJob, and ends no job, when the event has no job id', async () => {
  await expect(recordDeployment(clients, { endpointName: 'fraud-prod' }, options)).rejects.toMatchObject({ name: 'InvalidPipelineJob' });

  expect(codepipeline.calls()).toHaveLength(0);
  expect(sagemaker.calls()).toHaveLength(0);
});

test('fails the job with LedgerNotConfigured when there is no ledger bucket', async () => {
  const result = await recordDeployment(clients, jobEvent(PARAMETERS), { ...options, ledgerBucket: undefined });

  expect(failureMessageSent()).toContain('LedgerNotConfigured: record-deployment: the LEDGER_BUCKET environment variable is not set');
  expect(result.succeeded).toBe(false);
  expect(sagemaker.calls()).toHaveLength(0);
});

test('fails the job with the AWS error when the record cannot be written', async () => {
  // GIVEN
  s3.on(PutObjectCommand).rejects(s3Error('AccessDenied', 403, 'not authorized to perform: s3:PutObject'));

  // WHEN
  const result = await recordDeployment(clients, jobEvent(PARAMETERS), options);

  // THEN not retried, reported, not thrown
  expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  expect(failureMessageSent()).toBe('AccessDenied: not authorized to perform: s3:PutObject');
  expect(result.succeeded).toBe(false);
  expect(codepipeline).not.toHaveReceivedCommand(PutJobSuccessResultCommand);
});

test('fails the job when the endpoint does not exist', async () => {
  sagemaker.on(DescribeEndpointCommand).rejects(sageMakerError('ValidationException', 400, 'Could not find endpoint "fraud-prod".'));

  const result = await recordDeployment(clients, jobEvent(PARAMETERS), options);

  expect(failureMessageSent()).toBe('ValidationException: Could not find endpoint "fraud-prod".');
  expect(result.succeeded).toBe(false);
});

test('throws when CodePipeline does not take the failure, naming both errors', async () => {
  // GIVEN the endpoint serves the old image, and the failure cannot be reported
  sagemaker.reset();
  endpointServes(OLD_IMAGE);
  codepipeline
    .on(PutJobFailureResultCommand)
    .rejects(new CodePipelineServiceException({ name: 'InvalidJobStateException', $fault: 'client', $metadata: { httpStatusCode: 400 }, message: 'done' }));

  // WHEN
  const error = await recordDeployment(clients, jobEvent(PARAMETERS), options).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'JobResultNotReported' });
  expect((error as Error).message).toContain("PutJobFailureResult for job 'job-1' failed (InvalidJobStateException: done)");
  expect((error as Error).message).toContain(`the job failed with: DeploymentRolledBack: the endpoint serves ${OLD_IMAGE}`);
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
});

describe('handler', () => {
  const saved = process.env.LEDGER_BUCKET;
  afterEach(() => {
    if (saved === undefined) delete process.env.LEDGER_BUCKET;
    else process.env.LEDGER_BUCKET = saved;
  });

  test('records into LEDGER_BUCKET with the module clients', async () => {
    // GIVEN
    process.env.LEDGER_BUCKET = 'prod-ledger';

    // WHEN
    const result = await handler(jobEvent(PARAMETERS));

    // THEN the key has the real time of the call
    expect(result).toMatchObject({ jobId: 'job-1', succeeded: true, written: true });
    const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
    expect(put.Bucket).toBe('prod-ledger');
    expect(put.Key).toMatch(new RegExp(`^deployments/fraud-prod/\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z_${EXECUTION}\\.json$`));
    expect(codepipeline).toHaveReceivedCommandWith(PutJobSuccessResultCommand, { jobId: 'job-1' });
  });
});
