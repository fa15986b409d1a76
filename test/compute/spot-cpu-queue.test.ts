import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import { BatchEgress, BatchNetwork, ComputePlatform, SpotCpuQueue } from '../../lib';
import { stackFindings } from '../support/compliance';

function setup() {
  const stack = new Stack(new App(), 'Test');
  const network = new BatchNetwork(stack, 'Network');
  return { stack, network };
}

describe('SpotCpuQueue on Fargate (default)', () => {
  const { stack, network } = setup();
  const queue = new SpotCpuQueue(stack, 'Cpu', { network });
  const template = Template.fromStack(stack);

  test('Fargate Spot first, Fargate on-demand second, no launch template', () => {
    const envs = template.findResources('AWS::Batch::ComputeEnvironment');
    const spot = Object.entries(envs).find(([k]) => k.startsWith('CpuSpot'))![1] as any;
    const onDemand = Object.entries(envs).find(([k]) => k.startsWith('CpuOnDemand'))![1] as any;
    expect(spot.Properties.ComputeResources).toMatchObject({ Type: 'FARGATE_SPOT', MaxvCpus: 256 });
    expect(onDemand.Properties.ComputeResources).toMatchObject({ Type: 'FARGATE', MaxvCpus: 64 });
    template.resourceCountIs('AWS::EC2::LaunchTemplate', 0);
    template.resourceCountIs('AWS::Batch::JobQueue', 2);
    template.hasResourceProperties('AWS::Batch::JobQueue', {
      ComputeEnvironmentOrder: [Match.objectLike({ Order: 1 }), Match.objectLike({ Order: 2 })],
      JobStateTimeLimitActions: Match.arrayWith([Match.objectLike({ Reason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY', MaxTimeSeconds: 1800 })]),
    });
  });

  test('its capacity is Fargate\'s: 16 vCPUs, 120 GiB, no GPU', () => {
    expect(queue.capacity).toEqual({
      platform: ComputePlatform.FARGATE,
      architecture: ec2.InstanceArchitecture.X86_64,
      maxJobVcpus: 16,
      maxJobMemoryMiB: 120 * 1024,
      maxJobGpus: 0,
      maxvCpus: 256,
      // The default network's compute has public IPs and no NAT: Fargate jobs must ask for one.
      assignPublicIp: true,
    });
  });

  test('behind a NAT gateway, its Fargate jobs need no public IP', () => {
    const natStack = new Stack(new App(), 'Test');
    const natted = new BatchNetwork(natStack, 'Network', { egress: BatchEgress.NAT_GATEWAY });
    expect(new SpotCpuQueue(natStack, 'Queue', { network: natted }).capacity.assignPublicIp).toBe(false);
  });

  test('a RUNNABLE watchdog with an alarm action', () => {
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmActions: [{ Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') }] });
    expect(queue.metricJobsCancelledInRunnable().namespace).toBe('AWS/Events');
  });

  test('grantSubmitJob covers both queues', () => {
    const s = setup();
    const q = new SpotCpuQueue(s.stack, 'Cpu', { network: s.network, onDemandFallback: false });
    q.grantSubmitJob(new iam.Role(s.stack, 'Caller', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') }));
    Template.fromStack(s.stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: [{ Action: 'batch:SubmitJob', Effect: 'Allow', Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^CpuJobQueue'), 'JobQueueArn'] } }] },
    });
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(stackFindings((s) => {
      const n = new BatchNetwork(s, 'Network');
      new SpotCpuQueue(s, 'Cpu', { network: n });
      new SpotCpuQueue(s, 'Ec2', { network: n, platform: ComputePlatform.EC2 });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('SpotCpuQueue on EC2 spot', () => {
  test('price-capacity-optimized on explicit CPU types, the plain AL2023 ECS AMI, the same launch template hygiene', () => {
    const { stack, network } = setup();
    const queue = new SpotCpuQueue(stack, 'Cpu', { network, platform: ComputePlatform.EC2, rootVolumeSize: Size.gibibytes(80) });
    const template = Template.fromStack(stack);
    template.hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      ComputeResources: Match.objectLike({
        Type: 'SPOT',
        AllocationStrategy: 'SPOT_PRICE_CAPACITY_OPTIMIZED',
        MinvCpus: 0,
        InstanceTypes: ['c6i.xlarge', 'c6i.2xlarge', 'c6i.4xlarge', 'm6i.xlarge', 'm6i.2xlarge', 'm6i.4xlarge', 'r6i.xlarge', 'r6i.2xlarge'],
        Ec2Configuration: [{ ImageType: 'ECS_AL2023' }],
      }),
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: Match.objectLike({ HttpTokens: 'required', HttpPutResponseHopLimit: 1 }),
        BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ VolumeSize: 80, Encrypted: true, VolumeType: 'gp3' }) })],
      }),
    });
    expect(JSON.stringify(template.toJSON())).not.toContain('optimal');
    expect(queue.capacity).toMatchObject({ platform: ComputePlatform.EC2, maxJobVcpus: 16, maxJobMemoryMiB: 64 * 1024, maxJobGpus: 0 });
  });

  test('arm64 types make an arm64 queue', () => {
    const { stack, network } = setup();
    const queue = new SpotCpuQueue(stack, 'Cpu', {
      network,
      platform: ComputePlatform.EC2,
      instanceTypes: [new ec2.InstanceType('c7g.xlarge'), new ec2.InstanceType('m7g.2xlarge')],
      capacityTimeout: Duration.hours(1),
    });
    expect(queue.capacity.architecture).toBe(ec2.InstanceArchitecture.ARM_64);
  });
});

describe('SpotCpuQueue fails when', () => {
  const cpu = (props: Partial<ConstructorParameters<typeof SpotCpuQueue>[2]>) => {
    const { stack, network } = setup();
    return () => new SpotCpuQueue(stack, 'Cpu', { network, ...props });
  };

  test('instance types are given for Fargate', () => {
    expect(cpu({ instanceTypes: [new ec2.InstanceType('c6i.xlarge')] })).toThrow(
      /SpotCpuQueue 'Test\/Cpu': invalid instanceTypes 'set'. Fargate chooses its own hosts/,
    );
  });

  test('a GPU type is put in a CPU queue', () => {
    expect(cpu({ platform: ComputePlatform.EC2, instanceTypes: [new ec2.InstanceType('g5.xlarge')] })).toThrow(
      /invalid instanceTypes \['g5.xlarge'\]. GPU instances cost several times/,
    );
  });

  test('architectures are mixed', () => {
    expect(cpu({ platform: ComputePlatform.EC2, instanceTypes: [new ec2.InstanceType('c6i.xlarge'), new ec2.InstanceType('c7g.xlarge')] }))
      .toThrow(/One compute environment runs one AMI/);
  });

  test('an instance type is unknown', () => {
    expect(cpu({ platform: ComputePlatform.EC2, instanceTypes: [new ec2.InstanceType('x9.tiny')] })).toThrow(/Its size is unknown/);
  });

  test('maxvCpus is 0 on Fargate', () => {
    expect(cpu({ maxvCpus: 0 })).toThrow(/invalid maxvCpus 0. It must be a whole number of at least 1/);
  });

  test('maxvCpus is below the smallest EC2 instance', () => {
    expect(cpu({ platform: ComputePlatform.EC2, maxvCpus: 2 })).toThrow(/invalid maxvCpus 2. It must be a whole number of at least 4/);
  });

  test('capacityTimeout is shorter than Batch accepts', () => {
    expect(cpu({ capacityTimeout: Duration.minutes(1) })).toThrow(/invalid capacityTimeout '1 minute'/);
  });
});
