import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { BucketPurpose, DataVersionTrigger, DataVersionTriggerProps, VersionedBucket } from '../../lib';
import { complianceFindings } from '../support/compliance';

const PIPELINE_ARN = 'arn:aws:codepipeline:us-east-1:123456789012:fraud-ml';

function triggerStack(overrides: Partial<DataVersionTriggerProps> = {}, app = new App()) {
  const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'us-east-1' } });
  const bucket = new VersionedBucket(stack, 'Data', { purpose: BucketPurpose.DATA });
  const pipeline = codepipeline.Pipeline.fromPipelineArn(stack, 'Pipeline', PIPELINE_ARN);
  const trigger = new DataVersionTrigger(stack, 'OnNewData', { bucket, prefix: 'datasets/fraud/', pipeline, ...overrides });
  return { stack, bucket, pipeline, trigger };
}

describe('DataVersionTrigger', () => {
  const { stack } = triggerStack();
  const template = Template.fromStack(stack);

  test('matches only the markers under the prefix and invokes the function, with retries and a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.s3'],
        'detail-type': ['Object Created'],
        'detail': { bucket: { name: [{ Ref: Match.stringLikeRegexp('^Data') }] }, object: { key: [{ wildcard: 'datasets/fraud/*_SUCCESS' }] } },
      },
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OnNewDataFunction'), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OnNewDataDeadLetterQueue'), 'Arn'] } },
        RetryPolicy: { MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 },
      })],
    });
  });

  test('the function knows what to accept and which variable to set, and has the dead-letter queue', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { DATA_BUCKET: { Ref: Match.stringLikeRegexp('^Data') }, DATA_PREFIX: 'datasets/fraud/', MARKER_SUFFIX: '_SUCCESS', PIPELINE_NAME: 'fraud-ml', VARIABLE_NAME: 'DATA_PREFIX' } },
      DeadLetterConfig: { TargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^OnNewDataDeadLetterQueue'), 'Arn'] } },
      Architectures: ['arm64'],
      TracingConfig: { Mode: 'Active' },
    });
    // Lambda's default asynchronous retries (two), no separate configuration to get wrong.
    template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 0);
  });

  test('may start this one pipeline only', () => {
    const policies = template.findResources('AWS::IAM::Policy', { Properties: { PolicyName: Match.stringLikeRegexp('^OnNewDataFunction') } });
    const statements = Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
    expect(statements.filter((s: any) => JSON.stringify(s.Action).includes('codepipeline'))).toEqual([
      { Action: 'codepipeline:StartPipelineExecution', Effect: 'Allow', Resource: PIPELINE_ARN },
    ]);
  });

  test('the dead-letter queue is encrypted, TLS only, refuses redrives into it, and alarms when it holds events', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      SqsManagedSseEnabled: true,
      MessageRetentionPeriod: 1209600,
      RedriveAllowPolicy: { redrivePermission: 'denyAll' },
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Namespace: 'AWS/SQS',
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') }],
    });
  });

  test('a given dead-letter queue and variable name are used', () => {
    const s = new Stack(new App(), 'Own', { env: { account: '123456789012', region: 'us-east-1' } });
    new DataVersionTrigger(s, 'OnNewData', {
      bucket: new VersionedBucket(s, 'Data', { purpose: BucketPurpose.DATA }),
      prefix: 'datasets/fraud/',
      pipeline: codepipeline.Pipeline.fromPipelineArn(s, 'Pipeline', PIPELINE_ARN),
      deadLetterQueue: sqs.Queue.fromQueueArn(s, 'Mine', 'arn:aws:sqs:us-east-1:123456789012:failed-starts'),
      variableName: 'NEW_DATA',
      triggerVariableName: 'WHY',
      markerSuffix: '.manifest.json',
    });
    const t = Template.fromStack(s);
    t.resourceCountIs('AWS::SQS::Queue', 0);
    t.hasResourceProperties('AWS::Lambda::Function', { DeadLetterConfig: { TargetArn: 'arn:aws:sqs:us-east-1:123456789012:failed-starts' } });
    t.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ VARIABLE_NAME: 'NEW_DATA', TRIGGER_VARIABLE: 'WHY', MARKER_SUFFIX: '.manifest.json' }) },
    });
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(complianceFindings((app) => triggerStack({}, app), { controlTower: true })).toEqual([]);
  });
});

describe('DataVersionTrigger fails when', () => {
  test.each([
    [{ prefix: '/datasets/' }, /DataVersionTrigger 'Test\/OnNewData': invalid prefix '\/datasets\/'.*without a leading/],
    [{ prefix: 'datasets/*/' }, /invalid prefix 'datasets\/\*\/'/],
    [{ markerSuffix: '' }, /invalid markerSuffix ''.*marker object/],
    [{ markerSuffix: '*.json' }, /invalid markerSuffix '\*.json'/],
    [{ variableName: 'DATA PREFIX' }, /invalid variableName 'DATA PREFIX'.*1-128 letters/],
    [{ triggerVariableName: 'WHY?' }, /invalid triggerVariableName 'WHY\?'.*'TRIGGER'.*1-128 letters/],
    [{ triggerVariableName: 'DATA_PREFIX' }, /invalid triggerVariableName 'DATA_PREFIX'.*other than variableName/],
  ])('%p', (overrides, message) => {
    expect(() => triggerStack(overrides)).toThrow(message);
  });

  describe('the pipeline of this app does not declare a variable it is given', () => {
    /** A V2 pipeline declaring `variables`, with one source and one stage so that it synthesizes. */
    function withPipeline(variables: string[], overrides: Partial<DataVersionTriggerProps> = {}, addedLater: string[] = []) {
      const app = new App();
      const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'us-east-1' } });
      const bucket = new VersionedBucket(stack, 'Data', { purpose: BucketPurpose.DATA });
      const pipeline = new codepipeline.Pipeline(stack, 'Pipeline', {
        pipelineType: codepipeline.PipelineType.V2,
        variables: variables.map((variableName) => new codepipeline.Variable({ variableName, defaultValue: 'none' })),
      });
      const source = new codepipeline.Artifact('Source');
      pipeline.addStage({
        stageName: 'Source',
        actions: [new actions.S3SourceAction({
          actionName: 'Code', bucket: new s3.Bucket(stack, 'Sources', { versioned: true }), bucketKey: 'code.zip', output: source,
        })],
      });
      pipeline.addStage({ stageName: 'Done', actions: [new actions.ManualApprovalAction({ actionName: 'Look' })] });
      new DataVersionTrigger(stack, 'OnNewData', { bucket, prefix: 'datasets/fraud/', pipeline, ...overrides });
      for (const variableName of addedLater) pipeline.addVariable(new codepipeline.Variable({ variableName, defaultValue: 'none' }));
      return () => app.synth();
    }

    test('the data prefix variable', () => {
      expect(withPipeline(['OTHER'])).toThrow(
        /DataVersionTrigger 'Test\/OnNewData': invalid variableName 'DATA_PREFIX'. The pipeline Test\/Pipeline does not declare it \(it declares 'OTHER'\)/,
      );
    });

    test('the trigger variable', () => {
      expect(withPipeline(['DATA_PREFIX'], { triggerVariableName: 'TRIGGER' })).toThrow(/invalid triggerVariableName 'TRIGGER'. The pipeline Test\/Pipeline does not declare it/);
    });

    test('a variable declared after the trigger is found (checked at synth)', () => {
      expect(withPipeline(['DATA_PREFIX'], { triggerVariableName: 'TRIGGER' }, ['TRIGGER'])).not.toThrow();
    });
  });

  test('the bucket does not send its events to EventBridge (no data version would ever start a run)', () => {
    const app = new App();
    const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'us-east-1' } });
    const bucket = new VersionedBucket(stack, 'Quiet', { purpose: BucketPurpose.DATA, eventBridgeEnabled: false });
    new DataVersionTrigger(stack, 'OnNewData', { bucket, prefix: 'datasets/', pipeline: codepipeline.Pipeline.fromPipelineArn(stack, 'P', PIPELINE_ARN) });
    expect(() => app.synth()).toThrow(/DataVersionTrigger 'Test\/OnNewData': invalid bucket 'Test\/Quiet'. The bucket does not send its events to EventBridge/);
  });

  test('the pipeline is in another region', () => {
    expect(() => triggerStack({
      pipeline: codepipeline.Pipeline.fromPipelineArn(new Stack(new App(), 'X'), 'P', 'arn:aws:codepipeline:eu-west-1:123456789012:fraud-ml'),
    })).toThrow(/invalid pipeline 'eu-west-1'.*pipeline's region \(eu-west-1\), not us-east-1/);
  });
});
