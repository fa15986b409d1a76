import { App, ArnFormat, Duration, Size, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import {
  DeploymentLedger, EndpointDeployment, EndpointTestRunner, MlPipeline, MlPipelineProps, ModelEndpoint, ModelImageRepository, PipelineSource,
  ServingImageBuild, TrainingImageBuild,
} from '../../lib';
import { BUILD_TIMEOUT_MINUTES } from '../fixtures/aws/codebuild';
import { complianceFindings } from '../support/compliance';
import { workflowStack } from '../workflow/fixture';

const CONNECTION = 'arn:aws:codeconnections:us-east-1:123456789012:connection/0123abcd-4567-89ef-0123-456789abcdef';
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:pypi-token-AbCdEf';

function pipelineStack(overrides: Partial<MlPipelineProps> = {}, app: App = new App()) {
  const base = workflowStack({}, app);
  const { stack } = base;
  const images = new ModelImageRepository(stack, 'ServingImages');
  const staging = new ModelEndpoint(stack, 'Staging', { imageRepository: images, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
  const production = new ModelEndpoint(stack, 'Production', { imageRepository: images, production: true });
  const pipeline = new MlPipeline(stack, 'Pipeline', {
    source: PipelineSource.connection({ connectionArn: CONNECTION, owner: 'acme', repository: 'fraud-model' }),
    training: base.workflow,
    trainingImageBuild: new TrainingImageBuild(stack, 'TrainingImageBuild', { repository: base.trainingImages }),
    imageBuild: new ServingImageBuild(stack, 'ImageBuild', { repository: images, modelPackageGroup: base.group, modelBucket: base.models }),
    stagingDeployment: new EndpointDeployment(stack, 'StagingDeployment', { endpoint: staging }),
    stagingTest: new EndpointTestRunner(stack, 'StagingTest', { endpoint: staging, samples: [{ name: 'fraud', body: '{"amount": 1200}' }] }),
    productionDeployment: new EndpointDeployment(stack, 'ProductionDeployment', { endpoint: production }),
    ledger: new DeploymentLedger(stack, 'Ledger', { endpoints: [production] }),
    dataPrefix: 'datasets/fraud/',
    ...overrides,
  });
  return { stack, pipeline };
}

/** The CodeBuild project of the Check stage's tests. */
function checkProject(stack: Stack, pipeline: MlPipeline): any {
  return Template.fromStack(stack).findResources('AWS::CodeBuild::Project')[stack.getLogicalId(pipeline.checkProject.node.defaultChild as codebuild.CfnProject)];
}

const WITH_SECRETS = {
  buildImage: codebuild.LinuxBuildImage.AMAZON_LINUX_2_5,
  computeType: codebuild.ComputeType.MEDIUM,
  timeout: Duration.hours(2),
  environmentVariables: {
    STAGE: { value: 'check' },
    PYPI_TOKEN: { type: codebuild.BuildEnvironmentVariableType.SECRETS_MANAGER, value: `${SECRET_ARN}:token` },
    DATASET_URL: { type: codebuild.BuildEnvironmentVariableType.PARAMETER_STORE, value: '/fraud/check/dataset-url' },
    HUB_TOKEN: { type: codebuild.BuildEnvironmentVariableType.SECRETS_MANAGER, value: 'fraud/hub-token' },
  },
};

describe('MlPipeline Check stage', () => {
  test('defaults: the image builds\' standard:8.0 image, SMALL, 30 minutes, no variables', () => {
    const { stack, pipeline } = pipelineStack();
    const project = checkProject(stack, pipeline);
    expect(project.Properties.Environment).toMatchObject({ Image: 'aws/codebuild/standard:8.0', ComputeType: 'BUILD_GENERAL1_SMALL' });
    expect(project.Properties.Environment.EnvironmentVariables).toBeUndefined();
    expect(project.Properties.TimeoutInMinutes).toBe(30);
    // One image for every build of the pipeline: the Check stage tests on the tools the image builds use.
    const images = Object.values(Template.fromStack(stack).findResources('AWS::CodeBuild::Project')).map((p: any) => p.Properties.Environment.Image);
    expect(new Set(images)).toEqual(new Set(['aws/codebuild/standard:8.0']));
  });

  test('image, compute type, timeout, variables and secrets as given; the role reads exactly those secrets', () => {
    const { stack, pipeline } = pipelineStack({ checkOptions: WITH_SECRETS });
    const project = checkProject(stack, pipeline);
    expect(project.Properties.Environment).toMatchObject({
      Image: 'aws/codebuild/amazonlinux2-x86_64-standard:5.0',
      ComputeType: 'BUILD_GENERAL1_MEDIUM',
      EnvironmentVariables: [
        { Name: 'STAGE', Type: 'PLAINTEXT', Value: 'check' },
        { Name: 'PYPI_TOKEN', Type: 'SECRETS_MANAGER', Value: `${SECRET_ARN}:token` },
        { Name: 'DATASET_URL', Type: 'PARAMETER_STORE', Value: '/fraud/check/dataset-url' },
        { Name: 'HUB_TOKEN', Type: 'SECRETS_MANAGER', Value: 'fraud/hub-token' },
      ],
    });
    expect(project.Properties.TimeoutInMinutes).toBe(120);
    const statements = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))
      .flatMap((p: any) => stack.resolve(p.Properties.PolicyDocument.Statement));
    expect(statements.filter((s: any) => /secretsmanager:|ssm:/.test(JSON.stringify(s.Action)))).toEqual([
      { Action: 'ssm:GetParameters', Effect: 'Allow', Resource: stack.resolve(stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: 'fraud/check/dataset-url' })) },
      {
        Action: 'secretsmanager:GetSecretValue',
        Effect: 'Allow',
        // A full ARN is granted with * after it; a name with the six characters Secrets Manager appends (?????? ).
        Resource: [`${SECRET_ARN}*`, stack.resolve(stack.formatArn({ service: 'secretsmanager', resource: 'secret', resourceName: 'fraud/hub-token-??????', arnFormat: ArnFormat.COLON_RESOURCE_NAME }))],
      },
    ]);
  });

  test('with secrets, no unacknowledged finding in the five packs', () => {
    expect(complianceFindings((app) => { pipelineStack({ checkOptions: WITH_SECRETS }, app); })).toEqual([]);
  });

  test('a wildcard on another secret still surfaces', () => {
    const findings = complianceFindings((app) => {
      const { pipeline } = pipelineStack({ checkOptions: WITH_SECRETS }, app);
      pipeline.checkProject.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: ['arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/*'] }));
    });
    expect(findings).toEqual(['AwsSolutions-IAM5[Resource::arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/*] at Test/Pipeline/Check/Role/DefaultPolicy/Resource']);
  });

  test.each([BUILD_TIMEOUT_MINUTES.value.min, BUILD_TIMEOUT_MINUTES.value.max])('a timeout of %p minutes is fine for CodeBuild', (minutes) => {
    expect(() => pipelineStack({ checkOptions: { timeout: Duration.minutes(minutes) } })).not.toThrow();
  });

  describe('fails when', () => {
    test.each([
      [Duration.minutes(BUILD_TIMEOUT_MINUTES.value.min - 1), '4 minutes'],
      [Duration.minutes(BUILD_TIMEOUT_MINUTES.value.max + 1), '2161 minutes'],
      [Duration.seconds(330), '5.5 minutes'],
    ])('the timeout is %s', (timeout, shown) => {
      expect(() => pipelineStack({ checkOptions: { timeout } })).toThrow(
        new RegExp(`MlPipeline '.*Pipeline': invalid checkOptions.timeout '${shown}'. CodeBuild accepts whole minutes from 5 to 2160`));
    });

    test('AWS credentials are given in plain text', () => {
      expect(() => pipelineStack({ checkOptions: { environmentVariables: { AWS_SECRET_ACCESS_KEY: { value: 'wJalrXUtnFEMI' } } } })).toThrow(
        /invalid checkOptions.environmentVariables.AWS_SECRET_ACCESS_KEY 'plain text'. The build runs with its own role: .*SECRETS_MANAGER or PARAMETER_STORE/);
    });
  });
});
