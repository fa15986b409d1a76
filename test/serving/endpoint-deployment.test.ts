import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { DeploymentPolicy, ModelEndpoint, ModelEndpointProps, ModelImageRepository, VersionedBucket } from '../../lib';
import { EndpointDeployment } from '../../lib/serving/endpoint-deployment';
import { SAGEMAKER_ACTIONS_FOR_SCALING, SERVICE_LINKED_ROLE } from '../fixtures/aws/application-autoscaling';
import { TRAFFIC_ROUTING_REQUIRED } from '../fixtures/aws/sagemaker';
import { THROTTLING_ERRORS } from '../fixtures/aws/step-functions-errors';
import { stackFindings } from '../support/compliance';
import { stateMachineDefinition } from '../support/state-machine';


function deployment(props: Partial<ModelEndpointProps> = {}) {
  const stack = new Stack(new App(), 'Test');
  const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), endpointName: 'fraud-prod', ...props });
  const deploy = new EndpointDeployment(stack, 'Deploy', { endpoint });
  return { stack, endpoint, deploy, template: Template.fromStack(stack), definition: stateMachineDefinition(stack) };
}

function policyStatements(template: Template): any[] {
  const policies = template.findResources('AWS::IAM::Policy', {
    Properties: { Roles: [{ Ref: Match.stringLikeRegexp('^DeployRole') }] },
  });
  return Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

describe('EndpointDeployment of an instance endpoint', () => {
  const { stack, template, definition, endpoint, deploy } = deployment({ production: true, instanceType: 'ml.c6i.xlarge' });

  test('a standard state machine that logs everything to an encrypted log group, traced, with a 2 hour timeout', () => {
    template.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: {
        Level: 'ALL',
        IncludeExecutionData: true,
        Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DeployLogs'), 'Arn'] } } }],
      },
    });
    template.hasResourceProperties('AWS::Logs::LogGroup', { KmsKeyId: Match.anyValue() });
    expect(definition.TimeoutSeconds).toBe(7200);
    expect(deploy.stateMachine.node.id).toBe('Resource');
  });

  test('AWS SDK integrations of SageMaker, no Lambda', () => {
    const resources = Object.values(definition.States).map((s: any) => s.Resource).filter(Boolean);
    expect(new Set(resources)).toEqual(new Set([
      'arn:aws:states:::aws-sdk:sagemaker:describeEndpoint',
      'arn:aws:states:::aws-sdk:sagemaker:createModel',
      'arn:aws:states:::aws-sdk:sagemaker:createEndpointConfig',
      'arn:aws:states:::aws-sdk:sagemaker:createEndpoint',
      'arn:aws:states:::aws-sdk:sagemaker:updateEndpoint',
      'arn:aws:states:::aws-sdk:sagemaker:deleteEndpoint',
      'arn:aws:states:::aws-sdk:sagemaker:deleteEndpointConfig',
      'arn:aws:states:::aws-sdk:sagemaker:deleteModel',
      'arn:aws:states:::aws-sdk:applicationautoscaling:registerScalableTarget',
      'arn:aws:states:::aws-sdk:applicationautoscaling:putScalingPolicy',
    ]));
    template.resourceCountIs('AWS::Lambda::Function', 0);
  });

  test('one name per execution: the endpoint name and a hash of the execution ARN', () => {
    expect(definition.States['Name the deployment'].Parameters['name.$']).toBe("States.Format('fraud-prod-{}', States.Hash($$.Execution.Id, 'MD5'))");
  });

  test('the model: the new image, the endpoint\'s role, network isolation', () => {
    const p = definition.States['Create the model'].Parameters;
    expect(p).toMatchObject({
      'ModelName.$': '$.name',
      'ExecutionRoleArn': expect.stringContaining('EndpointRole'),
      'PrimaryContainer': { 'Image.$': '$.request.imageUri' },
      'EnableNetworkIsolation': true,
    });
    expect(p.VpcConfig).toBeUndefined();
  });

  test('the endpoint config mirrors the endpoint\'s: variant, instance type and count, volume key, data capture', () => {
    const p = definition.States['Create the endpoint config'].Parameters;
    expect(p.ProductionVariants).toEqual([{
      'VariantName': 'AllTraffic', 'ModelName.$': '$.name', 'InitialVariantWeight': 1, 'InstanceType': 'ml.c6i.xlarge', 'InitialInstanceCount': 2,
    }]);
    expect(p.KmsKeyId).toMatch(/MlOpsKeysKey/);
    expect(p['EndpointConfigName.$']).toBe('$.name');
    expect(p.DataCaptureConfig).toEqual({
      EnableCapture: true,
      InitialSamplingPercentage: 20,
      DestinationS3Uri: expect.stringMatching(/^s3:\/\/EndpointDataCapture[A-Z0-9]+\/data-capture\/fraud-prod$/),
      KmsKeyId: expect.stringMatching(/MlOpsKeysKey/),
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      CaptureContentTypeHeader: { JsonContentTypes: ['application/json'] },
    });
    expect(p.AsyncInferenceConfig).toBeUndefined();
  });

  test('the update keeps the variant properties and uses the endpoint\'s blue/green policy and rollback alarms', () => {
    const p = definition.States['Update the endpoint'].Parameters;
    expect(p).toMatchObject({ 'EndpointName': 'fraud-prod', 'EndpointConfigName.$': '$.name', 'RetainAllVariantProperties': true });
    expect(p.DeploymentConfig.BlueGreenUpdatePolicy).toEqual({
      TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 600 },
      TerminationWaitInSeconds: 600,
      MaximumExecutionTimeoutInSeconds: 3600,
    });
    expect(definition.States['Create the endpoint'].Parameters.DeploymentConfig).toBeUndefined();
    expect(p.DeploymentConfig.AutoRollbackConfiguration.Alarms).toEqual([
      { AlarmName: expect.stringMatching(/^EndpointErrors5xx/) },
      { AlarmName: expect.stringMatching(/^EndpointLatencyP99/) },
    ]);
    expect(endpoint.rollbackAlarms).toHaveLength(2);
  });

  test('the wait loop is bounded by the deployment\'s maximum duration plus a grace', () => {
    expect(definition.States['Wait for the deployment'].Seconds).toBe(60);
    expect(definition.States['Out of time?'].Choices[0]).toMatchObject({ Variable: '$.poll.count', NumericGreaterThanEquals: 60 + 15 });
  });

  test('IAM: names with the endpoint\'s prefix only, PassRole on the endpoint\'s role only to SageMaker', () => {
    const statements = stack.resolve(policyStatements(template));
    const find = (action: string) => statements.filter((s: any) => [s.Action].flat().includes(action));
    const json = (v: unknown) => JSON.stringify(v);
    expect(json(find('sagemaker:createModel')[0].Resource)).toMatch(/:model\/fraud-prod-\*/);
    expect(json(find('sagemaker:createEndpointConfig')[0].Resource)).toMatch(/:endpoint-config\/fraud-prod-\*/);
    expect(json(find('sagemaker:updateEndpoint')[0].Resource)).toMatch(/:endpoint\/fraud-prod"/);
    expect(json(find('sagemaker:describeEndpoint')[0].Resource)).toMatch(/:endpoint\/fraud-prod"/);
    const passRole = find('iam:PassRole');
    expect(passRole).toHaveLength(1);
    expect(passRole[0]).toMatchObject({
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^EndpointRole/), 'Arn'] },
      Condition: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
    });
    expect(json(find('sagemaker:AddTags')[0].Resource)).toMatch(/model\/fraud-prod-\*.*endpoint-config\/fraud-prod-\*/);
    expect(find('kms:CreateGrant')[0]).toMatchObject({
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] },
      Condition: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    });
    expect(find('kms:DescribeKey')[0].Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] });
    expect(find('cloudwatch:DescribeAlarms')[0].Resource).toHaveLength(2);
    expect(statements.filter((s: any) => s.Resource === '*').flatMap((s: any) => [s.Action].flat())
      .every((a: string) => /^(logs|xray|application-autoscaling):/.test(a))).toBe(true);
    // The first registration creates Application Auto Scaling's service-linked role, and only that role.
    expect(find('iam:CreateServiceLinkedRole')[0]).toMatchObject({
      Condition: { StringLike: { [SERVICE_LINKED_ROLE.value.conditionKey]: SERVICE_LINKED_ROLE.value.servicePrincipal } },
    });
    expect(json(find('iam:CreateServiceLinkedRole')[0].Resource)).toContain(`${SERVICE_LINKED_ROLE.value.servicePrincipal}/${SERVICE_LINKED_ROLE.value.roleName}`);
    for (const action of SAGEMAKER_ACTIONS_FOR_SCALING.value) expect(find(action)).not.toHaveLength(0);
  });

  test('every SageMaker call retries throttling first, with a bounded backoff', () => {
    const tasks = Object.entries<any>(definition.States).filter(([, st]) => st.Type === 'Task');
    expect(tasks).toHaveLength(11);
    for (const [, task] of tasks) {
      const integration = task.Resource.includes(':applicationautoscaling:') ? 'applicationAutoScaling' : 'sagemaker';
      expect(task.Retry[0]).toMatchObject({ ErrorEquals: expect.arrayContaining(THROTTLING_ERRORS[integration].value), MaxDelaySeconds: 60, JitterStrategy: 'FULL' });
    }
  });

  test('IAM: exactly the actions its calls need, and no more', () => {
    // IAM action names are case-insensitive; aws-cdk-lib writes SDK integrations' in camel case.
    const actions = new Set(stack.resolve(policyStatements(template)).flatMap((st: any) => [st.Action].flat()).map((a: string) => a.toLowerCase()));
    expect([...actions].sort()).toEqual([
      // The SDK calls, and the tags they set.
      'sagemaker:CreateModel', 'sagemaker:CreateEndpointConfig', 'sagemaker:CreateEndpoint', 'sagemaker:UpdateEndpoint', 'sagemaker:DescribeEndpoint',
      'sagemaker:AddTags',
      // A failed creation is deleted, with this execution's configuration and model.
      'sagemaker:DeleteEndpoint', 'sagemaker:DeleteEndpointConfig', 'sagemaker:DeleteModel',
      // Autoscaling: the two calls, what Application Auto Scaling checks on the variant, and its service-linked role.
      'application-autoscaling:RegisterScalableTarget', 'application-autoscaling:PutScalingPolicy',
      'sagemaker:DescribeEndpointConfig', 'sagemaker:UpdateEndpointWeightsAndCapacities', 'iam:CreateServiceLinkedRole',
      // CreateModel passes the endpoint's role.
      'iam:PassRole',
      // The new fleet's volumes use the endpoint's key: SageMaker creates a grant on the caller's behalf.
      'kms:DescribeKey', 'kms:CreateGrant',
      // Automatic rollback reads the alarms.
      'cloudwatch:DescribeAlarms',
      // Execution logs and tracing (aws-cdk-lib's grants for a logged, traced state machine).
      'logs:CreateLogDelivery', 'logs:GetLogDelivery', 'logs:UpdateLogDelivery', 'logs:DeleteLogDelivery', 'logs:ListLogDeliveries',
      'logs:PutResourcePolicy', 'logs:DescribeResourcePolicies', 'logs:DescribeLogGroups',
      'xray:PutTraceSegments', 'xray:PutTelemetryRecords', 'xray:GetSamplingRules', 'xray:GetSamplingTargets',
    ].map((a) => a.toLowerCase()).sort());
  });

  test('grantStartExecution', () => {
    const s = new Stack(new App(), 'Grant');
    const ep = new ModelEndpoint(s, 'Endpoint', { imageRepository: new ModelImageRepository(s, 'ImagesEndpoint') });
    const d = new EndpointDeployment(s, 'Deploy', { endpoint: ep });
    const pipelineRole = new iam.Role(s, 'Pipeline', { assumedBy: new iam.ServicePrincipal('codepipeline.amazonaws.com') });
    d.grantStartExecution(pipelineRole);
    Template.fromStack(s).hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: Match.stringLikeRegexp('^Pipeline') }],
      PolicyDocument: { Statement: [{ Action: 'states:StartExecution', Resource: { Ref: Match.stringLikeRegexp('^Deploy') } }] },
    });
  });
});

describe('EndpointDeployment of other endpoints', () => {
  test('serverless: the serverless config, no volume key, no capture, no KMS grant', () => {
    const { template, definition, stack } = deployment({ serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
    const p = definition.States['Create the endpoint config'].Parameters;
    expect(p.ProductionVariants).toEqual([{
      'VariantName': 'AllTraffic',
      'ModelName.$': '$.name',
      'InitialVariantWeight': 1,
      'ServerlessConfig': { MemorySizeInMB: 2048, MaxConcurrency: 5 },
    }]);
    expect(p.KmsKeyId).toBeUndefined();
    expect(p.DataCaptureConfig).toBeUndefined();
    // SageMaker requires WaitIntervalInSeconds for every routing type, all at once included.
    expect(definition.States['Update the endpoint'].Parameters.DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration)
      .toEqual({ Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 });
    expect(Object.keys(definition.States['Update the endpoint'].Parameters.DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration))
      .toEqual(expect.arrayContaining(TRAFFIC_ROUTING_REQUIRED.value));
    // Serverless Inference excludes network isolation, VPC configuration, data capture, volume keys and multiple variants.
    const model = definition.States['Create the model'].Parameters;
    expect(model).not.toHaveProperty('EnableNetworkIsolation');
    expect(model).not.toHaveProperty('VpcConfig');
    expect(p.ProductionVariants).toHaveLength(1);
    const actions = stack.resolve(policyStatements(template)).flatMap((s: any) => [s.Action].flat());
    expect(actions).not.toContain('kms:CreateGrant');
  });

  test('asynchronous inference and a VPC are carried over; a long endpoint name is cut to fit 63 characters', () => {
    const stack = new Stack(new App(), 'Test');
    const outputBucket = new VersionedBucket(stack, 'Results');
    const vpc = new ec2.Vpc(stack, 'Vpc');
    const name = 'a-very-long-endpoint-name-for-fraud-scoring-in-production';
    const endpoint = new ModelEndpoint(stack, 'Endpoint', {
      imageRepository: new ModelImageRepository(stack, 'Images'),
      endpointName: name,
      vpc,
      asyncInference: { outputBucket, maxConcurrentInvocationsPerInstance: 4 },
    });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
    const definition = stateMachineDefinition(stack);
    expect(definition.States['Create the endpoint config'].Parameters.AsyncInferenceConfig).toEqual({
      OutputConfig: { S3OutputPath: expect.stringMatching(/^s3:\/\/Results[A-Z0-9]+\/async-results\/$/), KmsKeyId: expect.stringMatching(/MlOpsKeysKey/) },
      ClientConfig: { MaxConcurrentInvocationsPerInstance: 4 },
    });
    expect(definition.States['Create the model'].Parameters.VpcConfig).toEqual({
      SecurityGroupIds: [expect.stringMatching(/EndpointSecurityGroup/)],
      Subnets: [expect.stringMatching(/^VpcPrivateSubnet1/), expect.stringMatching(/^VpcPrivateSubnet2/)],
    });
    const format = definition.States['Name the deployment'].Parameters['name.$'];
    const prefix = /^States\.Format\('([^']*)-\{\}'/.exec(format)![1];
    expect(prefix).toBe(name.slice(0, 30).replace(/-+$/, ''));
    expect(prefix.length + 1 + 32).toBeLessThanOrEqual(63);
  });

  test('a custom deployment maximum bounds the wait loop', () => {
    const { definition } = deployment({ deploymentPolicy: DeploymentPolicy.linear({ stepPercent: 20, maximumDuration: Duration.hours(3) }) });
    expect(definition.States['Out of time?'].Choices[0].NumericGreaterThanEquals).toBe(180 + 15);
    // The default timeout follows the policy: its maximum and 30 minutes.
    expect(definition.TimeoutSeconds).toBe(3.5 * 3600);
  });
});

test('no unacknowledged cdk-nag or Control Tower finding', () => {
  expect(stackFindings((stack) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'ImagesEndpoint'), production: true });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
  }, { controlTower: true })).toEqual([]);
});

test('no unacknowledged finding for a serverless endpoint', () => {
  expect(stackFindings((stack) => {
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'ImagesEndpoint'), serverless: { memory: Size.gibibytes(1), maxConcurrency: 2 } });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
  }, { controlTower: true })).toEqual([]);
});

describe('EndpointDeployment fails when', () => {
  test('the endpoint is imported', () => {
    const stack = new Stack(new App(), 'Test');
    const imported = ModelEndpoint.fromEndpointName(stack, 'Imported', 'fraud-prod');
    expect(() => new EndpointDeployment(stack, 'Deploy', { endpoint: imported as any }))
      .toThrow(/EndpointDeployment 'Test\/Deploy': invalid endpoint .*ModelEndpoint built in this app/);
  });

  test('the timeout is below 10 minutes', () => {
    const stack = new Stack(new App(), 'Test');
    const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'ImagesEndpoint') });
    expect(() => new EndpointDeployment(stack, 'Deploy', { endpoint, timeout: Duration.minutes(9) }))
      .toThrow(/invalid timeout '9 minutes'. Give at least 10 minutes/);
    const quick = new ModelEndpoint(stack, 'Quick', {
      imageRepository: new ModelImageRepository(stack, 'ImagesQuick'),
      deploymentPolicy: DeploymentPolicy.allAtOnce({ bakeTime: Duration.minutes(5), maximumDuration: Duration.minutes(10) }),
    });
    expect(() => new EndpointDeployment(stack, 'Deploy10', { endpoint: quick, timeout: Duration.minutes(10) })).not.toThrow();
  });

  test('the timeout is below the deployment policy\'s maximum duration (the execution would stop while SageMaker deploys)', () => {
    const stack = new Stack(new App(), 'Test');
    const endpoint = new ModelEndpoint(stack, 'Endpoint', {
      imageRepository: new ModelImageRepository(stack, 'ImagesEndpoint'),
      deploymentPolicy: DeploymentPolicy.canary({ canaryPercent: 10, maximumDuration: Duration.hours(3) }),
    });
    expect(() => new EndpointDeployment(stack, 'Deploy', { endpoint, timeout: Duration.hours(2) })).toThrow(
      /EndpointDeployment 'Test\/Deploy': invalid timeout '2 hours'. Give at least the deployment policy's maximumDuration \(3 hours\)/,
    );
    expect(() => new EndpointDeployment(stack, 'Deploy3h', { endpoint, timeout: Duration.hours(3) })).not.toThrow();
  });
});
