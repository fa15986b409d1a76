import { Duration } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import { Construct } from 'constructs';
import { runnableTimeLimits } from './compute-hygiene';

/** The spot compute environment, an optional on-demand one, and the queues that use them. */
export interface QueuePair {
  readonly jobQueue: batch.JobQueue;
  readonly onDemandJobQueue?: batch.JobQueue;
}

/**
 * The main queue tries spot first and the on-demand environment second (Batch moves on to the second only when
 * the first is at its maxvCpus); the on-demand queue uses the on-demand environment alone, for jobs that must
 * not wait for spot capacity. Jobs stuck in RUNNABLE are cancelled on both.
 */
export function queuePair(
  scope: Construct,
  spot: batch.IComputeEnvironment,
  onDemand: batch.IComputeEnvironment | undefined,
  capacityTimeout: Duration,
  jobQueueName?: string,
): QueuePair {
  const limits = runnableTimeLimits(capacityTimeout);
  const jobQueue = new batch.JobQueue(scope, 'JobQueue', {
    jobQueueName,
    computeEnvironments: [
      { computeEnvironment: spot, order: 1 },
      ...(onDemand ? [{ computeEnvironment: onDemand, order: 2 }] : []),
    ],
    jobStateTimeLimitActions: limits,
  });
  const onDemandJobQueue = onDemand
    ? new batch.JobQueue(scope, 'OnDemandJobQueue', {
      jobQueueName: jobQueueName && `${jobQueueName}-on-demand`,
      computeEnvironments: [{ computeEnvironment: onDemand, order: 1 }],
      jobStateTimeLimitActions: limits,
    })
    : undefined;
  return { jobQueue, onDemandJobQueue };
}
