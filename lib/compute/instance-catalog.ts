import { Size, SizeRoundingBehavior } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { catalogSpec, DEFAULT_CPU_INSTANCE_TYPES, DEFAULT_GPU_INSTANCE_TYPES, knownFamilies } from './private/instance-table';

/** What a compute environment's largest instance can give one job. */
export interface InstanceSpec {
  /** The instance type name, for example `g5.xlarge`. */
  readonly name: string;
  /** The instance's vCPUs. */
  readonly vcpus: number;
  /** The instance's installed memory, in MiB. */
  readonly memoryMiB: number;
  /** NVIDIA GPUs; 0 for CPU-only types. */
  readonly gpus: number;
  /** The processor architecture. */
  readonly architecture: ec2.InstanceArchitecture;
}

/** Describes an instance type the catalog lacks: what one instance gives the jobs on it. */
export interface CustomInstanceTypeProps {
  /** The EC2 instance type name, family and size, for example `x8z.large`. */
  readonly instanceType: string;
  /** The instance's vCPUs. */
  readonly vcpus: number;
  /** The instance's installed memory (the fit check allows a job 95% of it). */
  readonly memory: Size;
  /**
   * The instance's NVIDIA GPUs.
   * @default 0
   */
  readonly gpus?: number;
  /**
   * The processor architecture.
   * @default ec2.InstanceArchitecture.X86_64
   */
  readonly architecture?: ec2.InstanceArchitecture;
}

/**
 * An instance type the catalog does not know, described by its user, so that queues accept it and job definitions are
 * still checked against it at synth. Pass it wherever an `ec2.InstanceType` is taken (`instanceTypes` of
 * `SpotGpuQueue` and `SpotCpuQueue`).
 *
 * @example
 * const big = new CustomInstanceType({ instanceType: 'x8z.large', vcpus: 2, memory: Size.gibibytes(32) });
 * new SpotCpuQueue(this, 'Cpus', { network, platform: ComputePlatform.EC2, instanceTypes: [big] });
 */
export class CustomInstanceType extends ec2.InstanceType {
  /** The description given, as the fit check reads it. */
  public readonly spec: InstanceSpec;

  constructor(props: CustomInstanceTypeProps) {
    super(props.instanceType);
    // Checked by the queue that takes it, which can name itself in the message (private/queue-validation.ts).
    this.spec = {
      name: props.instanceType,
      vcpus: props.vcpus,
      memoryMiB: mebibytes(props.memory),
      gpus: props.gpus ?? 0,
      architecture: props.architecture ?? ec2.InstanceArchitecture.X86_64,
    };
  }
}

/** Whole MiB, or NaN for a size whose conversion needs its (unresolved) amount. */
function mebibytes(size: Size): number {
  try {
    return size.toMebibytes({ rounding: SizeRoundingBehavior.FLOOR });
  } catch {
    return NaN;
  }
}


/**
 * The instance types cdk-mlops knows the size of (the GPU and CPU families of the EC2 Instance Types guide), against
 * which queues check their job definitions at synth, and the default spot pools of the queues.
 *
 * @example
 * // The default GPU pool and one more type.
 * const gpuTypes = InstanceCatalog.defaultGpuInstanceTypes();
 * gpuTypes.push(new ec2.InstanceType('g6e.xlarge'));
 * new SpotGpuQueue(this, 'Gpus', { network, instanceTypes: gpuTypes });
 * // What one g5.12xlarge gives a job: 48 vCPUs, 192 GiB, 4 GPUs.
 * const spec = InstanceCatalog.spec(new ec2.InstanceType('g5.12xlarge'));
 */
export class InstanceCatalog {
  /**
   * What one instance of a type gives its jobs: the catalog's figures, or a {@link CustomInstanceType}'s own
   * description; undefined for a type the catalog lacks.
   */
  public static spec(instanceType: ec2.InstanceType): InstanceSpec | undefined {
    if (instanceType instanceof CustomInstanceType) return instanceType.spec;
    return catalogSpec(instanceType.toString());
  }

  /** The families whose sizes are known, for example `g5` and `c7i`. */
  public static knownFamilies(): string[] {
    return knownFamilies();
  }

  /**
   * The default pool of `SpotGpuQueue`: single-GPU sizes (and the 4-GPU 12xlarge) of three generations of NVIDIA
   * instances (g4dn, g5, g6), so that spot capacity is found in many pools.
   */
  public static defaultGpuInstanceTypes(): ec2.InstanceType[] {
    return DEFAULT_GPU_INSTANCE_TYPES.map((t) => new ec2.InstanceType(t));
  }

  /** The default pool of an EC2 `SpotCpuQueue`: x86_64 compute, general and memory optimized sizes (c6i, m6i, r6i). */
  public static defaultCpuInstanceTypes(): ec2.InstanceType[] {
    return DEFAULT_CPU_INSTANCE_TYPES.map((t) => new ec2.InstanceType(t));
  }

  private constructor() {}
}
