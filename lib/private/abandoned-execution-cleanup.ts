import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge } from './acknowledge';
import { INLINE_ROLE_POLICY } from './common-findings';
import { deadLetterAlarm, eventDeadLetterQueue } from './dead-letter-queue';
import { REASONS } from './nag-reasons';

/**
 * A state machine that creates billed resources (an endpoint, an inference experiment) deletes them on every path of
 * its own, but an execution that is stopped or times out runs none of them. This wiring starts the same machine again
 * with `{"cleanup": true, "executionArn": <the abandoned execution>}` for each such execution, and tells the alerts
 * topic when a clean-up itself does not succeed or cannot be started: nothing else would tell anyone.
 *
 * Event shape: Step Functions Developer Guide, "EventBridge for Step Functions execution status changes" (source
 * `aws.states`, detail type "Step Functions Execution Status Change", `detail.status`, `detail.executionArn`, and
 * `detail.input` as the execution's input string).
 */

/** How a clean-up execution's input begins (the rule's input template below, rendered by EventBridge). */
export const CLEANUP_INPUT_PREFIX = '{"cleanup":true';

export interface AbandonedExecutionCleanupOptions {
  readonly stateMachine: sfn.IStateMachine;
  /** What the rules' descriptions say the clean-up does, e.g. "deletes the endpoint X of a stopped or timed-out test". */
  readonly cleanupDescription: string;
  /** What the failure notice and alarm say is left running and how long, e.g. "the endpoint X may still run". */
  readonly leftRunning: string;
  /** What the dead-letter queue is of, for its exemption. */
  readonly queueOf: string;
  readonly topic: sns.ITopic;
}

export interface AbandonedExecutionCleanup {
  /** Starts the clean-up of stopped and timed-out executions. */
  readonly rule: events.Rule;
  /** Notifies the topic when a clean-up fails, times out or is stopped. */
  readonly failedRule: events.Rule;
  /** The starts and notices EventBridge could not deliver. */
  readonly deadLetterQueue: sqs.IQueue;
  /** In alarm when one waits in the dead-letter queue. */
  readonly deadLetterAlarm: cloudwatch.Alarm;
}

/** The rules (ids 'CleanUpAbandoned', 'CleanUpFailed'), their dead-letter queue and its alarm, in `scope`. */
export function abandonedExecutionCleanup(scope: Construct, options: AbandonedExecutionCleanupOptions): AbandonedExecutionCleanup {
  const statusChange = { source: ['aws.states'], detailType: ['Step Functions Execution Status Change'] };
  const deadLetterQueue = eventDeadLetterQueue(scope, 'CleanUpDeadLetters', options.queueOf);
  acknowledge(deadLetterQueue, { 'AwsSolutions-SQS3': REASONS.sqs.eventTargetDeadLetterQueue });
  const rule = new events.Rule(scope, 'CleanUpAbandoned', {
    description: `cdk-mlops: ${options.cleanupDescription}`,
    eventPattern: {
      ...statusChange,
      detail: { stateMachineArn: [options.stateMachine.stateMachineArn], status: ['ABORTED', 'TIMED_OUT'] },
    },
    targets: [new targets.SfnStateMachine(options.stateMachine, {
      input: events.RuleTargetInput.fromObject({ cleanup: true, executionArn: events.EventField.fromPath('$.detail.executionArn') }),
      deadLetterQueue,
    })],
  });
  // The rule's role: one statement, StartExecution on this state machine.
  const eventsPolicy = options.stateMachine.node.tryFindChild('EventsRole')?.node.tryFindChild('DefaultPolicy');
  if (eventsPolicy) acknowledge(eventsPolicy, INLINE_ROLE_POLICY);

  const execution = events.EventField.fromPath('$.detail.executionArn');
  const failedRule = new events.Rule(scope, 'CleanUpFailed', {
    description: 'cdk-mlops: a clean-up of a stopped or timed-out execution did not succeed',
    eventPattern: {
      ...statusChange,
      detail: {
        stateMachineArn: [options.stateMachine.stateMachineArn],
        status: ['FAILED', 'TIMED_OUT', 'ABORTED'],
        input: events.Match.prefix(CLEANUP_INPUT_PREFIX),
      },
    },
    targets: [new targets.SnsTopic(options.topic, {
      message: events.RuleTargetInput.fromText(
        `The clean-up ${execution} ended ${events.EventField.fromPath('$.detail.status')}: ${options.leftRunning}. ` +
        'The execution\'s error gives the command that deletes it.'),
      deadLetterQueue,
    })],
  });
  const deadLetterAlarm_ = deadLetterAlarm(scope, 'CleanUpDeadLetterAlarm', deadLetterQueue,
    `A stopped or timed-out execution was not cleaned up, or a failed clean-up was not notified: ${options.leftRunning}. ` +
    'Start the state machine with {"cleanup": true, "executionArn": "<the execution>"} (see the message in the ' +
    'dead-letter queue).', options.topic);
  return { rule, failedRule, deadLetterQueue, deadLetterAlarm: deadLetterAlarm_ };
}
