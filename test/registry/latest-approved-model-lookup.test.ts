import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { LatestApprovedModelLookup, ModelPackageGroup } from '../../lib';
import { stackFindings } from '../support/compliance';

function setup() {
  const stack = new Stack(new App(), 'Test');
  const group = new ModelPackageGroup(stack, 'Models', { modelPackageGroupName: 'fraud' });
  return { stack, group };
}

test('a pre-bundled Node.js 24 function on arm64 with tracing, JSON logs and the group in its environment', () => {
  const { stack, group } = setup();
  new LatestApprovedModelLookup(stack, 'Champion', { modelPackageGroup: group });

  const template = Template.fromStack(stack);
  template.hasResourceProperties('AWS::Lambda::Function', {
    Runtime: 'nodejs24.x',
    Handler: 'index.handler',
    Architectures: ['arm64'],
    TracingConfig: { Mode: 'Active' },
    LoggingConfig: Match.objectLike({ LogFormat: 'JSON' }),
    Environment: { Variables: Match.objectLike({ MODEL_PACKAGE_GROUP_NAME: 'fraud' }) },
    VpcConfig: Match.absent(),
  });
  template.hasResource('AWS::Logs::LogGroup', {
    DeletionPolicy: 'Retain',
    Properties: { RetentionInDays: 365, KmsKeyId: Match.anyValue() },
  });
  template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
});

test('the function may read the group and nothing else', () => {
  const { stack, group } = setup();
  new LatestApprovedModelLookup(stack, 'Champion', { modelPackageGroup: group });

  const statements = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  const json = JSON.stringify(stack.resolve(Object.values(statements).map((p) => p.Properties.PolicyDocument)));
  expect(json).toContain('sagemaker:DescribeModelPackageGroup');
  expect(json).toContain('sagemaker:ListModelPackages');
  expect(json).not.toMatch(/CreateModelPackage|UpdateModelPackage|sagemaker:\*/);
});

test('grantInvoke lets a principal invoke the function', () => {
  const { stack, group } = setup();
  const lookup = new LatestApprovedModelLookup(stack, 'Champion', { modelPackageGroup: group });
  lookup.grantInvoke(new iam.Role(stack, 'Caller', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') }));
  Template.fromStack(stack).hasResourceProperties('AWS::IAM::Policy', {
    PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'lambda:InvokeFunction' })]) },
  });
});

test('runs in the given VPC on private subnets', () => {
  const { stack, group } = setup();
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  new LatestApprovedModelLookup(stack, 'Champion', { modelPackageGroup: group, vpc });
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
    VpcConfig: { SubnetIds: Match.arrayWith([{ Ref: Match.stringLikeRegexp('VpcPrivateSubnet1') }]) },
  });
});

test('has no unacknowledged cdk-nag finding at its defaults', () => {
  expect(
    stackFindings((stack) => {
      const group = new ModelPackageGroup(stack, 'Models');
      new LatestApprovedModelLookup(stack, 'Champion', { modelPackageGroup: group });
    }),
  ).toEqual([]);
});
