import { Duration } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import { Construct } from 'constructs';
import { runnableTimeLimits } from './compute-hygiene';
import { claimPhysicalName } from '../../private/physical-names';
import { isConcrete, MlOpsValidationError } from '../../private/validation';

/** Batch job queue names: 1-128 letters, digits, hyphens and underscores (Batch API Reference, CreateJobQueue). */
const QUEUE_NAME = /^[A-Za-z0-9_-]{1,128}$/;
const ON_DEMAND_SUFFIX = '-on-demand';

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
  validateQueueName(scope, jobQueueName, onDemand !== undefined);
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
      jobQueueName: jobQueueName && `${jobQueueName}${ON_DEMAND_SUFFIX}`,
      computeEnvironments: [{ computeEnvironment: onDemand, order: 1 }],
      jobStateTimeLimitActions: limits,
    })
    : undefined;
  return { jobQueue, onDemandJobQueue };
}

function validateQueueName(scope: Construct, name: string | undefined, onDemand: boolean): void {
  if (!isConcrete(name)) return;
  const construct = scope.constructor.name;
  const names = onDemand ? [name, `${name}${ON_DEMAND_SUFFIX}`] : [name];
  for (const n of names) {
    if (!QUEUE_NAME.test(n)) {
      throw new MlOpsValidationError(scope, construct, 'jobQueueName', name, 'Batch job queue names are 1-128 letters, digits, hyphens ' +
        `and underscores${onDemand ? ` (with the on-demand queue's '${ON_DEMAND_SUFFIX}' suffix)` : ''}: no spaces or other characters.`);
    }
  }
  for (const n of names) claimPhysicalName(scope, construct, 'jobQueueName', 'Batch job queue', n);
}
