import { App, Size, Stack, Token } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { BatchNetwork, ComputePlatform, CustomInstanceType, InstanceCatalog, MlJobDefinition, SpotCpuQueue, SpotGpuQueue } from '../../lib';
import { INSTANCE_TYPES } from '../fixtures/aws/ec2';

function setup() {
  const stack = new Stack(new App(), 'Test');
  return { stack, network: new BatchNetwork(stack, 'Network') };
}

const image = () => ecs.ContainerImage.fromRegistry('public.ecr.aws/example/trainer:1.0');

const X8Z = { instanceType: 'x8z.large', vcpus: 2, memory: Size.gibibytes(32) };

describe('the instance catalog', () => {
  test.each(Object.entries(INSTANCE_TYPES))('%s resolves to its documented vCPUs, memory and GPUs', (name, { value: [vcpus, gib, gpus] }) => {
    const spec = InstanceCatalog.spec(new ec2.InstanceType(name));
    expect(spec && [spec.vcpus, spec.memoryMiB / 1024, spec.gpus]).toEqual([vcpus, gib, gpus]);
  });

  test.each(['c7i', 'm7i', 'r7i', 'c7a', 'm7a', 'r7a', 'c6a', 'm6a', 'r6a', 'c6i', 'p4de', 'p5', 'p5e', 'g6e', 'g6', 'g5', 'g4dn'])(
    'the %s family is known, x86_64', (family) => {
      expect(InstanceCatalog.knownFamilies()).toContain(family);
      const sizes = ['medium', 'large', 'xlarge', '2xlarge', '4xlarge', '12xlarge', '24xlarge', '48xlarge']
        .map((size) => InstanceCatalog.spec(new ec2.InstanceType(`${family}.${size}`))).filter((s) => s !== undefined);
      expect(sizes.length).toBeGreaterThan(0);
      expect(new Set(sizes.map((s) => s!.architecture))).toEqual(new Set([ec2.InstanceArchitecture.X86_64]));
    });

  test('the larger c6i sizes, 12xlarge to 32xlarge and metal', () => {
    expect(['12xlarge', '16xlarge', '24xlarge', '32xlarge', 'metal'].map((s) => InstanceCatalog.spec(new ec2.InstanceType(`c6i.${s}`))?.vcpus)).toEqual([48, 64, 96, 128, 128]);
  });

  test('a CustomInstanceType is looked up by its own description', () => {
    expect(InstanceCatalog.spec(new CustomInstanceType({ ...X8Z, gpus: 0 }))).toEqual(
      { name: 'x8z.large', vcpus: 2, memoryMiB: 32768, gpus: 0, architecture: ec2.InstanceArchitecture.X86_64 });
    expect(InstanceCatalog.spec(new ec2.InstanceType('x8z.large'))).toBeUndefined();
  });

  test('the default pools are catalogued: GPU types with GPUs, CPU types without, all x86_64, fresh copies each call', () => {
    const specs = (types: ec2.InstanceType[]) => types.map((t) => InstanceCatalog.spec(t));
    const gpus = specs(InstanceCatalog.defaultGpuInstanceTypes());
    const cpus = specs(InstanceCatalog.defaultCpuInstanceTypes());
    expect(gpus.length).toBeGreaterThan(0);
    expect(cpus.length).toBeGreaterThan(0);
    expect(gpus.every((s) => s !== undefined && s.gpus > 0 && s.architecture === ec2.InstanceArchitecture.X86_64)).toBe(true);
    expect(cpus.every((s) => s !== undefined && s.gpus === 0 && s.architecture === ec2.InstanceArchitecture.X86_64)).toBe(true);
    expect(InstanceCatalog.defaultGpuInstanceTypes()).not.toBe(InstanceCatalog.defaultGpuInstanceTypes());
  });

  test('a queue without instanceTypes launches the default pool', () => {
    const { stack, network } = setup();
    new SpotGpuQueue(stack, 'Gpu', { network });
    const envs = Object.values(Template.fromStack(stack).findResources('AWS::Batch::ComputeEnvironment'));
    const names = InstanceCatalog.defaultGpuInstanceTypes().map((t) => t.toString());
    expect(envs.map((e: any) => e.Properties.ComputeResources.InstanceTypes)).toEqual(envs.map(() => names));
  });
});

describe('new families in the queues', () => {
  test('a CPU queue of c7i, c7a and larger c6i sizes lets a 190-vCPU job in', () => {
    const { stack, network } = setup();
    const queue = new SpotCpuQueue(stack, 'Cpu', {
      network,
      platform: ComputePlatform.EC2,
      maxvCpus: 512,
      onDemandMaxvCpus: 192,
      instanceTypes: ['c7i.48xlarge', 'c7a.48xlarge', 'c6i.32xlarge'].map((t) => new ec2.InstanceType(t)),
    });
    expect([queue.capacity.maxJobVcpus, queue.capacity.maxJobMemoryMiB]).toEqual([192, 384 * 1024]);
    MlJobDefinition.evaluation(stack, 'Evaluate', { queue, image: image(), vcpus: 190, memory: Size.gibibytes(300) });
  });

  test('a GPU queue of p4de, p5 and p5e runs an 8-GPU job', () => {
    const { stack, network } = setup();
    const queue = new SpotGpuQueue(stack, 'Gpu', { network, onDemandMaxvCpus: 192, instanceTypes: ['p4de.24xlarge', 'p5.48xlarge', 'p5e.48xlarge'].map((t) => new ec2.InstanceType(t)) });
    expect(queue.capacity.maxJobGpus).toBe(8);
    MlJobDefinition.training(stack, 'Train', { queue, image: image(), gpus: 8, vcpus: 96, memory: Size.gibibytes(1000) });
  });
});

describe('CustomInstanceType', () => {
  test('is accepted by an EC2 CPU queue, which launches it and checks jobs against it', () => {
    const { stack, network } = setup();
    const queue = new SpotCpuQueue(stack, 'Cpu', { network, platform: ComputePlatform.EC2, instanceTypes: [new CustomInstanceType(X8Z)] });
    const envs = Object.values(Template.fromStack(stack).findResources('AWS::Batch::ComputeEnvironment'));
    expect(envs.map((e: any) => e.Properties.ComputeResources.InstanceTypes)).toEqual([['x8z.large'], ['x8z.large']]);
    expect([queue.capacity.maxJobVcpus, queue.capacity.maxJobMemoryMiB]).toEqual([2, 32768]);
    // 95% of 32 GiB is 31129 MiB.
    MlJobDefinition.evaluation(stack, 'Fits', { queue, image: image(), vcpus: 2, memory: Size.mebibytes(31129) });
    expect(() => MlJobDefinition.evaluation(stack, 'TooBig', { queue, image: image(), vcpus: 2, memory: Size.mebibytes(31130) }))
      .toThrow(/invalid memory '31130 MiB'.*ask for at most 31129 MiB \(95%\)/);
    expect(() => MlJobDefinition.evaluation(stack, 'TooManyCpus', { queue, image: image(), vcpus: 4, memory: Size.gibibytes(2) }))
      .toThrow(/invalid vcpus 4. The largest instance of .* has 2 vCPUs/);
  });

  test('a custom GPU type is accepted by a GPU queue, next to catalogued ones, and its GPUs are checked', () => {
    const { stack, network } = setup();
    const custom = new CustomInstanceType({ instanceType: 'g7x.2xlarge', vcpus: 8, memory: Size.gibibytes(64), gpus: 2 });
    const queue = new SpotGpuQueue(stack, 'Gpu', { network, instanceTypes: [new ec2.InstanceType('g5.xlarge'), custom] });
    expect(queue.capacity.maxJobGpus).toBe(2);
    MlJobDefinition.training(stack, 'Train', { queue, image: image(), gpus: 2, vcpus: 8, memory: Size.gibibytes(60) });
    expect(() => MlJobDefinition.training(stack, 'Three', { queue, image: image(), gpus: 3, vcpus: 8, memory: Size.gibibytes(8) }))
      .toThrow(/invalid gpus 3. The largest instance of .* has 2 GPUs/);
  });

  test('a custom arm64 type sets the queue architecture', () => {
    const { stack, network } = setup();
    const queue = new SpotCpuQueue(stack, 'Cpu', {
      network,
      platform: ComputePlatform.EC2,
      instanceTypes: [new CustomInstanceType({ ...X8Z, instanceType: 'c9g.large', architecture: ec2.InstanceArchitecture.ARM_64 })],
    });
    expect(queue.capacity.architecture).toBe(ec2.InstanceArchitecture.ARM_64);
  });
});

describe('the catalog fails at synth when', () => {
  const cpu = (instanceTypes: ec2.InstanceType[]) => () => {
    const { stack, network } = setup();
    new SpotCpuQueue(stack, 'Cpu', { network, platform: ComputePlatform.EC2, instanceTypes });
  };
  const gpu = (instanceTypes: ec2.InstanceType[], imageType?: batch.EcsMachineImageType) => () => {
    const { stack, network } = setup();
    new SpotGpuQueue(stack, 'Gpu', { network, instanceTypes, imageType });
  };

  test('a type is unknown: the message names the custom option', () => {
    expect(cpu([new ec2.InstanceType('x8z.large')])).toThrow(
      /SpotCpuQueue 'Test\/Cpu': invalid instanceTypes 'x8z.large'. Its size is unknown to cdk-mlops.*c7i.*or describe it with new CustomInstanceType\(\{ instanceType, vcpus, memory, gpus, architecture \}\)/);
  });

  test.each([
    ['fractional vCPUs', { vcpus: 2.5 }, /invalid instanceTypes \(CustomInstanceType x8z.large\) vcpus 2.5. It must be a whole number of at least 1/],
    ['no vCPUs', { vcpus: 0 }, /vcpus 0. It must be a whole number of at least 1/],
    ['a vCPU token', { vcpus: Token.asNumber({ Ref: 'Cpus' }) }, /vcpus .*known at synth/],
    ['negative GPUs', { gpus: -1 }, /gpus -1. It must be a whole number of at least 0/],
    ['less than 1 GiB', { memory: Size.mebibytes(512) }, /memory '512 MiB'. It must be at least 1 GiB/],
    ['a memory token', { memory: Size.mebibytes(Token.asNumber({ Ref: 'Memory' })) }, /memory .*known at synth/],
    ['a family without a size', { instanceType: 'x8z' }, /instanceType 'x8z'. Give one instance type as family.size/],
  ])('a custom description has %s', (_, change, message) => {
    expect(cpu([new CustomInstanceType({ ...X8Z, ...change })])).toThrow(message);
  });

  test('a custom description contradicts the catalog', () => {
    expect(cpu([new CustomInstanceType({ instanceType: 'c7i.large', vcpus: 2, memory: Size.gibibytes(8) })])).toThrow(
      /invalid instanceTypes \(CustomInstanceType c7i.large\) instanceType 'c7i.large'. The catalog knows it as 2 vCPUs, 4096 MiB, 0 GPUs, x86_64/);
  });

  test('a custom description that matches the catalog is fine', () => {
    expect(cpu([new CustomInstanceType({ instanceType: 'c7i.large', vcpus: 2, memory: Size.gibibytes(4) })])).not.toThrow();
  });

  test('a custom GPU type is put in a CPU queue', () => {
    expect(cpu([new CustomInstanceType({ ...X8Z, gpus: 1 })])).toThrow(/invalid instanceTypes \['x8z.large'\]. GPU instances cost several times/);
  });

  test('a custom type without GPUs is put in a GPU queue', () => {
    expect(gpu([new CustomInstanceType(X8Z)])).toThrow(/invalid instanceTypes \['x8z.large'\]. These types have no GPU/);
  });

  test('a custom Graviton GPU type is put in a GPU queue, with either NVIDIA AMI', () => {
    const graviton = new CustomInstanceType({ ...X8Z, instanceType: 'g9g.xlarge', gpus: 1, architecture: ec2.InstanceArchitecture.ARM_64 });
    for (const imageType of [batch.EcsMachineImageType.ECS_AL2023_NVIDIA, batch.EcsMachineImageType.ECS_AL2_NVIDIA]) {
      expect(gpu([graviton], imageType)).toThrow(/invalid instanceTypes \['g9g.xlarge'\]. The Batch NVIDIA AMI .* does not serve these types/);
    }
  });

  test('p3 and g3 with ECS_AL2023_NVIDIA, and new CPU families in a GPU queue, are still refused', () => {
    expect(gpu([new ec2.InstanceType('p3.2xlarge')])).toThrow(/invalid instanceTypes \['p3.2xlarge'\]. The Batch NVIDIA AMI \(ECS_AL2023_NVIDIA\)/);
    expect(gpu([new ec2.InstanceType('g3.4xlarge')])).toThrow(/invalid instanceTypes \['g3.4xlarge'\]/);
    expect(gpu([new ec2.InstanceType('c7i.xlarge')])).toThrow(/invalid instanceTypes \['c7i.xlarge'\]. These types have no GPU/);
  });

  test('new families mix architectures', () => {
    expect(cpu([new ec2.InstanceType('c7a.large'), new ec2.InstanceType('c7g.large')])).toThrow(/must share an architecture/);
  });
});
