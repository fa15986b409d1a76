import * as ec2 from 'aws-cdk-lib/aws-ec2';

/** What a compute environment's largest instance can give one job. */
export interface InstanceSpec {
  /** The instance type name, for example `g5.xlarge`. */
  readonly name: string;
  readonly vcpus: number;
  readonly memoryMiB: number;
  /** NVIDIA GPUs; 0 for CPU-only types. */
  readonly gpus: number;
  readonly architecture: ec2.InstanceArchitecture;
}

type Row = [size: string, vcpus: number, memoryGiB: number, gpus: number];

// Sizes of the GPU and CPU families this library knows, from the EC2 instance type documentation.
const FAMILIES: Record<string, { architecture: ec2.InstanceArchitecture; rows: Row[] }> = {
  g4dn: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['xlarge', 4, 16, 1], ['2xlarge', 8, 32, 1], ['4xlarge', 16, 64, 1], ['8xlarge', 32, 128, 1], ['12xlarge', 48, 192, 4], ['16xlarge', 64, 256, 1], ['metal', 96, 384, 8]] },
  g5: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['xlarge', 4, 16, 1], ['2xlarge', 8, 32, 1], ['4xlarge', 16, 64, 1], ['8xlarge', 32, 128, 1], ['12xlarge', 48, 192, 4], ['16xlarge', 64, 256, 1], ['24xlarge', 96, 384, 4], ['48xlarge', 192, 768, 8]] },
  g6: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['xlarge', 4, 16, 1], ['2xlarge', 8, 32, 1], ['4xlarge', 16, 64, 1], ['8xlarge', 32, 128, 1], ['12xlarge', 48, 192, 4], ['16xlarge', 64, 256, 1], ['24xlarge', 96, 384, 4], ['48xlarge', 192, 768, 8]] },
  g6e: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['xlarge', 4, 32, 1], ['2xlarge', 8, 64, 1], ['4xlarge', 16, 128, 1], ['8xlarge', 32, 256, 1], ['12xlarge', 48, 384, 4], ['16xlarge', 64, 512, 1], ['24xlarge', 96, 768, 4], ['48xlarge', 192, 1536, 8]] },
  g5g: { architecture: ec2.InstanceArchitecture.ARM_64, rows: [['xlarge', 4, 8, 1], ['2xlarge', 8, 16, 1], ['4xlarge', 16, 32, 1], ['8xlarge', 32, 64, 1], ['16xlarge', 64, 128, 2], ['metal', 64, 128, 2]] },
  g3: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['4xlarge', 16, 122, 1], ['8xlarge', 32, 244, 2], ['16xlarge', 64, 488, 4]] },
  p3: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['2xlarge', 8, 61, 1], ['8xlarge', 32, 244, 4], ['16xlarge', 64, 488, 8]] },
  p4d: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['24xlarge', 96, 1152, 8]] },
  p5: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['48xlarge', 192, 2048, 8]] },
  c6i: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['large', 2, 4, 0], ['xlarge', 4, 8, 0], ['2xlarge', 8, 16, 0], ['4xlarge', 16, 32, 0], ['8xlarge', 32, 64, 0]] },
  m6i: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['large', 2, 8, 0], ['xlarge', 4, 16, 0], ['2xlarge', 8, 32, 0], ['4xlarge', 16, 64, 0], ['8xlarge', 32, 128, 0]] },
  r6i: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['large', 2, 16, 0], ['xlarge', 4, 32, 0], ['2xlarge', 8, 64, 0], ['4xlarge', 16, 128, 0], ['8xlarge', 32, 256, 0]] },
  c7g: { architecture: ec2.InstanceArchitecture.ARM_64, rows: [['large', 2, 4, 0], ['xlarge', 4, 8, 0], ['2xlarge', 8, 16, 0], ['4xlarge', 16, 32, 0], ['8xlarge', 32, 64, 0]] },
  m7g: { architecture: ec2.InstanceArchitecture.ARM_64, rows: [['large', 2, 8, 0], ['xlarge', 4, 16, 0], ['2xlarge', 8, 32, 0], ['4xlarge', 16, 64, 0], ['8xlarge', 32, 128, 0]] },
  m5: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['large', 2, 8, 0], ['xlarge', 4, 16, 0], ['2xlarge', 8, 32, 0], ['4xlarge', 16, 64, 0]] },
  c5: { architecture: ec2.InstanceArchitecture.X86_64, rows: [['large', 2, 4, 0], ['xlarge', 4, 8, 0], ['2xlarge', 8, 16, 0], ['4xlarge', 16, 32, 0]] },
};

const CATALOG = new Map<string, InstanceSpec>();
for (const [family, { architecture, rows }] of Object.entries(FAMILIES)) {
  for (const [size, vcpus, memoryGiB, gpus] of rows) {
    const name = `${family}.${size}`;
    CATALOG.set(name, { name, vcpus, memoryMiB: memoryGiB * 1024, gpus, architecture });
  }
}

/**
 * GPU families the Batch NVIDIA AMIs do not serve: `ECS_AL2023_NVIDIA` covers the non-Graviton GPU types except p3 and
 * g3, and neither NVIDIA AMI covers Graviton GPU types such as g5g (AWS Batch API Reference, `Ec2Configuration`,
 * https://docs.aws.amazon.com/batch/latest/APIReference/API_Ec2Configuration.html). Known here only so that asking
 * for them fails with a clear message.
 */
export const UNSUPPORTED_GPU_FAMILIES: Readonly<Record<string, 'AL2023' | 'ALL'>> = { p3: 'AL2023', g3: 'AL2023', g5g: 'ALL' };

/** The spec of a known instance type, or undefined. */
export function instanceSpec(type: ec2.InstanceType | string): InstanceSpec | undefined {
  return CATALOG.get(type.toString());
}

/** The families whose sizes are known. */
export function knownFamilies(): string[] {
  return Object.keys(FAMILIES);
}

/**
 * The default GPU spot pool: single-GPU sizes (and the 4-GPU 12xlarge) of three generations of NVIDIA
 * instances, so that spot capacity is found in many pools (price-capacity-optimized picks among them).
 */
export const DEFAULT_GPU_INSTANCE_TYPES: readonly string[] = [
  'g4dn.xlarge', 'g4dn.2xlarge', 'g4dn.4xlarge', 'g4dn.12xlarge',
  'g5.xlarge', 'g5.2xlarge', 'g5.4xlarge', 'g5.12xlarge',
  'g6.xlarge', 'g6.2xlarge', 'g6.4xlarge', 'g6.12xlarge',
];

/** The default EC2 CPU spot pool, x86_64, compute / general / memory optimized. */
export const DEFAULT_CPU_INSTANCE_TYPES: readonly string[] = [
  'c6i.xlarge', 'c6i.2xlarge', 'c6i.4xlarge',
  'm6i.xlarge', 'm6i.2xlarge', 'm6i.4xlarge',
  'r6i.xlarge', 'r6i.2xlarge',
];
