import { Token } from 'aws-cdk-lib';
import * as chatbot from 'aws-cdk-lib/aws-chatbot';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueue } from './private/async-target';
import { acknowledge } from '../private/acknowledge';
import { alertsTopic } from '../private/alerts-topic';
import { REASONS } from '../private/nag-reasons';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** The topic every alarm and notification of this library publishes to, unless given another. */
export class MlOpsAlerts {
  /**
   * The stack's cdk-mlops alerts topic (KMS-encrypted, TLS only; CloudWatch alarms of this account may publish), created
   * on first use: the same topic the constructs of this stack notify by default.
   */
  public static topic(scope: Construct): sns.ITopic {
    return alertsTopic(scope);
  }

  private constructor() {}
}

/** A Slack channel that receives the alerts through AWS Chatbot (Amazon Q Developer in chat applications). */
export interface SlackAlertChannel {
  /** The configuration's name (1-128 letters, digits, "-" and "_"). */
  readonly name: string;
  /** The Slack workspace's id (authorize the workspace once in the Amazon Q Developer console: it is not a CloudFormation resource). */
  readonly slackWorkspaceId: string;
  /** The Slack channel's id, e.g. `C0123456789` (the end of the channel's link). */
  readonly slackChannelId: string;
}

/** Props for {@link AlertSubscriptions}. */
export interface AlertSubscriptionsProps {
  /**
   * The topic to subscribe to.
   * @default - the stack's cdk-mlops alerts topic (MlOpsAlerts.topic)
   */
  readonly topic?: sns.ITopic;
  /**
   * Email addresses to notify; each gets a confirmation email from SNS and receives nothing until it confirms.
   * @default - none
   */
  readonly emails?: string[];
  /**
   * Slack channels to notify through AWS Chatbot.
   * @default - none
   */
  readonly slackChannels?: SlackAlertChannel[];
}

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const CONFIGURATION_NAME = /^[A-Za-z0-9-_]{1,128}$/;

/**
 * Alerts that reach people: email subscriptions and Slack channels (AWS Chatbot, now Amazon Q Developer in chat
 * applications) on the alerts topic, or on a topic you pass. Subscribing costs nothing; SNS bills deliveries and
 * Chatbot has no charge of its own.
 *
 * A chat channel can only read the notifications: its role has no permissions and its guardrail is the AWS managed
 * ReadOnlyAccess policy, so no command typed in the channel can change the account.
 *
 * @example
 * new AlertSubscriptions(this, 'Alerts', {
 *   emails: ['ml-oncall@example.com'],
 *   slackChannels: [{ name: 'ml-alerts', slackWorkspaceId: 'T0123456789', slackChannelId: 'C0123456789' }],
 * });
 */
export class AlertSubscriptions extends Construct {
  /** The topic subscribed to. */
  public readonly topic: sns.ITopic;
  /** The Slack channel configurations. */
  public readonly slackChannels: chatbot.ISlackChannelConfiguration[] = [];
  /** Alerts SNS could not deliver to an email address (after its retries), kept 14 days; absent without emails. */
  public readonly deadLetterQueue?: sqs.IQueue;

  constructor(scope: Construct, id: string, props: AlertSubscriptionsProps = {}) {
    super(scope, id);
    this.topic = props.topic ?? alertsTopic(this);
    const emails = props.emails ?? [];
    const channels = props.slackChannels ?? [];
    this.validate(emails, channels);

    if (emails.length > 0) {
      const queue = deadLetterQueue(this, 'the email subscriptions of an SNS topic');
      acknowledge(queue, {
        'AwsSolutions-SQS3': REASONS.sqs.emailSubscriptionsDeadLetterQueue,
      });
      this.deadLetterQueue = queue;
    }
    emails.forEach((email, i) => {
      new sns.Subscription(this, `Email${i}`, {
        topic: this.topic, protocol: sns.SubscriptionProtocol.EMAIL, endpoint: email, deadLetterQueue: this.deadLetterQueue,
      });
    });
    channels.forEach((channel, i) => {
      // A name given as a token cannot be part of a construct id: the position stands in for it.
      const configuration = new chatbot.SlackChannelConfiguration(this, Token.isUnresolved(channel.name) ? `Slack${i}` : `Slack${channel.name}`, {
        slackChannelConfigurationName: channel.name,
        slackWorkspaceId: channel.slackWorkspaceId,
        slackChannelId: channel.slackChannelId,
        notificationTopics: [this.topic],
        guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('ReadOnlyAccess')],
        loggingLevel: chatbot.LoggingLevel.ERROR,
      });
      this.slackChannels.push(configuration);
    });
  }

  private validate(emails: string[], channels: SlackAlertChannel[]): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'AlertSubscriptions', prop, value, fix);
    };
    if (emails.length === 0 && channels.length === 0) fail('emails', '[]', 'Give at least one email address or Slack channel.');
    const seen = new Set<string>();
    for (const email of emails) {
      if (isConcrete(email) && (!EMAIL.test(email) || seen.has(email.toLowerCase()))) {
        fail('emails', email, 'Give each address once, like "ml-oncall@example.com".');
      }
      seen.add(email.toLowerCase());
    }
    const names = new Set<string>();
    for (const c of channels) {
      if (isConcrete(c.name) && (!CONFIGURATION_NAME.test(c.name) || names.has(c.name))) {
        fail('slackChannels.name', c.name, 'Give each channel a unique name of 1-128 letters, digits, "-" or "_".');
      }
      names.add(c.name);
      if (isConcrete(c.slackChannelId) && !/^[A-Z0-9]{9,}$/.test(c.slackChannelId)) {
        fail('slackChannels.slackChannelId', c.slackChannelId, 'Give the channel id (like C0123456789), not its name.');
      }
      if (isConcrete(c.slackWorkspaceId) && !/^[A-Z0-9]{9,}$/.test(c.slackWorkspaceId)) {
        fail('slackChannels.slackWorkspaceId', c.slackWorkspaceId, 'Give the workspace id (like T0123456789), not its name.');
      }
    }
  }
}
