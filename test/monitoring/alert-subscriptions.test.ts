import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AlertSubscriptions, AlertSubscriptionsProps, MlOpsAlerts, ModelEndpoint, ModelImageRepository } from '../../lib';
import { complianceFindings } from '../support/compliance';

const SLACK = { name: 'ml-alerts', slackWorkspaceId: 'T0123456789', slackChannelId: 'C0123456789' };

function alertsStack(props: AlertSubscriptionsProps = { emails: ['ml-oncall@example.com'], slackChannels: [SLACK] }, app = new App()) {
  const stack = new Stack(app, 'Test');
  const subscriptions = new AlertSubscriptions(stack, 'Alerts', props);
  return { stack, subscriptions };
}

describe('AlertSubscriptions', () => {
  test('subscribes an email address and a Slack channel to the stack\'s alerts topic, the one the alarms notify', () => {
    const { stack, subscriptions } = alertsStack();
    new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images', { repositoryName: 'fraud-serving' }) });
    expect(subscriptions.topic).toBe(MlOpsAlerts.topic(stack));
    const template = Template.fromStack(stack);
    template.resourceCountIs('AWS::SNS::Topic', 1);
    const topic = { Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') };
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ml-oncall@example.com', TopicArn: topic });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [topic] });
    template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      ConfigurationName: 'ml-alerts',
      SlackWorkspaceId: 'T0123456789',
      SlackChannelId: 'C0123456789',
      SnsTopicArns: [topic],
      GuardrailPolicies: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':iam::aws:policy/ReadOnlyAccess']] }],
      LoggingLevel: 'ERROR',
    });
  });

  test('the chat channel\'s role has no permissions (it only relays notifications)', () => {
    const template = Template.fromStack(alertsStack().stack);
    const roles = template.findResources('AWS::IAM::Role', { Properties: { AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'chatbot.amazonaws.com' } })] } } });
    expect(Object.values(roles)).toHaveLength(1);
    expect((Object.values(roles)[0] as any).Properties.ManagedPolicyArns).toBeUndefined();
    const [roleId] = Object.keys(roles);
    const policies = template.findResources('AWS::IAM::Policy');
    expect(Object.values(policies).filter((p: any) => JSON.stringify(p.Properties.Roles).includes(roleId))).toEqual([]);
  });

  test('your own topic instead', () => {
    const stack = new Stack(new App(), 'Own');
    const topic = new sns.Topic(stack, 'Mine', { enforceSSL: true });
    new AlertSubscriptions(stack, 'Alerts', { topic, emails: ['a@example.com'] });
    Template.fromStack(stack).hasResourceProperties('AWS::SNS::Subscription', { TopicArn: { Ref: Match.stringLikeRegexp('^Mine') } });
    Template.fromStack(stack).resourceCountIs('AWS::SNS::Topic', 1);
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(complianceFindings((app) => alertsStack(undefined, app), { controlTower: true })).toEqual([]);
  });
});

describe('AlertSubscriptions fails when', () => {
  test.each([
    [{}, /AlertSubscriptions 'Test\/Alerts': invalid emails.*at least one email address or Slack channel/],
    [{ emails: ['not-an-address'] }, /emails 'not-an-address'/],
    [{ emails: ['a@example.com', 'A@example.com'] }, /each address once/],
    [{ slackChannels: [{ ...SLACK, name: 'has space' }] }, /slackChannels.name 'has space'/],
    [{ slackChannels: [SLACK, SLACK] }, /unique name/],
    [{ slackChannels: [{ ...SLACK, slackChannelId: '#ml-alerts' }] }, /slackChannelId '#ml-alerts'.*channel id/],
    [{ slackChannels: [{ ...SLACK, slackWorkspaceId: 'acme' }] }, /slackWorkspaceId 'acme'/],
  ])('%j', (props, message) => {
    expect(() => alertsStack(props as AlertSubscriptionsProps)).toThrow(message);
  });
});

describe('AlertSubscriptions email deliveries', () => {
  test('that fail after SNS\'s retries go to an encrypted dead-letter queue SNS may write to', () => {
    const template = Template.fromStack(alertsStack({ emails: ['ml-oncall@example.com'] }).stack);
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email', RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^AlertsDeadLetterQueue'), 'Arn'] } },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true, MessageRetentionPeriod: 1209600 });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'sqs:SendMessage', Principal: { Service: 'sns.amazonaws.com' } })]) },
    });
  });
});
