import { App, Duration, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import { FEATURES, monitoredStack, PIPELINE_ARN, statementsOf } from './fixture';
import { DriftMonitor, RetrainingTrigger, RetrainingTriggerProps } from '../../lib';
import { complianceFindings } from '../support/compliance';

function retrainStack(overrides: Partial<RetrainingTriggerProps> = {}, app = new App()) {
  const parts = monitoredStack(app);
  const drift = new DriftMonitor(parts.stack, 'Drift', {
    endpoint: parts.endpoint, modelPackageGroup: parts.registry, modelBucket: parts.models, dataBucket: parts.data, features: FEATURES,
  });
  const trigger = new RetrainingTrigger(parts.stack, 'Retrain', { pipeline: parts.pipeline, alarms: [drift.driftAlarm], ...overrides });
  return { ...parts, drift, trigger };
}

describe('RetrainingTrigger', () => {
  const { stack } = retrainStack({ schedule: events.Schedule.rate(Duration.days(7)) });
  const template = Template.fromStack(stack);

  test('a rule on the drift alarm entering ALARM, and a weekly rule, invoke the function with a dead-letter queue', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        'resources': [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^DriftDriftAlarm'), 'Arn'] }],
        'detail': { state: { value: ['ALARM'] } },
      },
      Targets: [Match.objectLike({
        Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RetrainFunction'), 'Arn'] },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RetrainDeadLetterQueue'), 'Arn'] } },
      })],
    });
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(7 days)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RetrainFunction'), 'Arn'] } })],
    });
  });

  test('the function has the cool-down and the trigger variable; it may list and start this one pipeline only', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: { PIPELINE_NAME: 'fraud-ml', TRIGGER_VARIABLE: 'TRIGGER', COOL_DOWN_SECONDS: '43200', AWS_NODEJS_CONNECTION_REUSE_ENABLED: '1' } },
    });
    expect(statementsOf(template, /^RetrainFunction/).filter((s) => JSON.stringify(s.Action).includes('codepipeline'))).toEqual([
      { Action: ['codepipeline:ListPipelineExecutions', 'codepipeline:StartPipelineExecution'], Effect: 'Allow', Resource: PIPELINE_ARN },
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'AWS/SQS', AlarmActions: [{ Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') }] });
  });

  test('a data prefix and other variable names are passed on; without alarms, a schedule alone is enough', () => {
    const s = new Stack(new App(), 'S');
    const pipeline = codepipeline.Pipeline.fromPipelineArn(s, 'P', PIPELINE_ARN);
    const trigger = new RetrainingTrigger(s, 'R', {
      pipeline,
      schedule: events.Schedule.rate(Duration.days(1)),
      triggerVariableName: 'WHY',
      dataPrefix: 'datasets/fraud/',
      dataPrefixVariableName: 'DATA',
      coolDown: Duration.hours(24),
    });
    expect(trigger.alarmRule).toBeUndefined();
    Template.fromStack(s).hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ TRIGGER_VARIABLE: 'WHY', DATA_PREFIX_VARIABLE: 'DATA', DATA_PREFIX: 'datasets/fraud/', COOL_DOWN_SECONDS: '86400' }) },
    });
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(complianceFindings((app) => retrainStack({ schedule: events.Schedule.rate(Duration.days(7)) }, app), { controlTower: true })).toEqual([]);
  });
});

describe('RetrainingTrigger fails when', () => {
  test.each([
    [{ alarms: [] }, /RetrainingTrigger 'Test\/Retrain': invalid alarms.*or a schedule/],
    [{ triggerVariableName: '' }, /triggerVariableName '""'.*variable the pipeline declares/],
    [{ triggerVariableName: 'has space' }, /triggerVariableName/],
    [{ dataPrefixVariableName: 'a/b', dataPrefix: 'x/' }, /dataPrefixVariableName/],
    [{ coolDown: Duration.minutes(30) }, /coolDown '30 minutes'.*at least one hour/],
    [{ dataPrefix: 'x'.repeat(1001) }, /dataPrefix '1001 characters'/],
  ])('%j', (overrides, message) => {
    expect(() => retrainStack(overrides as Partial<RetrainingTriggerProps>)).toThrow(message);
  });

  test('the pipeline is in another region', () => {
    const s = new Stack(new App(), 'S', { env: { account: '123456789012', region: 'eu-west-1' } });
    const alarm = cloudwatch.Alarm.fromAlarmArn(s, 'A', 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:drift');
    expect(() => new RetrainingTrigger(s, 'R', { pipeline: codepipeline.Pipeline.fromPipelineArn(s, 'P', PIPELINE_ARN), alarms: [alarm] }))
      .toThrow(/pipeline 'us-east-1'.*pipeline's region/);
  });
});
