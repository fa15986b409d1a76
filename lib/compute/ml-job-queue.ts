import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { InstanceSpec } from './instance-catalog';

/** Where the jobs of a queue run. */
export enum ComputePlatform {
  /** EC2 instances managed by AWS Batch (GPU, shared memory, large root volumes). */
  EC2 = 'EC2',
  /** AWS Fargate: no instances to manage; no GPUs and no shared memory setting. */
  FARGATE = 'FARGATE',
}

/** The largest job a queue can run: what its biggest instance type (or Fargate) can give one job. */
export interface QueueCapacity {
  /** EC2 or Fargate. */
  readonly platform: ComputePlatform;
  /** The CPU architecture of every instance of the queue. */
  readonly architecture: ec2.InstanceArchitecture;
  /** The most vCPUs one job can get (the largest instance's, or Fargate's 16). */
  readonly maxJobVcpus: number;
  /** The installed memory of the largest instance (or Fargate's 120 GiB), in MiB; the ECS agent registers a little less. */
  readonly maxJobMemoryMiB: number;
  /** The most GPUs one job can get; 0 for a CPU queue. */
  readonly maxJobGpus: number;
  /** The queue's spot compute environment's maxvCpus: a job needing more never starts. */
  readonly maxvCpus: number;
  /**
   * The instance types of an EC2 queue. Each maximum above may come from a different type; with these, a job is
   * also checked to fit one instance with all its vCPUs, memory and GPUs together.
   * @default - not known (Fargate, or an imported queue): only the maxima are checked
   */
  readonly instances?: InstanceSpec[];
  /**
   * Whether Fargate jobs on this queue must ask for a public IPv4 address: its subnets reach the internet through an
   * internet gateway, not a NAT, and AWS Batch requires `assignPublicIp` ENABLED there or the job cannot pull its image.
   * @default false
   */
  readonly assignPublicIp?: boolean;
}

/**
 * A Batch job queue made by this library, with what it can run: job definitions check their resources against
 * it at synth, so a job that could never be placed fails `cdk synth` instead of sitting in RUNNABLE.
 */
export interface IMlJobQueue extends IConstruct {
  /** The queue that receives jobs (spot first, then the on-demand fallback when there is one). */
  readonly jobQueue: batch.IJobQueue;
  /**
   * A queue with only the on-demand compute environment, for jobs that must not wait for spot capacity (for
   * example the retry of a job cancelled for lack of spot capacity).
   */
  readonly onDemandJobQueue?: batch.IJobQueue;
  /** What one job can get on this queue. */
  readonly capacity: QueueCapacity;
  /**
   * Permits the grantee to submit jobs to this queue and its on-demand queue. SubmitJob also needs the job
   * definition: `MlJobDefinition.grantSubmitJob` grants both.
   */
  grantSubmitJob(grantee: iam.IGrantable): iam.Grant;
}
