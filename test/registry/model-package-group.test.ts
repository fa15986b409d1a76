import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import { ModelPackageGroup } from '../../lib';
import { stackFindings } from '../support/compliance';

function newStack(): Stack {
  return new Stack(new App(), 'Test');
}

function role(stack: Stack, id = 'Role'): iam.Role {
  return new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') });
}

function policyStatements(stack: Stack): unknown[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  type Policy = { Properties: { PolicyDocument: { Statement: unknown[] } } };
  return Object.values(policies).flatMap((p) => (p as Policy).Properties.PolicyDocument.Statement);
}

describe('ModelPackageGroup', () => {
  test('defaults: a generated valid name, retained on destroy, no resource policy', () => {
    const stack = newStack();
    const group = new ModelPackageGroup(stack, 'Models');

    const template = Template.fromStack(stack);
    template.hasResource('AWS::SageMaker::ModelPackageGroup', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { ModelPackageGroupName: group.modelPackageGroupName, ModelPackageGroupPolicy: Match.absent() },
    });
    expect(group.modelPackageGroupName).toMatch(/^[a-z0-9](-*[a-z0-9]){0,62}$/);
    expect(stack.resolve(group.modelPackageGroupArn)).toEqual({ 'Fn::GetAtt': ['ModelsC55D3500', 'ModelPackageGroupArn'] });
  });

  test('takes a name, a description and a removal policy', () => {
    const stack = newStack();
    new ModelPackageGroup(stack, 'Models', {
      modelPackageGroupName: 'Fraud-Detector',
      description: 'fraud',
      removalPolicy: RemovalPolicy.DESTROY,
    });
    Template.fromStack(stack).hasResource('AWS::SageMaker::ModelPackageGroup', {
      DeletionPolicy: 'Delete',
      Properties: { ModelPackageGroupName: 'Fraud-Detector', ModelPackageGroupDescription: 'fraud' },
    });
  });

  test('readerAccounts writes a read-only resource policy on the group and its versions', () => {
    const stack = newStack();
    new ModelPackageGroup(stack, 'Models', { modelPackageGroupName: 'Fraud', readerAccounts: ['111122223333'] });
    const policy = Template.fromStack(stack).findResources('AWS::SageMaker::ModelPackageGroup');
    const document = Object.values(policy)[0].Properties.ModelPackageGroupPolicy;
    const resolved = JSON.stringify(stack.resolve(document));
    expect(resolved).toContain('"Action":["sagemaker:DescribeModelPackageGroup"]');
    expect(resolved).toContain('"Action":["sagemaker:DescribeModelPackage","sagemaker:ListModelPackages"]');
    expect(resolved).toContain(':iam::111122223333:root');
    expect(resolved).toContain(':model-package/fraud/*');
    expect(resolved).not.toMatch(/UpdateModelPackage|CreateModelPackage/);
  });

  test('grantRead: describe on the group and its versions, list on * (no resource-level permission exists)', () => {
    const stack = newStack();
    const group = new ModelPackageGroup(stack, 'Models', { modelPackageGroupName: 'fraud' });
    group.grantRead(role(stack));
    const statements = stack.resolve(policyStatements(stack));
    expect(statements).toEqual([
      {
        Action: ['sagemaker:DescribeModelPackageGroup', 'sagemaker:DescribeModelPackage'],
        Effect: 'Allow',
        Resource: [
          { 'Fn::GetAtt': ['ModelsC55D3500', 'ModelPackageGroupArn'] },
          { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':model-package/fraud/*']] },
        ],
      },
      { Action: 'sagemaker:ListModelPackages', Effect: 'Allow', Resource: '*' },
    ]);
  });

  test('grantRegister and grantApprove are scoped to the group', () => {
    const stack = newStack();
    const group = new ModelPackageGroup(stack, 'Models', { modelPackageGroupName: 'fraud' });
    group.grantRegister(role(stack));
    group.grantApprove(role(stack, 'Approver'));
    const json = JSON.stringify(stack.resolve(policyStatements(stack)));
    expect(json).toContain('"Action":["sagemaker:CreateModelPackage","sagemaker:AddTags"]');
    expect(json).toContain('"Action":["sagemaker:UpdateModelPackage","sagemaker:DescribeModelPackage"]');
    expect(json).not.toContain('"Resource":"*"');
  });

  test('imports by name and by ARN, with lower-cased ARNs as SageMaker writes them', () => {
    const stack = newStack();
    const byName = ModelPackageGroup.fromModelPackageGroupName(stack, 'ByName', 'Fraud');
    expect(stack.resolve(byName.modelPackageGroupArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':model-package-group/fraud']],
    });

    const byArn = ModelPackageGroup.fromModelPackageGroupArn(stack, 'ByArn', 'arn:aws:sagemaker:us-east-1:444455556666:model-package-group/shared');
    expect(byArn.modelPackageGroupName).toBe('shared');
    expect(byArn.env.account).toBe('444455556666');
    expect(byArn.modelPackagesArn).toBe('arn:aws:sagemaker:us-east-1:444455556666:model-package/shared/*');
  });

  test('has no unacknowledged cdk-nag finding at its defaults', () => {
    expect(stackFindings((stack) => new ModelPackageGroup(stack, 'Models'))).toEqual([]);
  });

  describe('fails when', () => {
    test.each(['-leading-hyphen', 'has_underscore', 'a'.repeat(64), ''])('the name is %p', (name) => {
      expect(() => new ModelPackageGroup(newStack(), 'Models', { modelPackageGroupName: name })).toThrow(
        /ModelPackageGroup 'Test\/Models': invalid modelPackageGroupName .*Use 1-63 letters, digits and hyphens/,
      );
    });

    test('two groups have one name in one account and region (the second would fail to deploy)', () => {
      const stack = newStack();
      new ModelPackageGroup(stack, 'First', { modelPackageGroupName: 'fraud' });
      expect(() => new ModelPackageGroup(stack, 'Second', { modelPackageGroupName: 'fraud' })).toThrow(
        /ModelPackageGroup 'Test\/Second': invalid modelPackageGroupName 'fraud'. Test\/First already creates the model package group 'fraud'/,
      );
      // Importing the same name is fine: it creates nothing.
      expect(() => ModelPackageGroup.fromModelPackageGroupName(stack, 'Imported', 'fraud')).not.toThrow();
    });

    test('an imported name is invalid', () => {
      expect(() => ModelPackageGroup.fromModelPackageGroupName(newStack(), 'G', 'bad name')).toThrow(
        /invalid modelPackageGroupName 'bad name'/,
      );
    });

    test('the ARN is not a model package group ARN', () => {
      expect(() => ModelPackageGroup.fromModelPackageGroupArn(newStack(), 'G', 'arn:aws:s3:::bucket/key')).toThrow(
        /invalid modelPackageGroupArn 'arn:aws:s3:::bucket\/key'.*model-package-group\/<name>/,
      );
    });

    test('a reader account is not a 12-digit id', () => {
      expect(() => new ModelPackageGroup(newStack(), 'Models', { readerAccounts: ['12345'] })).toThrow(
        /invalid readerAccounts '12345'. Give 12-digit AWS account ids/,
      );
    });

    test('the description is longer than SageMaker accepts', () => {
      expect(() => new ModelPackageGroup(newStack(), 'Models', { description: 'x'.repeat(1025) })).toThrow(
        /invalid description .*at most 1024 characters/,
      );
    });
  });
});
