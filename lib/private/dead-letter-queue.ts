import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge, exemptFromControlTower } from './acknowledge';
import { REASONS } from './nag-reasons';

/**
 * The dead-letter queue of an EventBridge target or an asynchronous Lambda function: SSE-SQS, TLS only, 14 days,
 * and no SQS queue may redrive into it. Costs nothing while empty.
 */
export function eventDeadLetterQueue(scope: Construct, id: string, of: string = 'a Lambda function or an EventBridge target'): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    // Only EventBridge and Lambda write here; no queue may redrive into it.
    redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.DENY_ALL },
  });
  acknowledge(queue, {
    'Serverless-SQSRedrivePolicy': REASONS.sqs.deadLetterQueueNotRedriven,
  });
  exemptFromControlTower(queue.node.defaultChild as sqs.CfnQueue, {
    sqs_dlq_check: REASONS.sqs.deadLetterQueueOf(of),
  });
  return queue;
}

/** An alarm, to the topic, as soon as one message waits in the dead-letter queue. */
export function deadLetterAlarm(scope: Construct, id: string, queue: sqs.IQueue, description: string, topic: sns.ITopic): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: description,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new cwActions.SnsAction(topic));
  return alarm;
}

/**
 * The most patient retry policy of an EventBridge target: the API's maxima, 185 attempts within 24 hours
 * (EventBridge API Reference, RetryPolicy: MaximumRetryAttempts 0-185, MaximumEventAgeInSeconds 60-86400). What still
 * fails goes to the target's dead-letter queue.
 */
export const LONGEST_EVENT_RETRY = { retryAttempts: 185, maxEventAge: Duration.hours(24) } as const;
