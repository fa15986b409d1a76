import { Duration } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { acknowledge } from '../../private/acknowledge';
import { TIME_LIMIT_CANCEL_PREFIX, UNSUPPORTED_INSTANCE_CONFIGURATION_REASON } from '../../private/contract/batch-status-reasons';
import { REASONS } from '../../private/nag-reasons';

/**
 * Watches for jobs that Batch cancelled because they sat in RUNNABLE (the job state time limits), and for queues
 * blocked for a reason no time limit can cancel (an unsupported instance configuration): an EventBridge rule on
 * those events notifies the alerts topic, and an alarm on the rule's matches gives dashboards and on-call a state
 * to watch. Batch itself publishes no queue-depth metric.
 *
 * A cancelled job's statusReason is `Canceled by JobStateTimeLimit action due to reason: CAPACITY:...` (or
 * `...: MISCONFIGURATION:...`), so the rule matches that prefix (EventBridge prefix matching), not `CAPACITY:`,
 * which is the reason only while the job is still waiting.
 */
export class RunnableWatchdog extends Construct {
  public readonly rule: events.Rule;
  public readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, queues: batch.IJobQueue[], topic: sns.ITopic) {
    super(scope, id);
    this.rule = new events.Rule(this, 'Rule', {
      description: 'cdk-mlops: a Batch job was cancelled after waiting in RUNNABLE, or a queue is blocked by its instance configuration',
      eventPattern: {
        source: ['aws.batch'],
        detailType: ['Batch Job State Change', 'Batch Job Queue Blocked'],
        detail: {
          jobQueue: queues.map((q) => q.jobQueueArn),
          statusReason: [{ prefix: TIME_LIMIT_CANCEL_PREFIX }, { prefix: UNSUPPORTED_INSTANCE_CONFIGURATION_REASON }],
        },
      },
    });
    this.rule.addTarget(
      new targets.SnsTopic(topic, {
        message: events.RuleTargetInput.fromText(
          `Batch job ${events.EventField.fromPath('$.detail.jobName')} (${events.EventField.fromPath('$.detail.jobId')}) ` +
            `was cancelled in RUNNABLE, or blocks ${events.EventField.fromPath('$.detail.jobQueue')}: ` +
            `${events.EventField.fromPath('$.detail.statusReason')}`,
        ),
      }),
    );

    acknowledge(this.rule, {
      'Serverless-EventBusDLQ': REASONS.events.runnableAlertsNoDeadLetterQueue,
    });

    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmDescription: 'Batch jobs were cancelled after waiting in RUNNABLE (no capacity, or no compute environment can run them), ' +
        'or a queue is blocked by an unsupported instance configuration.',
      metric: this.metric(),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarm.addAlarmAction(new actions.SnsAction(topic));
  }

  /** Jobs cancelled in RUNNABLE, and blocked-queue events no time limit can cancel: the rule's matches. */
  public metric(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/Events',
      metricName: 'TriggeredRules',
      dimensionsMap: { RuleName: this.rule.ruleName },
      statistic: 'Sum',
      period: Duration.minutes(5),
      ...props,
    });
  }
}
