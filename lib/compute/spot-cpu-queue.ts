import { Duration, Size } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { InstanceCatalog, InstanceSpec } from './instance-catalog';
import { ComputePlatform, IMlJobQueue, QueueCapacity } from './ml-job-queue';
import { acknowledgeInstanceRole, secureLaunchTemplate } from './private/compute-hygiene';
import { queuePair } from './private/queue-pair';
import { knownSpecs, validateCapacityTimeout, validateMaxvCpus, validateOnDemandOptions, validateOneArchitecture } from './private/queue-validation';
import { RunnableWatchdog } from './private/runnable-watchdog';
import { SpotQueueOptions } from './spot-queue-options';
import { alertsTopic } from '../private/alerts-topic';
import { MlOpsValidationError } from '../private/validation';

/** Fargate's largest task: 16 vCPUs and 120 GiB. */
const FARGATE_MAX_VCPUS = 16;
const FARGATE_MAX_MEMORY_MIB = 120 * 1024;

/** Props for {@link SpotCpuQueue}. */
export interface SpotCpuQueueProps extends SpotQueueOptions {
  /**
   * Fargate Spot (no instances to manage, per-second billing) or EC2 spot (larger jobs, shared memory).
   * @default ComputePlatform.FARGATE
   */
  readonly platform?: ComputePlatform;
  /**
   * EC2 instance types, when `platform` is EC2. Never `'optimal'`.
   * Types the catalog lacks are described with `CustomInstanceType` (vCPUs, memory, GPUs, architecture), so that job
   * definitions are still checked against them at synth.
   * @default - c6i, m6i and r6i in sizes xlarge to 4xlarge
   */
  readonly instanceTypes?: ec2.InstanceType[];
  /**
   * The encrypted gp3 root volume of each EC2 instance.
   * @default Size.gibibytes(50)
   */
  readonly rootVolumeSize?: Size;
}

/**
 * A Batch job queue on spot CPUs for evaluation (array jobs: shards, slices, seeds), with an on-demand
 * fallback, that costs nothing when idle: Fargate Spot by default, or EC2 spot with the same hygiene as
 * {@link SpotGpuQueue} (price-capacity-optimized, never `'optimal'`, IMDSv2, encrypted gp3, minvCpus 0).
 *
 * @example
 * const cpus = new SpotCpuQueue(this, 'Evaluation', { network });
 * const ec2Cpus = new SpotCpuQueue(this, 'BigEvaluation', { network, platform: ComputePlatform.EC2 });
 */
export class SpotCpuQueue extends Construct implements IMlJobQueue {
  public readonly jobQueue: batch.IJobQueue;
  public readonly onDemandJobQueue?: batch.IJobQueue;
  public readonly capacity: QueueCapacity;
  /** The spot compute environment. */
  public readonly spotComputeEnvironment: batch.IManagedComputeEnvironment;
  /** The on-demand fallback compute environment, if any. */
  public readonly onDemandComputeEnvironment?: batch.IManagedComputeEnvironment;
  /** The alarm on jobs cancelled in RUNNABLE. */
  public readonly runnableAlarm: cloudwatch.Alarm;
  private readonly watchdog: RunnableWatchdog;

  constructor(scope: Construct, id: string, props: SpotCpuQueueProps) {
    super(scope, id);
    const platform = props.platform ?? ComputePlatform.FARGATE;
    const maxvCpus = props.maxvCpus ?? 256;
    const onDemandMaxvCpus = props.onDemandMaxvCpus ?? 64;
    const onDemand = props.onDemandFallback ?? true;
    validateOnDemandOptions(this, 'SpotCpuQueue', onDemand, props.onDemandMaxvCpus);
    const capacityTimeout = props.capacityTimeout ?? Duration.minutes(30);
    validateCapacityTimeout(this, 'SpotCpuQueue', capacityTimeout);
    const networking = {
      vpc: props.network.vpc,
      vpcSubnets: props.network.subnets,
      securityGroups: [props.network.securityGroup],
    };

    if (platform === ComputePlatform.FARGATE) {
      if (props.instanceTypes !== undefined || props.rootVolumeSize !== undefined) {
        throw new MlOpsValidationError(this, 'SpotCpuQueue', props.instanceTypes ? 'instanceTypes' : 'rootVolumeSize', 'set',
          'Fargate chooses its own hosts: remove the prop, or set platform: ComputePlatform.EC2.');
      }
      validateMaxvCpus(this, 'SpotCpuQueue', 'maxvCpus', maxvCpus, 1);
      if (onDemand) validateMaxvCpus(this, 'SpotCpuQueue', 'onDemandMaxvCpus', onDemandMaxvCpus, 1);
      this.spotComputeEnvironment = new batch.FargateComputeEnvironment(this, 'Spot', { ...networking, spot: true, maxvCpus });
      this.onDemandComputeEnvironment = onDemand
        ? new batch.FargateComputeEnvironment(this, 'OnDemand', { ...networking, spot: false, maxvCpus: onDemandMaxvCpus })
        : undefined;
      this.capacity = {
        platform,
        architecture: ec2.InstanceArchitecture.X86_64,
        maxJobVcpus: Math.min(FARGATE_MAX_VCPUS, maxvCpus),
        maxJobMemoryMiB: FARGATE_MAX_MEMORY_MIB,
        maxJobGpus: 0,
        maxvCpus,
        // Without a NAT, a Fargate task reaches ECR and CloudWatch Logs only with a public IP (AWS Batch user guide,
        // "Compute environments on Fargate": subnets without NAT gateways need assignPublicIp ENABLED).
        assignPublicIp: props.network.publicIpEgress ?? false,
      };
    } else {
      const instanceTypes = props.instanceTypes ?? InstanceCatalog.defaultCpuInstanceTypes();
      const specs = this.cpuSpecs(instanceTypes);
      const smallest = Math.min(...specs.map((s) => s.vcpus));
      validateMaxvCpus(this, 'SpotCpuQueue', 'maxvCpus', maxvCpus, smallest);
      if (onDemand) validateMaxvCpus(this, 'SpotCpuQueue', 'onDemandMaxvCpus', onDemandMaxvCpus, smallest);
      const architecture = specs[0].architecture;
      const common = {
        ...networking,
        instanceTypes,
        useOptimalInstanceClasses: false,
        images: [{ imageType: batch.EcsMachineImageType.ECS_AL2023 }],
        launchTemplate: secureLaunchTemplate(this, props.rootVolumeSize ?? Size.gibibytes(50)),
        minvCpus: 0,
        updateToLatestImageVersion: true,
      };
      const spot = new batch.ManagedEc2EcsComputeEnvironment(this, 'Spot', {
        ...common,
        spot: true,
        allocationStrategy: batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
        maxvCpus,
      });
      acknowledgeInstanceRole(spot);
      this.spotComputeEnvironment = spot;
      if (onDemand) {
        const fallback = new batch.ManagedEc2EcsComputeEnvironment(this, 'OnDemand', {
          ...common,
          spot: false,
          allocationStrategy: batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
          maxvCpus: onDemandMaxvCpus,
        });
        acknowledgeInstanceRole(fallback);
        this.onDemandComputeEnvironment = fallback;
      }
      this.capacity = {
        platform,
        architecture,
        maxJobVcpus: Math.min(Math.max(...specs.map((s) => s.vcpus)), maxvCpus),
        maxJobMemoryMiB: Math.max(...specs.map((s) => s.memoryMiB)),
        maxJobGpus: 0,
        maxvCpus,
        instances: specs,
      };
    }

    const queues = queuePair(this, this.spotComputeEnvironment, this.onDemandComputeEnvironment, capacityTimeout, props.jobQueueName);
    this.jobQueue = queues.jobQueue;
    this.onDemandJobQueue = queues.onDemandJobQueue;
    this.watchdog = new RunnableWatchdog(this, 'RunnableWatchdog',
      [queues.jobQueue, ...(queues.onDemandJobQueue ? [queues.onDemandJobQueue] : [])], props.alarmTopic ?? alertsTopic(this));
    this.runnableAlarm = this.watchdog.alarm;
  }

  public grantSubmitJob(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['batch:SubmitJob'],
      resourceArns: [this.jobQueue.jobQueueArn, ...(this.onDemandJobQueue ? [this.onDemandJobQueue.jobQueueArn] : [])],
    });
  }

  /** Jobs Batch cancelled after they waited in RUNNABLE (no capacity, or nothing can run them). */
  public metricJobsCancelledInRunnable(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.watchdog.metric(props);
  }

  private cpuSpecs(instanceTypes: ec2.InstanceType[]): InstanceSpec[] {
    const specs = knownSpecs(this, 'SpotCpuQueue', instanceTypes, 'Give at least one instance type.');
    const gpuTypes = specs.filter((s) => s.gpus > 0).map((s) => s.name);
    if (gpuTypes.length > 0) {
      throw new MlOpsValidationError(this, 'SpotCpuQueue', 'instanceTypes', gpuTypes,
        'GPU instances cost several times a CPU instance and need the NVIDIA AMI: put them in a SpotGpuQueue.');
    }
    validateOneArchitecture(this, 'SpotCpuQueue', specs);
    return specs;
  }

}
