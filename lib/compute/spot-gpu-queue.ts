import { Duration, Size } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { InstanceCatalog, InstanceSpec } from './instance-catalog';
import { ComputePlatform, IMlJobQueue, QueueCapacity } from './ml-job-queue';
import { acknowledgeInstanceRole, secureLaunchTemplate } from './private/compute-hygiene';
import { UNSUPPORTED_GPU_FAMILIES } from './private/instance-table';
import { queuePair } from './private/queue-pair';
import { knownSpecs, validateCapacityTimeout, validateMaxvCpus, validateOnDemandOptions, validateOneArchitecture } from './private/queue-validation';
import { RunnableWatchdog } from './private/runnable-watchdog';
import { SpotQueueOptions } from './spot-queue-options';
import { alertsTopic } from '../private/alerts-topic';
import { MlOpsValidationError } from '../private/validation';

const NVIDIA_IMAGE_TYPES = [batch.EcsMachineImageType.ECS_AL2023_NVIDIA, batch.EcsMachineImageType.ECS_AL2_NVIDIA];

/** Props for {@link SpotGpuQueue}. */
export interface SpotGpuQueueProps extends SpotQueueOptions {
  /**
   * GPU instance types. Several types and sizes across generations give spot more pools to draw from.
   * `'optimal'` is never added (it has no GPUs).
   * Types the catalog lacks are described with `CustomInstanceType` (vCPUs, memory, GPUs, architecture), so that job
   * definitions are still checked against them at synth.
   * @default - g4dn, g5 and g6 in sizes xlarge, 2xlarge, 4xlarge and 12xlarge
   */
  readonly instanceTypes?: ec2.InstanceType[];
  /**
   * The ECS-optimized AMI family. Must be an NVIDIA one: the plain ECS AMI has no GPU driver and jobs would
   * wait in RUNNABLE forever.
   * @default batch.EcsMachineImageType.ECS_AL2023_NVIDIA
   */
  readonly imageType?: batch.EcsMachineImageType;
  /**
   * The encrypted gp3 root volume of each instance: CUDA images are 10-20 GB and are unpacked on it.
   * @default Size.gibibytes(200)
   */
  readonly rootVolumeSize?: Size;
}

/**
 * A Batch job queue on spot GPU instances, with an on-demand fallback, that costs nothing when idle.
 *
 * - spot with `SPOT_PRICE_CAPACITY_OPTIMIZED` across many GPU types (never `'optimal'`), minvCpus 0;
 * - the NVIDIA ECS AMI (Amazon Linux 2023), a launch template with IMDSv2 (hop limit 1) and an encrypted gp3
 *   root volume;
 * - an on-demand compute environment at order 2 and a separate on-demand queue;
 * - jobs stuck in RUNNABLE are cancelled (misconfiguration after 10 minutes, no capacity after
 *   `capacityTimeout`), and an alarm with a notification says so.
 *
 * Job definitions (`MlJobDefinition`) are checked against `capacity` at synth.
 *
 * @example
 * const network = new BatchNetwork(this, 'Network');
 * const gpus = new SpotGpuQueue(this, 'Training', { network, maxvCpus: 128 });
 */
export class SpotGpuQueue extends Construct implements IMlJobQueue {
  public readonly jobQueue: batch.IJobQueue;
  public readonly onDemandJobQueue?: batch.IJobQueue;
  public readonly capacity: QueueCapacity;
  /** The spot compute environment. */
  public readonly spotComputeEnvironment: batch.ManagedEc2EcsComputeEnvironment;
  /** The on-demand fallback compute environment, if any. */
  public readonly onDemandComputeEnvironment?: batch.ManagedEc2EcsComputeEnvironment;
  /** The launch template of both compute environments. */
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** The alarm on jobs cancelled in RUNNABLE. */
  public readonly runnableAlarm: cloudwatch.Alarm;
  private readonly watchdog: RunnableWatchdog;

  constructor(scope: Construct, id: string, props: SpotGpuQueueProps) {
    super(scope, id);
    const instanceTypes = props.instanceTypes ?? InstanceCatalog.defaultGpuInstanceTypes();
    const imageType = props.imageType ?? batch.EcsMachineImageType.ECS_AL2023_NVIDIA;
    const specs = this.gpuSpecs(instanceTypes, imageType);
    if (!NVIDIA_IMAGE_TYPES.includes(imageType)) {
      throw new MlOpsValidationError(this, 'SpotGpuQueue', 'imageType', imageType,
        'GPU instances need an NVIDIA ECS AMI: use batch.EcsMachineImageType.ECS_AL2023_NVIDIA (or ECS_AL2_NVIDIA).');
    }
    const maxvCpus = props.maxvCpus ?? 256;
    const onDemandMaxvCpus = props.onDemandMaxvCpus ?? 64;
    const smallest = Math.min(...specs.map((s) => s.vcpus));
    validateMaxvCpus(this, 'SpotGpuQueue', 'maxvCpus', maxvCpus, smallest);
    const onDemand = props.onDemandFallback ?? true;
    validateOnDemandOptions(this, 'SpotGpuQueue', onDemand, props.onDemandMaxvCpus);
    if (onDemand) validateMaxvCpus(this, 'SpotGpuQueue', 'onDemandMaxvCpus', onDemandMaxvCpus, smallest);
    const capacityTimeout = props.capacityTimeout ?? Duration.minutes(30);
    validateCapacityTimeout(this, 'SpotGpuQueue', capacityTimeout);

    this.launchTemplate = secureLaunchTemplate(this, props.rootVolumeSize ?? Size.gibibytes(200));
    const common = {
      vpc: props.network.vpc,
      vpcSubnets: props.network.subnets,
      securityGroups: [props.network.securityGroup],
      instanceTypes,
      useOptimalInstanceClasses: false,
      images: [{ imageType }],
      launchTemplate: this.launchTemplate,
      minvCpus: 0,
      updateToLatestImageVersion: true,
    };
    this.spotComputeEnvironment = new batch.ManagedEc2EcsComputeEnvironment(this, 'Spot', {
      ...common,
      spot: true,
      allocationStrategy: batch.AllocationStrategy.SPOT_PRICE_CAPACITY_OPTIMIZED,
      maxvCpus,
    });
    acknowledgeInstanceRole(this.spotComputeEnvironment);
    if (onDemand) {
      this.onDemandComputeEnvironment = new batch.ManagedEc2EcsComputeEnvironment(this, 'OnDemand', {
        ...common,
        spot: false,
        allocationStrategy: batch.AllocationStrategy.BEST_FIT_PROGRESSIVE,
        maxvCpus: onDemandMaxvCpus,
      });
      acknowledgeInstanceRole(this.onDemandComputeEnvironment);
    }

    const queues = queuePair(this, this.spotComputeEnvironment, this.onDemandComputeEnvironment, capacityTimeout, props.jobQueueName);
    this.jobQueue = queues.jobQueue;
    this.onDemandJobQueue = queues.onDemandJobQueue;
    this.watchdog = new RunnableWatchdog(this, 'RunnableWatchdog',
      [queues.jobQueue, ...(queues.onDemandJobQueue ? [queues.onDemandJobQueue] : [])], props.alarmTopic ?? alertsTopic(this));
    this.runnableAlarm = this.watchdog.alarm;

    // Each dimension's maximum over the instance types: a job is refused only if no type could ever hold it.
    this.capacity = {
      platform: ComputePlatform.EC2,
      architecture: specs[0].architecture,
      maxJobVcpus: Math.min(Math.max(...specs.map((s) => s.vcpus)), maxvCpus),
      maxJobMemoryMiB: Math.max(...specs.map((s) => s.memoryMiB)),
      maxJobGpus: Math.max(...specs.map((s) => s.gpus)),
      maxvCpus,
      instances: specs,
    };
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

  private gpuSpecs(instanceTypes: ec2.InstanceType[], imageType: batch.EcsMachineImageType): InstanceSpec[] {
    const specs = knownSpecs(this, 'SpotGpuQueue', instanceTypes,
      'Give at least one GPU instance type; several types and sizes find spot capacity more often.');
    const unsupported = specs.filter((s) => {
      const scope = UNSUPPORTED_GPU_FAMILIES[s.name.split('.')[0]];
      // No NVIDIA AMI serves a Graviton GPU type, catalogued or described with CustomInstanceType.
      if (s.gpus > 0 && s.architecture === ec2.InstanceArchitecture.ARM_64) return true;
      return scope === 'ALL' || (scope === 'AL2023' && imageType === batch.EcsMachineImageType.ECS_AL2023_NVIDIA);
    }).map((s) => s.name);
    if (unsupported.length > 0) {
      throw new MlOpsValidationError(this, 'SpotGpuQueue', 'instanceTypes', unsupported,
        `The Batch NVIDIA AMI (${imageType}) does not serve these types (p3 and g3 are not served by ECS_AL2023_NVIDIA, Graviton GPU ` +
        'types such as g5g by no NVIDIA AMI), so the compute environment could not start them: use g4dn, g5, g6, g6e, p4d, p4de, p5 or p5e.');
    }
    const withoutGpus = specs.filter((s) => s.gpus === 0).map((s) => s.name);
    if (withoutGpus.length > 0) {
      throw new MlOpsValidationError(this, 'SpotGpuQueue', 'instanceTypes', withoutGpus,
        'These types have no GPU: a GPU queue with them would start instances that cannot run GPU jobs. Use GPU types ' +
        '(g4dn, g5, g6, g6e, p4d, p4de, p5, p5e) and a SpotCpuQueue for CPU work.');
    }
    validateOneArchitecture(this, 'SpotGpuQueue', specs);
    return specs;
  }

}
