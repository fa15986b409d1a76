import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { FEATURES, monitoredStack, statementsOf } from './fixture';
import { DriftMonitor, DriftMonitorProps, ModelEndpoint, ModelImageRepository, ModelPackageGroup, VersionedBucket } from '../../lib';
import { complianceFindings } from '../support/compliance';

function driftStack(overrides: Partial<DriftMonitorProps> = {}, app = new App()) {
  const parts = monitoredStack(app);
  const drift = new DriftMonitor(parts.stack, 'Drift', {
    endpoint: parts.endpoint, modelPackageGroup: parts.registry, modelBucket: parts.models, dataBucket: parts.data, features: FEATURES, ...overrides,
  });
  return { ...parts, drift };
}

describe('DriftMonitor', () => {
  const { stack } = driftStack();
  const template = Template.fromStack(stack);

  test('a rule on the endpoint\'s capture files invokes the function, with retries and a dead-letter queue (no schedule, no processing job)', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.s3'],
        'detail-type': ['Object Created'],
        'detail': {
          bucket: { name: [{ Ref: Match.stringLikeRegexp('^ProductionDataCapture') }] },
          object: { key: [{ wildcard: 'data-capture/fraud-prod/*.jsonl' }] },
        },
      },
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DriftFunction'), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DriftDeadLetterQueue'), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
      })],
    });
    template.resourceCountIs('AWS::SageMaker::MonitoringSchedule', 0);
    template.resourceCountIs('AWS::SageMaker::DataQualityJobDefinition', 0);
    expect(Object.values(template.findResources('AWS::Events::Rule')).some((r: any) => r.Properties.ScheduleExpression)).toBe(false);
  });

  test('the function knows the endpoint, its features, the registry and where baselines go', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          CAPTURE_PREFIX: 'data-capture/fraud-prod/',
          ENDPOINT_NAME: 'fraud-prod',
          FEATURES: JSON.stringify(FEATURES),
          MODEL_PACKAGE_GROUP: 'fraud',
          TRAINING_FILE: 'train.csv',
          MIN_INSTANCES: '100',
          BINS: '10',
          PER_FEATURE_METRICS: 'false',
          MODEL_BUCKET: { Ref: Match.stringLikeRegexp('^Models') },
        }),
      },
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^DriftDeadLetterQueue'), 'Arn'] } },
      Architectures: ['arm64'],
    });
  });

  test('least privilege: reads this endpoint\'s captures, writes only this group\'s baselines, reads the data, metrics in its namespace only', () => {
    const statements = statementsOf(template, /^DriftFunction/);
    const resources = (action: string) => statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());
    expect(JSON.stringify(resources('s3:PutObject'))).toMatch(/Models.*baselines\/fraud\/\*/);
    expect(resources('s3:PutObject')).toHaveLength(1);
    expect(JSON.stringify(resources('s3:GetObject'))).toMatch(/ProductionDataCapture.*data-capture\/fraud-prod\/\*/);
    expect(statements.find((s) => s.Action === 'cloudwatch:PutMetricData')).toEqual({
      Action: 'cloudwatch:PutMetricData', Effect: 'Allow', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'cdk-mlops/Monitoring' } },
    });
    expect(statements.filter((s) => [s.Action].flat().some((a: string) => /^s3:(Delete|PutObject)/.test(a)))
      .flatMap((s) => [s.Resource].flat()).every((r: unknown) => JSON.stringify(r).includes('baselines/fraud/'))).toBe(true);
  });

  test('the drift and missing-feature alarms read the published metrics and notify the alerts topic; no traffic is not breaching', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'cdk-mlops/Monitoring',
      MetricName: 'DriftScore',
      Dimensions: [{ Name: 'EndpointName', Value: 'fraud-prod' }],
      Statistic: 'Maximum',
      Period: 3600,
      Threshold: 0.25,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'cdk-mlops/Monitoring',
      MetricName: 'MissingFeatureRate',
      Threshold: 0.1,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') }],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Threshold: 1 });
  });

  test('metric methods name the namespace, the endpoint and (per feature) the feature', () => {
    const { drift } = driftStack({ perFeatureMetrics: true, alarmPeriod: Duration.minutes(30) });
    expect(drift.metricFeatureDrift('age').dimensions).toEqual({ EndpointName: 'fraud-prod', Feature: 'age' });
    expect(drift.metricCapturedInstances().statistic).toBe('Sum');
    expect(drift.metricDriftScore().period.toMinutes()).toBe(30);
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(complianceFindings((app) => driftStack({}, app), { controlTower: true })).toEqual([]);
  });
});

describe('DriftMonitor fails when', () => {
  test.each([
    [{ features: [] }, /features.*Name at least one/],
    [{ features: ['age', 'age'] }, /features.*each feature once/],
    [{ trainingFile: 'data/train.csv' }, /trainingFile 'data\/train.csv'|trainingFile.*no folder/],
    [{ driftThreshold: 0 }, /driftThreshold.*above 0/],
    [{ missingFeatureThreshold: 1 }, /missingFeatureThreshold.*below 1/],
    [{ minInstances: 0.5 }, /minInstances.*whole number/],
    [{ bins: 1 }, /bins.*2 to 100/],
    [{ alarmPeriod: Duration.seconds(90) }, /alarmPeriod.*whole minutes/],
  ])('%j', (overrides, message) => {
    expect(() => driftStack(overrides as Partial<DriftMonitorProps>)).toThrow(message);
  });

  test('the endpoint captures nothing (serverless) and no bucket is given', () => {
    const parts = monitoredStack();
    const serverless = new ModelEndpoint(parts.stack, 'Serverless', {
      imageRepository: new ModelImageRepository(parts.stack, 'More', { repositoryName: 'fraud-small' }),
      serverless: { memory: Size.gibibytes(2), maxConcurrency: 5 },
    });
    expect(() => new DriftMonitor(parts.stack, 'D', {
      endpoint: serverless, modelPackageGroup: parts.registry, modelBucket: parts.models, dataBucket: parts.data, features: FEATURES,
    })).toThrow(/DriftMonitor 'Test\/D'.*captureBucket.*turn data capture on/);
  });

  test('the capture bucket is in another region', () => {
    const parts = monitoredStack();
    const stack = new Stack(parts.stack.node.root as App, 'InRegion', { env: { account: '123456789012', region: 'us-east-1' } });
    const bucket = VersionedBucket.fromBucketAttributes(stack, 'Captures', { bucketName: 'acme-capture-eu', region: 'eu-west-1' });
    const endpoint = ModelEndpoint.fromEndpointName(stack, 'Endpoint', 'fraud-prod');
    const models = VersionedBucket.fromBucketName(stack, 'Models', 'acme-models');
    expect(() => new DriftMonitor(stack, 'D', {
      endpoint,
      captureBucket: bucket,
      modelPackageGroup: ModelPackageGroup.fromModelPackageGroupName(stack, 'G', 'fraud'),
      modelBucket: models,
      dataBucket: models,
      features: FEATURES,
    })).toThrow(/DriftMonitor 'InRegion\/D': invalid captureBucket 'eu-west-1'/);
  });

});
