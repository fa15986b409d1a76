import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { acknowledge, exemptFromControlTower } from '../../private/acknowledge';
import { MONITORING_NAMESPACE } from '../../private/contract/monitoring';

/**
 * The dead-letter queue of a function that EventBridge invokes asynchronously: SQS-managed encryption, TLS only,
 * messages kept 14 days, no redrive into it.
 */
export function deadLetterQueue(scope: Construct, of: string = 'a Lambda function and an EventBridge target'): sqs.Queue {
  const queue = new sqs.Queue(scope, 'DeadLetterQueue', {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
    redriveAllowPolicy: { redrivePermission: sqs.RedrivePermission.DENY_ALL },
  });
  acknowledge(queue, {
    'Serverless-SQSRedrivePolicy': 'This queue is the dead-letter queue: its messages are read by people (or replayed), ' +
      'not processed by a consumer that could fail.',
  });
  exemptFromControlTower(queue.node.defaultChild as sqs.CfnQueue, {
    sqs_dlq_check: `The dead-letter queue of ${of}, not of an SQS queue: its redrive ` +
      'allow policy denies all SQS source queues, which the rule does not count as a dead-letter queue mark.',
  });
  return queue;
}

/** In alarm when the dead-letter queue holds an event; notifies the topic. */
export function deadLetterAlarm(scope: Construct, queue: sqs.IQueue, topic: sns.ITopic, description: string): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(scope, 'DeadLetters', {
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

/** PutMetricData into the monitoring namespace only (the action has no resource-level permissions). */
export function putMonitoringMetrics(): iam.PolicyStatement {
  return new iam.PolicyStatement({
    actions: ['cloudwatch:PutMetricData'],
    resources: ['*'],
    conditions: { StringEquals: { 'cloudwatch:namespace': MONITORING_NAMESPACE } },
  });
}

/** A metric of the monitoring namespace for one endpoint. */
export function monitoringMetric(endpointName: string, metricName: string, statistic: string, period: Duration,
  props?: cloudwatch.MetricOptions, dimensions: Record<string, string> = {}): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: MONITORING_NAMESPACE,
    metricName,
    dimensionsMap: { EndpointName: endpointName, ...dimensions },
    statistic,
    period,
    ...props,
  });
}
