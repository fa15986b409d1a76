import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { DeploymentPolicy, EndpointDeployment, ModelEndpoint, ModelEndpointProps, ModelImageRepository, VersionedBucket } from '../../lib';
import { ROLLBACK_ALARM_ACTION, SERVERLESS_EXCLUSIONS } from '../fixtures/aws/sagemaker';
import { stackFindings } from '../support/compliance';
import { stateMachineDefinition } from '../support/state-machine';

/** CloudFormation resources a ModelEndpoint no longer creates: its deployments create them. */
const DEPLOYED_TYPES = ['AWS::SageMaker::Model', 'AWS::SageMaker::EndpointConfig', 'AWS::SageMaker::Endpoint',
  'AWS::ApplicationAutoScaling::ScalableTarget', 'AWS::ApplicationAutoScaling::ScalingPolicy'];

const repo = (stack: Stack) => new ModelImageRepository(stack, 'Images', { repositoryName: 'fraud-serving' });

/** The endpoint, its template, and the requests its deployment renders from its settings (by state name). */
function endpoint(props: Partial<ModelEndpointProps> = {}, extra?: (stack: Stack) => Partial<ModelEndpointProps>) {
  const stack = new Stack(new App(), 'Test');
  const ep = new ModelEndpoint(stack, 'Endpoint', { imageRepository: repo(stack), ...props, ...extra?.(stack) });
  new EndpointDeployment(stack, 'Deploy', { endpoint: ep });
  const template = Template.fromStack(stack);
  const states = stateMachineDefinition(stack, 'Deploy').States;
  const request = (state: string) => stack.resolve(states[state]?.Parameters);
  return { stack, ep, template, states, request };
}

describe('ModelEndpoint defaults', () => {
  const { stack, ep, template, request } = endpoint({ production: true, endpointName: 'fraud-prod' });

  test('CloudFormation creates no model, configuration, endpoint or autoscaling: a cdk deploy never changes what it serves', () => {
    for (const type of DEPLOYED_TYPES) template.resourceCountIs(type, 0);
    expect(ep.endpointName).toBe('fraud-prod');
    expect(ep.variantName).toBe('AllTraffic');
  });

  test('the model runs the deployed image, isolated from the network, with its own role', () => {
    expect(request('Create the model')).toMatchObject({
      PrimaryContainer: { 'Image.$': '$.request.imageUri' },
      EnableNetworkIsolation: true,
      ExecutionRoleArn: expect.stringMatching(/EndpointRole/),
    });
  });

  test('the configuration: the variant, the created volume key, data capture to a versioned bucket', () => {
    const config = request('Create the endpoint config');
    expect(config.ProductionVariants).toEqual([{
      'VariantName': 'AllTraffic', 'ModelName.$': '$.name', 'InitialVariantWeight': 1, 'InstanceType': 'ml.m5.large', 'InitialInstanceCount': 2,
    }]);
    expect(config.KmsKeyId).toMatch(/MlOpsKeysKey/);
    expect(config.DataCaptureConfig).toMatchObject({ EnableCapture: true, InitialSamplingPercentage: 20, CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }] });
    expect(JSON.stringify(config.DataCaptureConfig.DestinationS3Uri)).toContain('/data-capture/fraud-prod');
    expect(ep.dataCaptureBucket).toBeInstanceOf(VersionedBucket);
  });

  test('a canary of 10% with baking, rolled back by the 5XX and p99 latency alarms, which exist before the endpoint', () => {
    expect(request('Update the endpoint').DeploymentConfig).toEqual({
      BlueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 600 },
        TerminationWaitInSeconds: 600,
        MaximumExecutionTimeoutInSeconds: 3600,
      },
      AutoRollbackConfiguration: {
        Alarms: [{ AlarmName: expect.stringMatching(/^EndpointErrors5xx/) }, { AlarmName: expect.stringMatching(/^EndpointLatencyP99/) }],
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fraud-prod-AllTraffic-5xx',
      MetricName: 'Invocation5XXErrors',
      Dimensions: Match.arrayWith([{ Name: 'EndpointName', Value: 'fraud-prod' }, { Name: 'VariantName', Value: 'AllTraffic' }]),
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'fraud-prod-AllTraffic-latency-p99', MetricName: 'ModelLatency', ExtendedStatistic: 'p99', Threshold: 1_000_000,
    });
  });

  test('target-tracking autoscaling on invocations per instance, from 2 to 6 instances, applied by the deployment', () => {
    expect(request('Register the scalable target')).toEqual({
      ServiceNamespace: 'sagemaker',
      ResourceId: 'endpoint/fraud-prod/variant/AllTraffic',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 2,
      MaxCapacity: 6,
    });
    expect(request('Apply the scaling policy').TargetTrackingScalingPolicyConfiguration).toEqual({
      PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
      TargetValue: 1000,
      ScaleInCooldown: 300,
      ScaleOutCooldown: 60,
    });
  });

  test('the role pulls only from the serving repository and writes only its capture prefix', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const role = Object.entries(policies).find(([id]) => id.startsWith('EndpointRoleDefaultPolicy'))![1] as any;
    const statements: any[] = stack.resolve(role.Properties.PolicyDocument.Statement);
    const pull = statements.find((st) => [st.Action].flat().includes('ecr:BatchGetImage'));
    expect(pull.Resource).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^Images/), 'Arn'] });
    const json = JSON.stringify(statements);
    expect(json).toContain('/data-capture/fraud-prod/*');
    expect(json).not.toMatch(/sagemaker:\*|s3:\*|AmazonSageMakerFullAccess|repository\/\*/);
  });

  test('grantInvoke and metrics', () => {
    const freshStack = new Stack(new App(), 'Test');
    const fresh = new ModelEndpoint(freshStack, 'Endpoint', { imageRepository: repo(freshStack) });
    fresh.grantInvoke(new iam.Role(freshStack, 'Caller', { assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com') }));
    const policies = Template.fromStack(freshStack).findResources('AWS::IAM::Policy');
    const caller = Object.entries(policies).find(([id]) => id.startsWith('CallerDefaultPolicy'))![1] as any;
    expect(caller.Properties.PolicyDocument.Statement[0].Action).toEqual(['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync']);
    expect(ep.metricInvocations().metricName).toBe('Invocations');
    expect(ep.metricInvocation4XXErrors().metricName).toBe('Invocation4XXErrors');
    expect(ep.metricModelLatency().statistic).toBe('p99');
    expect(ep.metricCpuUtilization().namespace).toBe('/aws/sagemaker/Endpoints');
    expect(ep.metricGpuUtilization().metricName).toBe('GPUUtilization');
  });

  test('has no unacknowledged cdk-nag or Control Tower finding (instance, NVMe GPU, serverless)', () => {
    expect(stackFindings((s) => {
      const images = repo(s);
      new ModelEndpoint(s, 'Prod', { imageRepository: images, production: true });
      new ModelEndpoint(s, 'Gpu', { imageRepository: images, production: true, instanceType: 'ml.g5.xlarge' });
      new ModelEndpoint(s, 'Staging', { imageRepository: images, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('ModelEndpoint options', () => {
  test('NVMe instance types get no KMS key (SageMaker rejects it)', () => {
    const { template, request } = endpoint({ instanceType: 'ml.g5.2xlarge' });
    expect(request('Create the endpoint config').KmsKeyId).toBeUndefined();
    expect(Object.keys(template.findResources('AWS::KMS::Key')).filter((k) => k.startsWith('EndpointKey'))).toEqual([]);
  });

  test('a serverless variant: memory and concurrency, all at once, none of the serverless exclusions, no autoscaling', () => {
    const { request, states } = endpoint({ serverless: { memory: Size.gibibytes(3), maxConcurrency: 10 } });
    const config = request('Create the endpoint config');
    expect(config.ProductionVariants).toEqual([{ 'VariantName': 'AllTraffic', 'ModelName.$': '$.name', 'InitialVariantWeight': 1, 'ServerlessConfig': { MemorySizeInMB: 3072, MaxConcurrency: 10 } }]);
    expect(config.DataCaptureConfig).toBeUndefined();
    expect(config.KmsKeyId).toBeUndefined();
    expect(request('Create the model')).not.toHaveProperty('EnableNetworkIsolation');
    expect(request('Create the model')).not.toHaveProperty('VpcConfig');
    // TrafficRoutingConfig requires WaitIntervalInSeconds, all at once included.
    expect(request('Update the endpoint').DeploymentConfig.BlueGreenUpdatePolicy.TrafficRoutingConfiguration).toEqual({ Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 });
    expect(states['Register the scalable target']).toBeUndefined();
    expect(SERVERLESS_EXCLUSIONS.value).toEqual(expect.arrayContaining(['network isolation', 'VPC configuration', 'data capture', 'multiple production variants']));
  });

  test('linear steps, a user alarm, thresholds, capture and autoscaling settings', () => {
    const { template, request } = endpoint({
      endpointName: 'fraud',
      variantName: 'Main',
      instanceType: 'ml.c6i.xlarge',
      initialInstanceCount: 3,
      deploymentPolicy: DeploymentPolicy.linear({ stepPercent: 25, stepBakeTime: Duration.minutes(3), bakeTime: Duration.minutes(20) }),
      errorThreshold: 5,
      latencyThreshold: Duration.millis(250),
      dataCaptureSamplingPercentage: 5,
      autoScaling: { minCapacity: 3, maxCapacity: 10, targetInvocationsPerInstance: 500 },
    }, (stack) => ({
      rollbackAlarms: [new cloudwatch.Alarm(stack, 'BusinessKpi', {
        metric: new cloudwatch.Metric({ namespace: 'Fraud', metricName: 'Chargebacks' }), threshold: 5, evaluationPeriods: 1,
      })],
      dataCaptureBucket: new VersionedBucket(stack, 'Captures'),
    }));
    const deployment = request('Update the endpoint').DeploymentConfig;
    expect(deployment.BlueGreenUpdatePolicy).toEqual({
      TrafficRoutingConfiguration: { Type: 'LINEAR', LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 25 }, WaitIntervalInSeconds: 180 },
      TerminationWaitInSeconds: 1200,
      MaximumExecutionTimeoutInSeconds: 3600,
    });
    expect(deployment.AutoRollbackConfiguration.Alarms).toEqual([
      { AlarmName: expect.stringMatching(/^EndpointErrors5xx/) },
      { AlarmName: expect.stringMatching(/^EndpointLatencyP99/) },
      { AlarmName: expect.stringMatching(/^BusinessKpi/) },
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'fraud-Main-5xx', Threshold: 5 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'fraud-Main-latency-p99', Threshold: 250_000 });
    expect(request('Create the endpoint config').DataCaptureConfig).toMatchObject({ InitialSamplingPercentage: 5 });
    expect(request('Create the endpoint config').ProductionVariants[0]).toMatchObject({ VariantName: 'Main', InstanceType: 'ml.c6i.xlarge', InitialInstanceCount: 3 });
    expect(request('Register the scalable target')).toMatchObject({ ResourceId: 'endpoint/fraud/variant/Main', MinCapacity: 3, MaxCapacity: 10 });
    expect(request('Apply the scaling policy').TargetTrackingScalingPolicyConfiguration.TargetValue).toBe(500);
    template.resourceCountIs('AWS::S3::Bucket', 2); // the given capture bucket and the access-log bucket: none created
    // Auto-rollback: the execution role may describe its rollback alarms, the user's included, and only those.
    const role = Object.entries(template.findResources('AWS::IAM::Policy')).find(([id]) => id.startsWith('EndpointRoleDefaultPolicy'))![1] as any;
    const describe = role.Properties.PolicyDocument.Statement.filter((st: any) => [st.Action].flat().includes(ROLLBACK_ALARM_ACTION.value));
    expect(describe).toEqual([expect.objectContaining({
      Effect: 'Allow',
      Resource: [
        { 'Fn::GetAtt': [expect.stringMatching(/^EndpointErrors5xx/), 'Arn'] },
        { 'Fn::GetAtt': [expect.stringMatching(/^EndpointLatencyP99/), 'Arn'] },
        { 'Fn::GetAtt': [expect.stringMatching(/^BusinessKpi/), 'Arn'] },
      ],
    })]);
  });

  test('all at once, no capture, no autoscaling, no isolation, a model artifact, a key', () => {
    const { request, states } = endpoint({
      modelDataUrl: 's3://models/runs/x/model.tar.gz',
      deploymentPolicy: DeploymentPolicy.allAtOnce({ bakeTime: Duration.minutes(0) }),
      dataCapture: false,
      disableAutoScaling: true,
      networkIsolation: false,
    }, (stack) => ({ encryptionKey: new kms.Key(stack, 'Mine') }));
    expect(request('Create the model')).toMatchObject({
      EnableNetworkIsolation: false,
      PrimaryContainer: { 'Image.$': '$.request.imageUri', 'ModelDataUrl': 's3://models/runs/x/model.tar.gz' },
    });
    expect(request('Create the endpoint config').KmsKeyId).toMatch(/Mine/);
    expect(request('Create the endpoint config').DataCaptureConfig).toBeUndefined();
    expect(request('Update the endpoint').DeploymentConfig.BlueGreenUpdatePolicy).toEqual({
      TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 }, TerminationWaitInSeconds: 0, MaximumExecutionTimeoutInSeconds: 3600,
    });
    expect(states['Register the scalable target']).toBeUndefined();
  });

  test('asynchronous inference writes results to the output bucket', () => {
    const { request } = endpoint({}, (stack) => ({ asyncInference: { outputBucket: new VersionedBucket(stack, 'Results'), maxConcurrentInvocationsPerInstance: 4 } }));
    expect(request('Create the endpoint config').AsyncInferenceConfig).toEqual({
      OutputConfig: { S3OutputPath: expect.anything(), KmsKeyId: expect.anything() },
      ClientConfig: { MaxConcurrentInvocationsPerInstance: 4 },
    });
  });

  test('a VPC: private subnets and a security group with HTTPS egress in the VPC only', () => {
    const { request, template } = endpoint({}, (stack) => ({ vpc: new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 }) }));
    expect(request('Create the model').VpcConfig).toEqual({
      SecurityGroupIds: [expect.stringMatching(/EndpointSecurityGroup/)],
      Subnets: [expect.stringMatching(/^VpcPrivateSubnet1/), expect.stringMatching(/^VpcPrivateSubnet2/)],
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      SecurityGroupEgress: [Match.objectLike({ FromPort: 443, ToPort: 443 })],
    });
  });

  test('imports by name and ARN', () => {
    const stack = new Stack(new App(), 'Test');
    const byName = ModelEndpoint.fromEndpointName(stack, 'ByName', 'Fraud-Prod');
    expect(stack.resolve(byName.endpointArn)).toEqual({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':sagemaker:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, ':endpoint/fraud-prod']],
    });
    const byArn = ModelEndpoint.fromEndpointArn(stack, 'ByArn', 'arn:aws:sagemaker:eu-west-1:111122223333:endpoint/shared', 'Blue');
    expect(byArn.endpointName).toBe('shared');
    expect(byArn.metricInvocations().dimensions).toEqual({ EndpointName: 'shared', VariantName: 'Blue' });
  });
});

describe('ModelEndpoint fails when', () => {
  test.each([0, 51])('the canary is %p%', (canaryPercent) => {
    expect(() => endpoint({ deploymentPolicy: DeploymentPolicy.canary({ canaryPercent }) })).toThrow(
      new RegExp(`ModelEndpoint 'Test/Endpoint': invalid deploymentPolicy.canaryPercent ${canaryPercent}. SageMaker accepts a canary of more than 0 and at most 50`),
    );
  });

  test.each([5, 60])('a linear step is %p%', (stepPercent) => {
    expect(() => endpoint({ deploymentPolicy: DeploymentPolicy.linear({ stepPercent }) })).toThrow(
      /invalid deploymentPolicy.stepPercent .*10 to 50 percent/,
    );
  });

  test.each([
    [DeploymentPolicy.allAtOnce({ bakeTime: Duration.hours(2) }), /deploymentPolicy.bakeTime '2 hours'.*from 0 to 3600/],
    [DeploymentPolicy.canary({ canaryPercent: 10, canaryBakeTime: Duration.hours(2) }), /deploymentPolicy.canaryBakeTime '2 hours'/],
    [DeploymentPolicy.allAtOnce({ maximumDuration: Duration.minutes(5) }), /deploymentPolicy.maximumDuration '5 minutes'.*from 600 to 28800/],
  ])('a baking period or time limit is outside what SageMaker accepts (%#)', (deploymentPolicy, message) => {
    expect(() => endpoint({ deploymentPolicy })).toThrow(message);
  });

  test('a serverless endpoint is given a canary (it supports only all at once)', () => {
    expect(() => endpoint({
      serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 },
      deploymentPolicy: DeploymentPolicy.canary({ canaryPercent: 10 }),
    })).toThrow(/invalid deploymentPolicy 'CANARY'. Serverless endpoints support only all-at-once/);
  });

  test.each<[string, (stack: Stack) => Partial<ModelEndpointProps>, RegExp]>([
    ['network isolation', () => ({ networkIsolation: true }), /invalid networkIsolation true. Serverless endpoints do not support network isolation/],
    ['a VPC', (stack) => ({ vpc: new ec2.Vpc(stack, 'Vpc') }), /invalid vpc 'set'. Serverless endpoints do not support a VPC configuration/],
    ['data capture', () => ({ dataCapture: true }), /invalid dataCapture true. Serverless endpoints do not support data capture/],
    ['a data capture bucket', (stack) => ({ dataCaptureBucket: new VersionedBucket(stack, 'Captures') }),
      /invalid dataCaptureBucket 'set'. Serverless endpoints do not support data capture/],
  ])('a serverless endpoint is given %s (a serverless feature exclusion)', (_case, props, message) => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new ModelEndpoint(stack, 'Endpoint', { imageRepository: repo(stack), serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 }, ...props(stack) }))
      .toThrow(message);
  });

  test.each<[string, Partial<ModelEndpointProps>]>([
    ['autoScaling', { autoScaling: { maxCapacity: 4 } }],
    ['initialInstanceCount', { initialInstanceCount: 3 }],
  ])('a serverless endpoint is given %s (it has no instances: silently dropped before)', (prop, props) => {
    const serverless = { memory: Size.gibibytes(2), maxConcurrency: 5 };
    expect(() => endpoint({ serverless, dataCapture: false, networkIsolation: false, ...props })).toThrow(
      new RegExp(`ModelEndpoint 'Test/Endpoint': prop ${prop} is not allowed with serverless. A serverless variant has no instances`),
    );
  });

  test('a serverless endpoint without network isolation is fine (false is what it has)', () => {
    const serverless = { memory: Size.gibibytes(2), maxConcurrency: 5 };
    expect(() => endpoint({ serverless, networkIsolation: false, dataCapture: false })).not.toThrow();
  });

  test.each<[Partial<ModelEndpointProps>, RegExp]>([
    [{ errorThreshold: 0 }, /invalid errorThreshold 0. The alarm fires at or above the threshold, so at 0 it fires on every minute with traffic/],
    [{ errorThreshold: -1 }, /invalid errorThreshold -1/],
    [{ latencyThreshold: Duration.millis(0) }, /invalid latencyThreshold '0 millis'. The alarm fires above the threshold, so at 0 any served request/],
  ])('a rollback alarm would always fire (%p)', (props, message) => {
    expect(() => endpoint(props)).toThrow(message);
  });

  test('autoscaling has a target of 0 invocations per instance', () => {
    expect(() => endpoint({ autoScaling: { targetInvocationsPerInstance: 0 } })).toThrow(
      /ModelEndpoint 'Test\/Endpoint': invalid autoScaling.targetInvocationsPerInstance 0. Target tracking needs a target above 0/,
    );
  });

  test('autoscaling has a minimum of 0 instances', () => {
    expect(() => endpoint({ autoScaling: { minCapacity: 0 } })).toThrow(
      /ModelEndpoint 'Test\/Endpoint': invalid autoScaling.minCapacity 0. Application Auto Scaling keeps at least 1 instance/,
    );
  });

  test('min capacity is above max capacity', () => {
    expect(() => endpoint({ autoScaling: { minCapacity: 5, maxCapacity: 2 } })).toThrow(/invalid autoScaling 'minCapacity 5 > maxCapacity 2'/);
  });

  test('a production endpoint has one instance (an error: one failure or deployment would stop it)', () => {
    expect(() => endpoint({ production: true, initialInstanceCount: 1 })).toThrow(
      /invalid initialInstanceCount 1. A production endpoint needs at least 2 instances/,
    );
    expect(() => endpoint({ production: true, autoScaling: { minCapacity: 1 } })).toThrow(/invalid autoScaling.minCapacity 1/);
  });

  test.each(['m5.large', 'ml.m5', 'ml.x9.large'])('the instance type %p is not a SageMaker hosting type', (instanceType) => {
    expect(() => endpoint({ instanceType })).toThrow(/invalid instanceType .*Use a SageMaker hosting type ml.<family>.<size>/);
  });

  test('a KMS key is given with an NVMe instance type', () => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new ModelEndpoint(stack, 'Endpoint', { imageRepository: repo(stack), instanceType: 'ml.g5.xlarge', encryptionKey: new kms.Key(stack, 'K') }))
      .toThrow(/invalid encryptionKey 'set'. ml.g5.xlarge has local NVMe storage/);
  });

  test.each([
    [{ serverless: { memory: Size.mebibytes(1500), maxConcurrency: 5 } }, /serverless.memory '1500 MiB'/],
    [{ serverless: { memory: Size.gibibytes(8), maxConcurrency: 5 } }, /serverless.memory '8192 MiB'/],
    [{ serverless: { memory: Size.gibibytes(2), maxConcurrency: 500 } }, /serverless.maxConcurrency 500/],
    [{ dataCaptureSamplingPercentage: 0 }, /dataCaptureSamplingPercentage 0/],
    [{ endpointName: 'bad_name' }, /endpointName 'bad_name'/],
    [{ initialInstanceCount: 0 }, /initialInstanceCount 0/],
  ])('other props are out of range (%#)', (props, message) => {
    expect(() => endpoint(props as Partial<ModelEndpointProps>)).toThrow(message);
  });
});
