import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { DeploymentPolicy, ModelEndpoint, ModelEndpointProps, VersionedBucket } from '../../lib';
import { ROLLBACK_ALARM_ACTION, SERVERLESS_EXCLUSIONS } from '../fixtures/aws/sagemaker';
import { stackFindings } from '../support/compliance';

const IMAGE = `123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serving@sha256:${'a'.repeat(64)}`;

function endpoint(props: Partial<ModelEndpointProps> = {}) {
  const stack = new Stack(new App(), 'Test');
  const ep = new ModelEndpoint(stack, 'Endpoint', { imageUri: IMAGE, ...props });
  return { stack, ep, template: Template.fromStack(stack) };
}

describe('ModelEndpoint defaults', () => {
  const { stack, ep, template } = endpoint({ production: true, endpointName: 'fraud-prod' });

  test('the model runs the image by digest, isolated from the network, with its own role', () => {
    template.hasResourceProperties('AWS::SageMaker::Model', {
      PrimaryContainer: { Image: IMAGE },
      EnableNetworkIsolation: true,
      ExecutionRoleArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EndpointRole'), 'Arn'] },
    });
  });

  test('Model and EndpointConfig have no fixed names, so a new version replaces them; the endpoint and variant names are stable', () => {
    const model = Object.values(template.findResources('AWS::SageMaker::Model'))[0] as any;
    const config = Object.values(template.findResources('AWS::SageMaker::EndpointConfig'))[0] as any;
    expect(model.Properties.ModelName).toBeUndefined();
    expect(config.Properties.EndpointConfigName).toBeUndefined();
    expect(config.Properties.ProductionVariants).toEqual([{
      VariantName: 'AllTraffic',
      ModelName: { 'Fn::GetAtt': [expect.stringMatching(/^EndpointModel/), 'ModelName'] },
      InitialVariantWeight: 1,
      InstanceType: 'ml.m5.large',
      InitialInstanceCount: 2,
    }]);
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      EndpointName: 'fraud-prod',
      EndpointConfigName: { 'Fn::GetAtt': [Match.stringLikeRegexp('^EndpointConfig'), 'EndpointConfigName'] },
      RetainAllVariantProperties: true,
    });
    expect(ep.endpointName).toBe('fraud-prod');
    expect(ep.variantName).toBe('AllTraffic');
  });

  test('a canary of 10% with baking, rolled back by the 5XX and p99 latency alarms', () => {
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'CANARY', CanarySize: { Type: 'CAPACITY_PERCENT', Value: 10 }, WaitIntervalInSeconds: 600 },
          TerminationWaitInSeconds: 600,
          MaximumExecutionTimeoutInSeconds: 3600,
        },
        AutoRollbackConfiguration: {
          Alarms: [{ AlarmName: { Ref: Match.stringLikeRegexp('^EndpointErrors5xx') } }, { AlarmName: { Ref: Match.stringLikeRegexp('^EndpointLatencyP99') } }],
        },
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
      AlarmName: 'fraud-prod-AllTraffic-latency-p99',
      MetricName: 'ModelLatency',
      ExtendedStatistic: 'p99',
      Threshold: 1_000_000,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') }],
    });
  });

  test('the volumes are encrypted with a created key, and data capture goes to a versioned bucket', () => {
    const config = Object.values(template.findResources('AWS::SageMaker::EndpointConfig'))[0] as any;
    expect(config.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^EndpointKey/), 'Arn'] });
    expect(config.Properties.DataCaptureConfig).toMatchObject({
      EnableCapture: true,
      InitialSamplingPercentage: 20,
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
    });
    expect(JSON.stringify(config.Properties.DataCaptureConfig.DestinationS3Uri)).toContain('/data-capture/fraud-prod');
    expect(ep.dataCaptureBucket).toBeInstanceOf(VersionedBucket);
  });

  test('target-tracking autoscaling on invocations per instance, from 2 to 6 instances', () => {
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', {
      ServiceNamespace: 'sagemaker',
      ResourceId: 'endpoint/fraud-prod/variant/AllTraffic',
      ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      MinCapacity: 2,
      MaxCapacity: 6,
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalingPolicy', {
      TargetTrackingScalingPolicyConfiguration: {
        PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
        TargetValue: 1000,
        ScaleInCooldown: 300,
        ScaleOutCooldown: 60,
      },
    });
  });

  test('the role pulls only the image\'s repository and writes only its capture prefix', () => {
    const policies = template.findResources('AWS::IAM::Policy');
    const role = Object.entries(policies).find(([id]) => id.startsWith('EndpointRoleDefaultPolicy'))![1] as any;
    const json = JSON.stringify(stack.resolve(role.Properties.PolicyDocument));
    expect(json).toContain(':ecr:us-east-1:123456789012:repository/fraud-serving');
    expect(json).toContain('/data-capture/fraud-prod/*');
    expect(json).not.toMatch(/sagemaker:\*|s3:\*|AmazonSageMakerFullAccess/);
  });

  test('grantInvoke and metrics', () => {
    const freshStack = new Stack(new App(), 'Test');
    const fresh = new ModelEndpoint(freshStack, 'Endpoint', { imageUri: IMAGE });
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
      new ModelEndpoint(s, 'Prod', { imageUri: IMAGE, production: true });
      new ModelEndpoint(s, 'Gpu', { imageUri: IMAGE, production: true, instanceType: 'ml.g5.xlarge' });
      new ModelEndpoint(s, 'Staging', { imageUri: IMAGE, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 } });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('ModelEndpoint options', () => {
  test('NVMe instance types get no KMS key (SageMaker rejects it), with the acknowledgement on the config', () => {
    const { template } = endpoint({ instanceType: 'ml.g5.2xlarge' });
    const config = Object.values(template.findResources('AWS::SageMaker::EndpointConfig'))[0] as any;
    expect(config.Properties.KmsKeyId).toBeUndefined();
    expect(Object.keys(template.findResources('AWS::KMS::Key')).filter((k) => k.startsWith('EndpointKey'))).toEqual([]);
  });

  test('a serverless variant: memory and concurrency, all at once, none of the serverless exclusions, no autoscaling', () => {
    const { template } = endpoint({ serverless: { memory: Size.gibibytes(3), maxConcurrency: 10 } });
    // The serverless feature exclusions: no network isolation, VPC, volume key, data capture, or second variant.
    const config = Object.values(template.findResources('AWS::SageMaker::EndpointConfig'))[0] as any;
    expect(config.Properties.ProductionVariants).toHaveLength(1);
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      ProductionVariants: [Match.objectLike({ ServerlessConfig: { MemorySizeInMB: 3072, MaxConcurrency: 10 } })],
      DataCaptureConfig: Match.absent(),
      KmsKeyId: Match.absent(),
    });
    template.hasResourceProperties('AWS::SageMaker::Model', { EnableNetworkIsolation: Match.absent(), VpcConfig: Match.absent() });
    // TrafficRoutingConfig requires WaitIntervalInSeconds, all at once included.
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: Match.objectLike({
        BlueGreenUpdatePolicy: Match.objectLike({ TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 } }),
      }),
    });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
    expect(SERVERLESS_EXCLUSIONS.value).toEqual(expect.arrayContaining(['network isolation', 'VPC configuration', 'data capture', 'multiple production variants']));
  });

  test('linear steps, a user alarm, thresholds, capture and autoscaling settings', () => {
    const stack = new Stack(new App(), 'Test');
    const extra = new cloudwatch.Alarm(stack, 'BusinessKpi', {
      metric: new cloudwatch.Metric({ namespace: 'Fraud', metricName: 'Chargebacks' }), threshold: 5, evaluationPeriods: 1,
    });
    const captures = new VersionedBucket(stack, 'Captures');
    new ModelEndpoint(stack, 'Endpoint', {
      imageUri: IMAGE,
      endpointName: 'fraud',
      variantName: 'Main',
      instanceType: 'ml.c6i.xlarge',
      initialInstanceCount: 3,
      deploymentPolicy: DeploymentPolicy.linear({ stepPercent: 25, stepBakeTime: Duration.minutes(3), bakeTime: Duration.minutes(20) }),
      rollbackAlarms: [extra],
      errorThreshold: 5,
      latencyThreshold: Duration.millis(250),
      dataCaptureBucket: captures,
      dataCaptureSamplingPercentage: 5,
      autoScaling: { minCapacity: 3, maxCapacity: 10, targetInvocationsPerInstance: 500 },
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: {
        BlueGreenUpdatePolicy: {
          TrafficRoutingConfiguration: { Type: 'LINEAR', LinearStepSize: { Type: 'CAPACITY_PERCENT', Value: 25 }, WaitIntervalInSeconds: 180 },
          TerminationWaitInSeconds: 1200,
          MaximumExecutionTimeoutInSeconds: 3600,
        },
        AutoRollbackConfiguration: {
          Alarms: [
            { AlarmName: { Ref: Match.stringLikeRegexp('^EndpointErrors5xx') } },
            { AlarmName: { Ref: Match.stringLikeRegexp('^EndpointLatencyP99') } },
            { AlarmName: { Ref: Match.stringLikeRegexp('^BusinessKpi') } },
          ],
        },
      },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'fraud-Main-5xx', Threshold: 5 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'fraud-Main-latency-p99', Threshold: 250_000 });
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      DataCaptureConfig: Match.objectLike({ InitialSamplingPercentage: 5 }),
      ProductionVariants: [Match.objectLike({ VariantName: 'Main', InstanceType: 'ml.c6i.xlarge', InitialInstanceCount: 3 })],
    });
    template.hasResourceProperties('AWS::ApplicationAutoScaling::ScalableTarget', { MinCapacity: 3, MaxCapacity: 10 });
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
    const stack = new Stack(new App(), 'Test');
    const key = new kms.Key(stack, 'Mine');
    new ModelEndpoint(stack, 'Endpoint', {
      imageUri: IMAGE,
      modelDataUrl: 's3://models/runs/x/model.tar.gz',
      deploymentPolicy: DeploymentPolicy.allAtOnce({ bakeTime: Duration.minutes(0) }),
      dataCapture: false,
      disableAutoScaling: true,
      networkIsolation: false,
      encryptionKey: key,
    });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::SageMaker::Model', {
      EnableNetworkIsolation: false,
      PrimaryContainer: { Image: IMAGE, ModelDataUrl: 's3://models/runs/x/model.tar.gz' },
    });
    template.hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^Mine'), 'Arn'] },
      DataCaptureConfig: Match.absent(),
    });
    template.hasResourceProperties('AWS::SageMaker::Endpoint', {
      DeploymentConfig: Match.objectLike({
        BlueGreenUpdatePolicy: { TrafficRoutingConfiguration: { Type: 'ALL_AT_ONCE', WaitIntervalInSeconds: 0 }, TerminationWaitInSeconds: 0, MaximumExecutionTimeoutInSeconds: 3600 },
      }),
    });
    template.resourceCountIs('AWS::ApplicationAutoScaling::ScalableTarget', 0);
  });

  test('asynchronous inference writes results to the output bucket', () => {
    const stack = new Stack(new App(), 'Test');
    const out = new VersionedBucket(stack, 'Results');
    new ModelEndpoint(stack, 'Endpoint', { imageUri: IMAGE, asyncInference: { outputBucket: out, maxConcurrentInvocationsPerInstance: 4 } });
    Template.fromStack(stack).hasResourceProperties('AWS::SageMaker::EndpointConfig', {
      AsyncInferenceConfig: {
        OutputConfig: Match.objectLike({ S3OutputPath: Match.anyValue(), KmsKeyId: Match.anyValue() }),
        ClientConfig: { MaxConcurrentInvocationsPerInstance: 4 },
      },
    });
  });

  test('a VPC: private subnets and a security group with HTTPS egress in the VPC only', () => {
    const stack = new Stack(new App(), 'Test');
    const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2 });
    new ModelEndpoint(stack, 'Endpoint', { imageUri: IMAGE, vpc });
    Template.fromStack(stack).hasResourceProperties('AWS::SageMaker::Model', {
      VpcConfig: { SecurityGroupIds: [Match.anyValue()], Subnets: Match.arrayWith([{ Ref: Match.stringLikeRegexp('VpcPrivateSubnet1') }]) },
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
    expect(() => new ModelEndpoint(stack, 'Endpoint', { imageUri: IMAGE, serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 }, ...props(stack) }))
      .toThrow(message);
  });

  test('a serverless endpoint without network isolation is fine (false is what it has)', () => {
    const serverless = { memory: Size.gibibytes(2), maxConcurrency: 5 };
    expect(() => endpoint({ serverless, networkIsolation: false, dataCapture: false })).not.toThrow();
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
    expect(() => new ModelEndpoint(stack, 'Endpoint', { imageUri: IMAGE, instanceType: 'ml.g5.xlarge', encryptionKey: new kms.Key(stack, 'K') }))
      .toThrow(/invalid encryptionKey 'set'. ml.g5.xlarge has local NVMe storage/);
  });

  test('the image is not given by digest', () => {
    expect(() => endpoint({ imageUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/fraud-serving:latest' })).toThrow(
      /invalid imageUri .*Deploy by digest/,
    );
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
