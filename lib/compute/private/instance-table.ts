import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type { InstanceSpec } from '../instance-catalog';

type Row = [size: string, vcpus: number, memoryGiB: number, gpus: number];

// vCPUs of the standard sizes: the CPU families below scale memory with them at a fixed GiB per vCPU.
const SIZE_VCPUS: Record<string, number> = {
  'medium': 1,
  'large': 2,
  'xlarge': 4,
  '2xlarge': 8,
  '4xlarge': 16,
  '8xlarge': 32,
  '12xlarge': 48,
  '16xlarge': 64,
  '24xlarge': 96,
  '32xlarge': 128,
  '48xlarge': 192,
  'metal-24xl': 96,
  'metal-48xl': 192,
};

/** CPU sizes at a fixed memory ratio (2 GiB per vCPU for c, 4 for m, 8 for r); `metal` is given with its vCPUs. */
function cpuRows(gibPerVcpu: number, sizes: string[], metalVcpus?: number): Row[] {
  const rows: Row[] = sizes.map((size) => [size, SIZE_VCPUS[size], SIZE_VCPUS[size] * gibPerVcpu, 0]);
  return metalVcpus === undefined ? rows : [...rows, ['metal', metalVcpus, metalVcpus * gibPerVcpu, 0]];
}

const SIXTH_INTEL = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '32xlarge'];
const SIXTH_AMD = [...SIXTH_INTEL, '48xlarge'];
const SEVENTH_INTEL = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge', '12xlarge', '16xlarge', '24xlarge', '48xlarge', 'metal-24xl', 'metal-48xl'];
const SEVENTH_AMD = ['medium', ...SIXTH_AMD, 'metal-48xl'];
const UP_TO_8X = ['large', 'xlarge', '2xlarge', '4xlarge', '8xlarge'];

const X86 = ec2.InstanceArchitecture.X86_64;
const ARM = ec2.InstanceArchitecture.ARM_64;

/**
 * Sizes of the GPU and CPU families this library knows: vCPUs, memory (GiB) and NVIDIA GPUs per instance type, from
 * the Amazon EC2 Instance Types guide, "Specifications for Amazon EC2 accelerated computing instances"
 * (https://docs.aws.amazon.com/ec2/latest/instancetypes/ac.html), "... general purpose instances" (gp.html),
 * "... compute optimized instances" (co.html) and "... memory optimized instances" (mo.html), and the GPU table of the
 * AWS Batch User Guide, "Run GPU jobs" (https://docs.aws.amazon.com/batch/latest/userguide/gpu-jobs.html).
 * A type missing here can be described with {@link CustomInstanceType}.
 */
const FAMILIES: Record<string, { architecture: ec2.InstanceArchitecture; rows: Row[] }> = {
  g4dn: { architecture: X86, rows: [['xlarge', 4, 16, 1], ['2xlarge', 8, 32, 1], ['4xlarge', 16, 64, 1], ['8xlarge', 32, 128, 1], ['12xlarge', 48, 192, 4], ['16xlarge', 64, 256, 1], ['metal', 96, 384, 8]] },
  g5: { architecture: X86, rows: [['xlarge', 4, 16, 1], ['2xlarge', 8, 32, 1], ['4xlarge', 16, 64, 1], ['8xlarge', 32, 128, 1], ['12xlarge', 48, 192, 4], ['16xlarge', 64, 256, 1], ['24xlarge', 96, 384, 4], ['48xlarge', 192, 768, 8]] },
  g6: { architecture: X86, rows: [['xlarge', 4, 16, 1], ['2xlarge', 8, 32, 1], ['4xlarge', 16, 64, 1], ['8xlarge', 32, 128, 1], ['12xlarge', 48, 192, 4], ['16xlarge', 64, 256, 1], ['24xlarge', 96, 384, 4], ['48xlarge', 192, 768, 8]] },
  g6e: { architecture: X86, rows: [['xlarge', 4, 32, 1], ['2xlarge', 8, 64, 1], ['4xlarge', 16, 128, 1], ['8xlarge', 32, 256, 1], ['12xlarge', 48, 384, 4], ['16xlarge', 64, 512, 1], ['24xlarge', 96, 768, 4], ['48xlarge', 192, 1536, 8]] },
  g5g: { architecture: ARM, rows: [['xlarge', 4, 8, 1], ['2xlarge', 8, 16, 1], ['4xlarge', 16, 32, 1], ['8xlarge', 32, 64, 1], ['16xlarge', 64, 128, 2], ['metal', 64, 128, 2]] },
  g3: { architecture: X86, rows: [['4xlarge', 16, 122, 1], ['8xlarge', 32, 244, 2], ['16xlarge', 64, 488, 4]] },
  p3: { architecture: X86, rows: [['2xlarge', 8, 61, 1], ['8xlarge', 32, 244, 4], ['16xlarge', 64, 488, 8]] },
  p4d: { architecture: X86, rows: [['24xlarge', 96, 1152, 8]] },
  p4de: { architecture: X86, rows: [['24xlarge', 96, 1152, 8]] },
  p5: { architecture: X86, rows: [['4xlarge', 16, 256, 1], ['48xlarge', 192, 2048, 8]] },
  p5e: { architecture: X86, rows: [['48xlarge', 192, 2048, 8]] },
  p5en: { architecture: X86, rows: [['48xlarge', 192, 2048, 8]] },
  c6i: { architecture: X86, rows: cpuRows(2, SIXTH_INTEL, 128) },
  m6i: { architecture: X86, rows: cpuRows(4, SIXTH_INTEL, 128) },
  r6i: { architecture: X86, rows: cpuRows(8, SIXTH_INTEL, 128) },
  c6a: { architecture: X86, rows: cpuRows(2, SIXTH_AMD, 192) },
  m6a: { architecture: X86, rows: cpuRows(4, SIXTH_AMD, 192) },
  r6a: { architecture: X86, rows: cpuRows(8, SIXTH_AMD, 192) },
  c7i: { architecture: X86, rows: cpuRows(2, SEVENTH_INTEL) },
  m7i: { architecture: X86, rows: cpuRows(4, SEVENTH_INTEL) },
  r7i: { architecture: X86, rows: cpuRows(8, SEVENTH_INTEL) },
  c7a: { architecture: X86, rows: cpuRows(2, SEVENTH_AMD) },
  m7a: { architecture: X86, rows: cpuRows(4, SEVENTH_AMD) },
  r7a: { architecture: X86, rows: cpuRows(8, SEVENTH_AMD) },
  c7g: { architecture: ARM, rows: cpuRows(2, UP_TO_8X) },
  m7g: { architecture: ARM, rows: cpuRows(4, UP_TO_8X) },
  m5: { architecture: X86, rows: cpuRows(4, ['large', 'xlarge', '2xlarge', '4xlarge']) },
  c5: { architecture: X86, rows: cpuRows(2, ['large', 'xlarge', '2xlarge', '4xlarge']) },
};

const CATALOG = new Map<string, InstanceSpec>();
for (const [family, { architecture, rows }] of Object.entries(FAMILIES)) {
  for (const [size, vcpus, memoryGiB, gpus] of rows) {
    const name = `${family}.${size}`;
    CATALOG.set(name, { name, vcpus, memoryMiB: memoryGiB * 1024, gpus, architecture });
  }
}

/** The catalogued spec of an instance type name, or undefined. */
export function catalogSpec(name: string): InstanceSpec | undefined {
  return CATALOG.get(name);
}

/** The families whose sizes are known. */
export function knownFamilies(): string[] {
  return Object.keys(FAMILIES);
}

/**
 * GPU families the Batch NVIDIA AMIs do not serve: `ECS_AL2023_NVIDIA` covers the non-Graviton GPU types except p3 and
 * g3, and neither NVIDIA AMI covers Graviton GPU types such as g5g (AWS Batch API Reference, `Ec2Configuration`,
 * https://docs.aws.amazon.com/batch/latest/APIReference/API_Ec2Configuration.html). Known here only so that asking
 * for them fails with a clear message.
 */
export const UNSUPPORTED_GPU_FAMILIES: Readonly<Record<string, 'AL2023' | 'ALL'>> = { p3: 'AL2023', g3: 'AL2023', g5g: 'ALL' };

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
