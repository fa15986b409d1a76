import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { MONITORING_NAMESPACE } from '../../private/contract/monitoring';
import { deadLetterAlarm as queueAlarm, eventDeadLetterQueue } from '../../private/dead-letter-queue';

/** The dead-letter queue of a function that EventBridge invokes asynchronously (the library's one definition). */
export function deadLetterQueue(scope: Construct, of?: string): sqs.Queue {
  return eventDeadLetterQueue(scope, 'DeadLetterQueue', of);
}

/** In alarm when the dead-letter queue holds an event; notifies the topic. */
export function deadLetterAlarm(scope: Construct, queue: sqs.IQueue, topic: sns.ITopic, description: string): cloudwatch.Alarm {
  return queueAlarm(scope, 'DeadLetters', queue, description, topic);
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
