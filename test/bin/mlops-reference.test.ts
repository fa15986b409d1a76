import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MlOpsReferenceStack, SOURCE_OBJECT_KEY } from '../../bin/mlops-reference-stack';
import { complianceFindings } from '../support/compliance';

test('the reference stack has no unacknowledged finding in the five cdk-nag packs', () => {
  expect(complianceFindings((app) => new MlOpsReferenceStack(app, 'Reference'))).toEqual([]);
});

test('the reference stack meets the AWS Control Tower proactive controls, but for exemptions recorded on resources', () => {
  expect(complianceFindings((app) => new MlOpsReferenceStack(app, 'Reference'), { controlTower: true })).toEqual([]);
});

test('the reference stack is environment-agnostic and its template is stable', () => {
  const stack = new MlOpsReferenceStack(new App(), 'MlOpsReference');
  expect(stack.resolve(stack.account)).toEqual({ Ref: 'AWS::AccountId' });
  expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
});

describe('the source of the reference app', () => {
  const connection = 'arn:aws:codeconnections:eu-west-1:111122223333:connection/0a1b2c3d-4e5f-6789-abcd-ef0123456789';

  test('is a zip in a versioned, retained bucket of its own by default, so a first deploy needs no connection', () => {
    const template = Template.fromStack(new MlOpsReferenceStack(new App(), 'Reference'));
    expect(Object.keys(template.findParameters('CodeConnectionArn'))).toEqual([]);
    const stages = template.findResources('AWS::CodePipeline::Pipeline');
    const source = (Object.values(stages)[0] as any).Properties.Stages[0].Actions[0];
    expect(source.ActionTypeId).toMatchObject({ Category: 'Source', Provider: 'S3' });
    expect(source.Configuration.S3ObjectKey).toBe(SOURCE_OBJECT_KEY);
    template.hasOutput('SourceBucketName', {});
  });

  test('is the repository of a CodeConnections connection when the context names one', () => {
    const app = new App({ context: { connectionArn: connection, repositoryOwner: 'acme', repositoryName: 'fraud-model' } });
    const template = Template.fromStack(new MlOpsReferenceStack(app, 'Reference'));
    const source = (Object.values(template.findResources('AWS::CodePipeline::Pipeline'))[0] as any).Properties.Stages[0].Actions[0];
    expect(source.ActionTypeId).toMatchObject({ Category: 'Source', Provider: 'CodeStarSourceConnection' });
    expect(source.Configuration).toMatchObject({ ConnectionArn: connection, FullRepositoryId: 'acme/fraud-model', BranchName: 'main' });
    expect(template.findOutputs('SourceBucketName')).toEqual({});
  });

  test('fails when the context names a connection but not the repository', () => {
    const app = new App({ context: { connectionArn: connection } });
    expect(() => new MlOpsReferenceStack(app, 'Reference')).toThrow(/needs 'repositoryOwner' and 'repositoryName' too/);
  });
});

describe('a first deploy of the reference app in an empty account', () => {
  const template = Template.fromStack(new MlOpsReferenceStack(new App(), 'Reference')).toJSON();

  test('needs no parameter value: every parameter has a default (the bootstrap version\'s included)', () => {
    const withoutDefault = Object.entries<any>(template.Parameters ?? {}).filter(([, p]) => p.Default === undefined).map(([name]) => name);
    expect(withoutDefault).toEqual([]);
    expect(Object.keys(template.Parameters ?? {})).not.toContain('ServingImageUri');
  });

  test('creates no SageMaker model, endpoint configuration, endpoint or scalable target: the pipeline\'s deployments own them', () => {
    const types = new Set(Object.values<any>(template.Resources).map((r) => r.Type));
    for (const type of ['AWS::SageMaker::Endpoint', 'AWS::SageMaker::Model', 'AWS::SageMaker::EndpointConfig', 'AWS::ApplicationAutoScaling::ScalableTarget']) {
      expect(types).not.toContain(type);
    }
  });
});
