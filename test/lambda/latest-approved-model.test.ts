import {
  DescribeModelPackageCommand,
  DescribeModelPackageGroupCommand,
  ListModelPackagesCommand,
  SageMakerClient,
  SageMakerServiceException,
} from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { findLatestApprovedModel, handler } from '../../lambda/latest-approved-model.lambda';

const sagemaker = mockClient(SageMakerClient);
const arn = (v: number) => `arn:aws:sagemaker:eu-west-1:111122223333:model-package/fraud/${v}`;

function serviceError(name: string, message: string, status: number): SageMakerServiceException {
  return new SageMakerServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

function describedPackage(version: number) {
  return {
    ModelPackageArn: arn(version),
    ModelPackageGroupName: 'fraud',
    ModelPackageVersion: version,
    ModelApprovalStatus: 'Approved' as const,
    InferenceSpecification: {
      Containers: [{ Image: `123.dkr.ecr.eu-west-1.amazonaws.com/fraud@sha256:${version}`, ModelDataUrl: `s3://models/${version}.tar.gz` }],
      SupportedContentTypes: [],
      SupportedResponseMIMETypes: [],
    },
    CustomerMetadataProperties: { commit: `c${version}` },
  };
}

beforeEach(() => {
  sagemaker.reset();
  sagemaker.on(DescribeModelPackageGroupCommand).resolves({ ModelPackageGroupName: 'fraud' });
  sagemaker.on(DescribeModelPackageCommand).callsFake((input: { ModelPackageName: string }) =>
    describedPackage(Number(input.ModelPackageName.split('/').pop())),
  );
});

test('asks for approved packages newest first and describes the newest', async () => {
  sagemaker.on(ListModelPackagesCommand).resolves({
    ModelPackageSummaryList: [
      { ModelPackageArn: arn(4), ModelPackageVersion: 4, ModelApprovalStatus: 'Approved', ModelPackageStatus: 'Completed', CreationTime: new Date() },
      { ModelPackageArn: arn(2), ModelPackageVersion: 2, ModelApprovalStatus: 'Approved', ModelPackageStatus: 'Completed', CreationTime: new Date() },
    ],
  });

  const model = await handler({ modelPackageGroupName: 'fraud' });

  expect(model).toMatchObject({
    modelPackageArn: arn(4),
    modelPackageVersion: 4,
    modelDataUrl: 's3://models/4.tar.gz',
    customerMetadata: { commit: 'c4' },
  });
  expect(sagemaker).toHaveReceivedCommandWith(ListModelPackagesCommand, {
    ModelPackageGroupName: 'fraud',
    ModelPackageType: 'Versioned',
    ModelApprovalStatus: 'Approved',
    SortBy: 'CreationTime',
    SortOrder: 'Descending',
  });
  expect(sagemaker).toHaveReceivedCommandWith(DescribeModelPackageCommand, { ModelPackageName: arn(4) });
});

test('follows NextToken past pages that hold no approved package', async () => {
  // The tokens as sent: the SDK's paginator reuses one input object for every page.
  const tokens: Array<string | undefined> = [];
  const pages = [
    { ModelPackageSummaryList: [], NextToken: 'page-2' },
    { ModelPackageSummaryList: [], NextToken: 'page-3' },
    {
      ModelPackageSummaryList: [
        { ModelPackageArn: arn(9), ModelPackageVersion: 9, ModelApprovalStatus: 'Approved', ModelPackageStatus: 'Completed', CreationTime: new Date() },
      ],
      NextToken: 'page-4',
    },
  ];
  sagemaker.on(ListModelPackagesCommand).callsFake((input: { NextToken?: string }) => pages[tokens.push(input.NextToken) - 1]);

  const model = await findLatestApprovedModel(new SageMakerClient({}), 'fraud');

  expect(model.modelPackageVersion).toBe(9);
  expect(sagemaker).toHaveReceivedCommandTimes(ListModelPackagesCommand, 3);
  expect(tokens).toEqual([undefined, 'page-2', 'page-3']);
});

test('passes on the throttling error the client gives back after its own retries', async () => {
  sagemaker.on(ListModelPackagesCommand).rejects(serviceError('ThrottlingException', 'Rate exceeded', 400));

  await expect(findLatestApprovedModel(new SageMakerClient({}), 'fraud')).rejects.toThrow('Rate exceeded');
  expect(sagemaker).toHaveReceivedCommandTimes(ListModelPackagesCommand, 1);
});

test('fails with ModelPackageGroupNotFound when the group does not exist', async () => {
  sagemaker
    .on(DescribeModelPackageGroupCommand)
    .rejects(serviceError('ValidationException', 'ModelPackageGroup arn:...:model-package-group/nope does not exist.', 400));

  const error = await findLatestApprovedModel(new SageMakerClient({}), 'nope').catch((e: Error) => e);

  expect(error).toMatchObject({ name: 'ModelPackageGroupNotFound' });
  expect((error as Error).message).toMatch(/'nope' does not exist/);
  expect(sagemaker).not.toHaveReceivedCommand(ListModelPackagesCommand);
});

test('fails with NoApprovedModelPackage when every page is empty', async () => {
  sagemaker
    .on(ListModelPackagesCommand)
    .resolvesOnce({ ModelPackageSummaryList: [], NextToken: 't' })
    .resolvesOnce({ ModelPackageSummaryList: [] });

  const error = await findLatestApprovedModel(new SageMakerClient({}), 'fraud').catch((e: Error) => e);

  expect(error).toMatchObject({ name: 'NoApprovedModelPackage' });
  expect((error as Error).message).toMatch(/'fraud' has no model package with status Approved/);
  expect(sagemaker).not.toHaveReceivedCommand(DescribeModelPackageCommand);
});

test('with allowNone, returns null when nothing is approved, but still fails for a missing group', async () => {
  sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
  await expect(handler({ modelPackageGroupName: 'fraud', allowNone: true })).resolves.toBeNull();
  await expect(handler({ modelPackageGroupName: 'fraud' })).rejects.toMatchObject({ name: 'NoApprovedModelPackage' });

  sagemaker.on(DescribeModelPackageGroupCommand).rejects(serviceError('ValidationException', 'ModelPackageGroup nope does not exist.', 400));
  await expect(handler({ modelPackageGroupName: 'nope', allowNone: true })).rejects.toMatchObject({ name: 'ModelPackageGroupNotFound' });
});

test('passes an access error through unchanged', async () => {
  sagemaker.on(DescribeModelPackageGroupCommand).rejects(serviceError('AccessDeniedException', 'not authorized', 400));

  await expect(findLatestApprovedModel(new SageMakerClient({}), 'fraud')).rejects.toMatchObject({
    name: 'AccessDeniedException',
  });
});

describe('group name', () => {
  const saved = process.env.MODEL_PACKAGE_GROUP_NAME;
  afterEach(() => {
    if (saved === undefined) delete process.env.MODEL_PACKAGE_GROUP_NAME;
    else process.env.MODEL_PACKAGE_GROUP_NAME = saved;
  });

  test('comes from the environment when the event has none', async () => {
    process.env.MODEL_PACKAGE_GROUP_NAME = 'from-env';
    sagemaker.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [
        { ModelPackageArn: arn(3), ModelPackageVersion: 3, ModelApprovalStatus: 'Approved', ModelPackageStatus: 'Completed', CreationTime: new Date() },
      ],
    });

    await handler({});

    expect(sagemaker).toHaveReceivedCommandWith(DescribeModelPackageGroupCommand, { ModelPackageGroupName: 'from-env' });
  });

  test('fails clearly when neither the event nor the environment names a group', async () => {
    delete process.env.MODEL_PACKAGE_GROUP_NAME;
    await expect(handler({})).rejects.toThrow(/no model package group given/);
  });
});
