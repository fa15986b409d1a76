import { Stack } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { ComputePlatform, IMlJobQueue, QueueCapacity } from '../../lib/compute/ml-job-queue';

/** A g5.12xlarge-sized spot GPU queue (4 GPUs, 48 vCPUs, 192 GiB). */
export const GPU_CAPACITY: QueueCapacity = {
  platform: ComputePlatform.EC2,
  architecture: ec2.InstanceArchitecture.X86_64,
  maxJobVcpus: 48,
  maxJobMemoryMiB: 192 * 1024,
  maxJobGpus: 4,
  maxvCpus: 256,
};

/** A c6i.8xlarge-sized EC2 CPU queue. */
export const CPU_CAPACITY: QueueCapacity = {
  platform: ComputePlatform.EC2,
  architecture: ec2.InstanceArchitecture.X86_64,
  maxJobVcpus: 32,
  maxJobMemoryMiB: 64 * 1024,
  maxJobGpus: 0,
  maxvCpus: 256,
};

/** A Fargate queue: up to 16 vCPUs and 120 GiB per job. */
export const FARGATE_CAPACITY: QueueCapacity = {
  platform: ComputePlatform.FARGATE,
  architecture: ec2.InstanceArchitecture.X86_64,
  maxJobVcpus: 16,
  maxJobMemoryMiB: 120 * 1024,
  maxJobGpus: 0,
  maxvCpus: 256,
};

export interface FakeQueueOptions {
  /** Also an on-demand queue, `<name>-on-demand`. */
  readonly onDemand?: boolean;
}

class FakeQueue extends Construct implements IMlJobQueue {
  public readonly jobQueue: batch.IJobQueue;
  public readonly onDemandJobQueue?: batch.IJobQueue;

  constructor(scope: Construct, id: string, public readonly capacity: QueueCapacity, options: FakeQueueOptions) {
    super(scope, id);
    const arn = (name: string) => Stack.of(this).formatArn({ service: 'batch', resource: 'job-queue', resourceName: name });
    this.jobQueue = batch.JobQueue.fromJobQueueArn(this, 'Queue', arn(id.toLowerCase()));
    if (options.onDemand) {
      this.onDemandJobQueue = batch.JobQueue.fromJobQueueArn(this, 'OnDemandQueue', arn(`${id.toLowerCase()}-on-demand`));
    }
  }

  public grantSubmitJob(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['batch:SubmitJob'],
      resourceArns: [this.jobQueue.jobQueueArn, ...(this.onDemandJobQueue ? [this.onDemandJobQueue.jobQueueArn] : [])],
    });
  }
}

/**
 * An `IMlJobQueue` with the given capacity and no resources: an imported queue named after `id` (lowercase), so
 * job definitions can be tested without the queue constructs.
 */
export function fakeQueue(scope: Construct, id: string, capacity: QueueCapacity, options: FakeQueueOptions = {}): IMlJobQueue {
  return new FakeQueue(scope, id, capacity, options);
}
