import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DeploymentLedger } from '../../lib/pipeline/deployment-ledger';
import { ModelImageRepository } from '../../lib/registry/model-image-repository';
import { ModelEndpoint } from '../../lib/serving/model-endpoint';
import { VersionedBucket } from '../../lib/storage/versioned-bucket';
import { stackFindings } from '../support/compliance';

function setup() {
  const stack = new Stack(new App(), 'Test');
  const imageRepository = new ModelImageRepository(stack, 'Images');
  const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository, endpointName: 'fraud-prod', production: true });
  return { stack, endpoint };
}

function policyOf(stack: Stack, functionPrefix: string): any[] {
  const template = Template.fromStack(stack);
  const fn = Object.entries(template.findResources('AWS::Lambda::Function'))
    .find(([id]) => id.startsWith(functionPrefix));
  if (!fn) throw new Error(`no function ${functionPrefix}`);
  const roleId = (fn[1] as any).Properties.Role['Fn::GetAtt'][0];
  const policies = Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p: any) => p.Properties.Roles.some((r: any) => r.Ref === roleId));
  return stack.resolve(policies.flatMap((p: any) => p.Properties.PolicyDocument.Statement));
}

test('two pre-bundled functions with the ledger bucket in their environment', () => {
  const { stack, endpoint } = setup();
  new DeploymentLedger(stack, 'Ledger', { endpoints: [endpoint] });
  const template = Template.fromStack(stack);
  const env = { Variables: Match.objectLike({ LEDGER_BUCKET: { Ref: Match.stringLikeRegexp('^LedgerBucket') } }) };
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs24.x',
    Timeout: 120,
    MemorySize: 256,
    TracingConfig: { Mode: 'Active' },
    Environment: env,
    Description: Match.stringLikeRegexp('records a production deployment'),
  });
  template.hasResourceProperties('AWS::Lambda::Function', {
    Timeout: 60, Environment: env, Description: Match.stringLikeRegexp('which model served'),
  });
  // The default bucket keeps noncurrent versions 10 years and is retained.
  template.hasResourceProperties('AWS::S3::Bucket', {
    VersioningConfiguration: { Status: 'Enabled' },
    LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 3650 } })]) },
  });
  template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Retain', Properties: Match.objectLike({ VersioningConfiguration: Match.anyValue() }) });
});

test('record: describes the ledger\'s endpoints only, writes under deployments/, ends CodePipeline jobs', () => {
  const { stack, endpoint } = setup();
  new DeploymentLedger(stack, 'Ledger', { endpoints: [endpoint] });
  const all = policyOf(stack, 'LedgerRecordDeployment');
  const arn = (resource: string) => ({
    'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':',
      { Ref: 'AWS::AccountId' }, `:${resource}`]],
  });
  expect(all).toContainEqual(expect.objectContaining({ Action: 'sagemaker:DescribeEndpoint', Resource: arn('endpoint/fraud-prod') }));
  expect(all).toContainEqual(expect.objectContaining({ Action: 'sagemaker:DescribeEndpointConfig', Resource: arn('endpoint-config/*') }));
  expect(all).toContainEqual(expect.objectContaining({ Action: 'sagemaker:DescribeModel', Resource: arn('model/*') }));
  expect(all).toContainEqual(expect.objectContaining({
    Action: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'], Resource: '*',
  }));
  expect(all).toContainEqual(expect.objectContaining({
    Action: ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload', 's3:DeleteObject'],
    Resource: { 'Fn::Join': ['', [expect.anything(), '/deployments/*']] },
  }));
  expect(all).toContainEqual(expect.objectContaining({
    Action: ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation'],
    Condition: { StringLike: { 's3:prefix': ['deployments/*'] } },
  }));
  const json = JSON.stringify(all);
  expect(json).not.toMatch(/DeleteObjectVersion|"s3:\*"|"sagemaker:\*"|sagemaker:(Update|Create|Delete)/);
});

test('query: reads under deployments/ only, writes nothing; grantQuery invokes it', () => {
  const { stack, endpoint } = setup();
  const ledger = new DeploymentLedger(stack, 'Ledger', { endpoints: [endpoint] });
  ledger.grantQuery(new iam.Role(stack, 'Auditor', { assumedBy: new iam.AccountRootPrincipal() }));
  const all = policyOf(stack, 'LedgerQueryLedger');
  expect(all).toContainEqual(expect.objectContaining({
    Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'],
    Resource: { 'Fn::Join': ['', [expect.anything(), '/deployments/*']] },
  }));
  expect(JSON.stringify(all)).not.toMatch(/s3:PutObject|sagemaker:|codepipeline:|kms:Encrypt|kms:GenerateDataKey/);

  const auditor = Template.fromStack(stack).findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^Auditor') }] },
  });
  expect(stack.resolve(Object.values(auditor).flatMap((p: any) => p.Properties.PolicyDocument.Statement))).toContainEqual(expect.objectContaining({
    Action: 'lambda:InvokeFunction',
    Resource: expect.arrayContaining([{ 'Fn::GetAtt': [expect.stringMatching(/^LedgerQueryLedger/), 'Arn'] }]),
  }));
});

test('takes a bucket of its own', () => {
  const { stack, endpoint } = setup();
  const bucket = new VersionedBucket(stack, 'Mine');
  const ledger = new DeploymentLedger(stack, 'Ledger', { endpoints: [endpoint], bucket });
  expect(ledger.bucket).toBe(bucket);
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: Match.objectLike({ LEDGER_BUCKET: { Ref: Match.stringLikeRegexp('^Mine') } }) },
  });
});

test('has no unacknowledged cdk-nag or Control Tower finding', () => {
  expect(stackFindings((stack) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images') });
    new DeploymentLedger(stack, 'Ledger', { endpoints: [endpoint] });
  }, { controlTower: true })).toEqual([]);
});

describe('fails when', () => {
  test('no endpoint is given', () => {
    const { stack } = setup();
    expect(() => new DeploymentLedger(stack, 'L', { endpoints: [] })).toThrow(
      /DeploymentLedger 'Test\/L': invalid endpoints \[\]\. Give the endpoints/,
    );
  });
});
