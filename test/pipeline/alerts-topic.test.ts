import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import { alertsTopic } from '../../lib/private/alerts-topic';
import { CLOUDWATCH_ALARMS_PUBLISH, ENCRYPTED_TOPIC_PUBLISHER_KEY_ACTIONS } from '../fixtures/aws/sns';

const ACCOUNT = '123456789012';
const REGION = 'eu-west-1';

/** The alerts topic as the constructs use it: an alarm action and an EventBridge target (which writes a topic policy). */
function template(): Template {
  const stack = new Stack(new App(), 'Test', { env: { account: ACCOUNT, region: REGION } });
  const topic = alertsTopic(stack);
  const alarm = new cloudwatch.Alarm(stack, 'Alarm', {
    metric: new cloudwatch.Metric({ namespace: 'Test', metricName: 'Errors' }),
    threshold: 1,
    evaluationPeriods: 1,
  });
  alarm.addAlarmAction(new actions.SnsAction(topic));
  new events.Rule(stack, 'Rule', { eventPattern: { source: ['aws.batch'] }, targets: [new targets.SnsTopic(topic)] });
  return Template.fromStack(stack);
}

const statements = (t: Template, type: string, property: string): any[] =>
  Object.values(t.findResources(type)).flatMap((r: any) => r.Properties[property].Statement).map(inAwsPartition);

/** The statement with `{ Fn::Join: [..., { Ref: AWS::Partition } ...] }` written out for the aws partition. */
function inAwsPartition(value: any): any {
  if (Array.isArray(value)) return value.map(inAwsPartition);
  if (typeof value !== 'object' || value === null) return value;
  const join = value['Fn::Join'];
  if (join && join[1].every((p: any) => typeof p === 'string' || p.Ref === 'AWS::Partition')) {
    return join[1].map((p: any) => (typeof p === 'string' ? p : 'aws')).join(join[0]);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inAwsPartition(v)]));
}

describe('the alerts topic', () => {
  const t = template();

  test('lets the CloudWatch alarms of this account and Region publish, as the SNS guide scopes them', () => {
    const fixture = CLOUDWATCH_ALARMS_PUBLISH.value;
    const cloudWatch = statements(t, 'AWS::SNS::TopicPolicy', 'PolicyDocument').filter((s) => s.Principal?.Service === fixture.principal.Service);
    expect(cloudWatch).toEqual([expect.objectContaining({
      Effect: 'Allow',
      Action: fixture.action,
      Condition: {
        ArnLike: { 'aws:SourceArn': fixture.sourceArnPattern.replace('us-east-2', REGION).replace(fixture.sourceAccount, ACCOUNT) },
        StringEquals: { 'aws:SourceAccount': ACCOUNT },
      },
    })]);
  });

  test('EventBridge may publish too (the topic policy has both)', () => {
    const services = statements(t, 'AWS::SNS::TopicPolicy', 'PolicyDocument').map((s) => s.Principal?.Service);
    expect(services).toEqual(expect.arrayContaining(['cloudwatch.amazonaws.com', 'events.amazonaws.com']));
  });

  test('the key lets CloudWatch alarms of this account encrypt, with the documented actions', () => {
    const fixture = ENCRYPTED_TOPIC_PUBLISHER_KEY_ACTIONS.value;
    const cloudWatch = statements(t, 'AWS::KMS::Key', 'KeyPolicy').filter((s) => s.Principal?.Service === 'cloudwatch.amazonaws.com');
    expect(cloudWatch).toHaveLength(1);
    expect([cloudWatch[0].Action].flat().sort()).toEqual([...fixture.actions].sort());
    expect(cloudWatch[0].Condition).toEqual({
      ArnLike: { 'aws:SourceArn': `arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:*` },
      StringEquals: { 'aws:SourceAccount': ACCOUNT },
    });
  });

  test('the key lets EventBridge encrypt without the source conditions SNS does not support for it', () => {
    const fixture = ENCRYPTED_TOPIC_PUBLISHER_KEY_ACTIONS.value;
    const eventBridge = statements(t, 'AWS::KMS::Key', 'KeyPolicy').filter((s) => [s.Principal?.Service].flat().includes(fixture.conditionsNotSupportedFor));
    expect(eventBridge).toHaveLength(1);
    expect([eventBridge[0].Action].flat()).toEqual(expect.arrayContaining(['kms:Decrypt', expect.stringMatching(/^kms:GenerateDataKey/)]));
    const keys = Object.values(eventBridge[0].Condition ?? {}).flatMap((c: any) => Object.keys(c));
    for (const key of fixture.unsupportedConditionKeys) expect(keys).not.toContain(key);
  });
});
