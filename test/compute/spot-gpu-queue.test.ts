import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import { matchesPattern } from './event-pattern';
import { BatchNetwork, ComputePlatform, MlJobDefinition, SpotGpuQueue } from '../../lib';
import { CANCELLABLE_REASONS as CONTRACT_CANCELLABLE } from '../../lib/private/contract/batch-status-reasons';
import { CANCELLABLE_REASONS, jobQueueBlockedEvent, jobStateChangeEvent, STATUS_REASONS } from '../fixtures/aws/batch';
import { GP3_MAX_GIB } from '../fixtures/aws/ebs';
import { stackFindings } from '../support/compliance';

function setup() {
  const stack = new Stack(new App(), 'Test');
  const network = new BatchNetwork(stack, 'Network');
  return { stack, network };
}

function computeEnvironments(template: Template): Record<string, any> {
  return template.findResources('AWS::Batch::ComputeEnvironment');
}

describe('SpotGpuQueue defaults', () => {
  const { stack, network } = setup();
  const queue = new SpotGpuQueue(stack, 'Gpu', { network });
  const template = Template.fromStack(stack);
  const envs = computeEnvironments(template);
  const spotId = Object.keys(envs).find((k) => k.startsWith('GpuSpot'))!;
  const onDemandId = Object.keys(envs).find((k) => k.startsWith('GpuOnDemand'))!;

  test('spot with price-capacity-optimized, the explicit GPU types and never optimal, scaling to zero', () => {
    const resources = envs[spotId].Properties.ComputeResources;
    expect(resources).toMatchObject({
      Type: 'SPOT',
      AllocationStrategy: 'SPOT_PRICE_CAPACITY_OPTIMIZED',
      MinvCpus: 0,
      MaxvCpus: 256,
      Ec2Configuration: [{ ImageType: 'ECS_AL2023_NVIDIA' }],
    });
    expect(resources.InstanceTypes).toEqual([
      'g4dn.xlarge', 'g4dn.2xlarge', 'g4dn.4xlarge', 'g4dn.12xlarge',
      'g5.xlarge', 'g5.2xlarge', 'g5.4xlarge', 'g5.12xlarge',
      'g6.xlarge', 'g6.2xlarge', 'g6.4xlarge', 'g6.12xlarge',
    ]);
    expect(JSON.stringify(envs)).not.toContain('optimal');
    expect(envs[spotId].Properties.Type).toBe('managed');
  });

  test('an on-demand fallback on the same types and AMI with its own max, second in the queue', () => {
    expect(envs[onDemandId].Properties.ComputeResources).toMatchObject({
      Type: 'EC2',
      AllocationStrategy: 'BEST_FIT_PROGRESSIVE',
      MinvCpus: 0,
      MaxvCpus: 64,
      Ec2Configuration: [{ ImageType: 'ECS_AL2023_NVIDIA' }],
    });
    template.hasResourceProperties('AWS::Batch::JobQueue', {
      ComputeEnvironmentOrder: [
        { ComputeEnvironment: { 'Fn::GetAtt': [spotId, 'ComputeEnvironmentArn'] }, Order: 1 },
        { ComputeEnvironment: { 'Fn::GetAtt': [onDemandId, 'ComputeEnvironmentArn'] }, Order: 2 },
      ],
    });
    template.hasResourceProperties('AWS::Batch::JobQueue', {
      ComputeEnvironmentOrder: [{ ComputeEnvironment: { 'Fn::GetAtt': [onDemandId, 'ComputeEnvironmentArn'] }, Order: 1 }],
    });
    expect(queue.onDemandJobQueue).toBeDefined();
  });

  test('jobs stuck in RUNNABLE are cancelled: misconfiguration after 10 minutes, no capacity after 30', () => {
    const queues = template.findResources('AWS::Batch::JobQueue');
    for (const q of Object.values(queues)) {
      expect((q as any).Properties.JobStateTimeLimitActions).toEqual([
        { Action: 'CANCEL', MaxTimeSeconds: 600, Reason: 'MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE', State: 'RUNNABLE' },
        { Action: 'CANCEL', MaxTimeSeconds: 600, Reason: 'MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT', State: 'RUNNABLE' },
        { Action: 'CANCEL', MaxTimeSeconds: 1800, Reason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY', State: 'RUNNABLE' },
      ]);
    }
  });

  test('the launch template requires IMDSv2 with hop limit 1 and an encrypted 200 GiB gp3 root volume', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        MetadataOptions: { HttpTokens: 'required', HttpPutResponseHopLimit: 1, HttpEndpoint: 'enabled' },
        BlockDeviceMappings: [
          { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 200, VolumeType: 'gp3', Encrypted: true, DeleteOnTermination: true } },
        ],
      }),
    });
    expect(envs[spotId].Properties.ComputeResources.LaunchTemplate).toBeDefined();
    expect(envs[onDemandId].Properties.ComputeResources.LaunchTemplate).toEqual(envs[spotId].Properties.ComputeResources.LaunchTemplate);
  });

  test('instances run in the network\'s compute subnets with its security group', () => {
    const resources = envs[spotId].Properties.ComputeResources;
    expect(resources.Subnets).toEqual(expect.arrayContaining([{ Ref: expect.stringMatching(/^NetworkVpcCompute/) }]));
    expect(resources.SecurityGroupIds).toHaveLength(1);
  });

  test('a watchdog rule notifies the encrypted alerts topic, and an alarm with an action watches it', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ source: ['aws.batch'] }),
      Targets: [Match.objectLike({ Arn: { Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') } })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: 'AWS/Events',
      MetricName: 'TriggeredRules',
      Threshold: 1,
      AlarmActions: [{ Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') }],
    });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    expect(queue.metricJobsCancelledInRunnable().metricName).toBe('TriggeredRules');
    expect(queue.runnableAlarm).toBeDefined();
  });

  test('its capacity is what its largest instance types give one job', () => {
    expect(queue.capacity.instances?.map((i) => i.name)).toEqual([
      'g4dn.xlarge', 'g4dn.2xlarge', 'g4dn.4xlarge', 'g4dn.12xlarge',
      'g5.xlarge', 'g5.2xlarge', 'g5.4xlarge', 'g5.12xlarge',
      'g6.xlarge', 'g6.2xlarge', 'g6.4xlarge', 'g6.12xlarge',
    ]);
    expect(queue.capacity).toMatchObject({
      platform: ComputePlatform.EC2,
      architecture: ec2.InstanceArchitecture.X86_64,
      maxJobVcpus: 48,
      maxJobMemoryMiB: 192 * 1024,
      maxJobGpus: 4,
      maxvCpus: 256,
    });
  });

  test('grantSubmitJob covers the queue and the on-demand queue', () => {
    const s = setup();
    const q = new SpotGpuQueue(s.stack, 'Gpu', { network: s.network });
    q.grantSubmitJob(new iam.Role(s.stack, 'Caller', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') }));
    Template.fromStack(s.stack).hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [{ Action: 'batch:SubmitJob', Effect: 'Allow', Resource: [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^GpuJobQueue'), 'JobQueueArn'] }, { 'Fn::GetAtt': [Match.stringLikeRegexp('^GpuOnDemandJobQueue'), 'JobQueueArn'] }] }],
      },
    });
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(stackFindings((s) => {
      new SpotGpuQueue(s, 'Gpu', { network: new BatchNetwork(s, 'Network') });
    }, { controlTower: true })).toEqual([]);
  });
});

describe('SpotGpuQueue options', () => {
  test('p-types on request, no fallback, a larger root volume, a capacity timeout and a name', () => {
    const { stack, network } = setup();
    const queue = new SpotGpuQueue(stack, 'Gpu', {
      network,
      instanceTypes: [new ec2.InstanceType('p4d.24xlarge'), new ec2.InstanceType('p5.48xlarge')],
      onDemandFallback: false,
      maxvCpus: 384,
      rootVolumeSize: Size.gibibytes(500),
      capacityTimeout: Duration.hours(2),
      jobQueueName: 'llm-training',
    });
    const template = Template.fromStack(stack);
    expect(Object.keys(computeEnvironments(template))).toHaveLength(1);
    template.resourceCountIs('AWS::Batch::JobQueue', 1);
    template.hasResourceProperties('AWS::Batch::JobQueue', {
      JobQueueName: 'llm-training',
      JobStateTimeLimitActions: Match.arrayWith([Match.objectLike({ MaxTimeSeconds: 7200, Reason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY' })]),
    });
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({ BlockDeviceMappings: [Match.objectLike({ Ebs: Match.objectLike({ VolumeSize: 500 }) })] }),
    });
    expect(queue.onDemandJobQueue).toBeUndefined();
    expect(queue.capacity).toMatchObject({ maxJobGpus: 8, maxJobVcpus: 192, maxJobMemoryMiB: 2048 * 1024 });
  });

  test('the AL2 NVIDIA AMI is accepted', () => {
    const { stack, network } = setup();
    new SpotGpuQueue(stack, 'Gpu', { network, imageType: batch.EcsMachineImageType.ECS_AL2_NVIDIA });
    Template.fromStack(stack).hasResourceProperties('AWS::Batch::ComputeEnvironment', {
      ComputeResources: Match.objectLike({ Ec2Configuration: [{ ImageType: 'ECS_AL2_NVIDIA' }] }),
    });
  });
});

describe('a job definition on a real SpotGpuQueue', () => {
  test('fits when one instance type holds all it asks for', () => {
    const { stack, network } = setup();
    const queue = new SpotGpuQueue(stack, 'Gpu', { network });
    const job = MlJobDefinition.training(stack, 'Train', {
      queue, image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12'), gpus: 4, vcpus: 48, memory: Size.gibibytes(160),
    });
    expect(job.gpus).toBe(4);
  });

  test('fails when the GPUs come from one type and the vCPUs from another', () => {
    const { stack, network } = setup();
    const queue = new SpotGpuQueue(stack, 'Gpu', {
      network,
      instanceTypes: [new ec2.InstanceType('g5.12xlarge'), new ec2.InstanceType('g5.16xlarge')],
    });
    expect(() => MlJobDefinition.training(stack, 'Train', {
      queue, image: ecs.ContainerImage.fromRegistry('public.ecr.aws/docker/library/python:3.12'), gpus: 4, vcpus: 64, memory: Size.gibibytes(100),
    })).toThrow(/invalid vcpus, memory and gpus '64 vCPUs, 102400 MiB, 4 GPUs'. No single instance type of the queue \(g5.12xlarge: 48 vCPUs/);
  });
});

describe('SpotGpuQueue fails when', () => {
  const gpu = (props: Partial<ConstructorParameters<typeof SpotGpuQueue>[2]>) => {
    const { stack, network } = setup();
    return () => new SpotGpuQueue(stack, 'Gpu', { network, ...props });
  };

  test('an instance type has no GPU', () => {
    expect(gpu({ instanceTypes: [new ec2.InstanceType('g5.xlarge'), new ec2.InstanceType('m5.large')] })).toThrow(
      /SpotGpuQueue 'Test\/Gpu': invalid instanceTypes \['m5.large'\]. These types have no GPU/,
    );
  });

  test('an instance type is unknown', () => {
    expect(gpu({ instanceTypes: [new ec2.InstanceType('g9.huge')] })).toThrow(/invalid instanceTypes 'g9.huge'. Its size is unknown to cdk-mlops/);
  });

  test('the list is empty', () => {
    expect(gpu({ instanceTypes: [] })).toThrow(/invalid instanceTypes \[\]. Give at least one GPU instance type/);
  });

  test('an arm64 GPU type is mixed with x86_64 ones: no NVIDIA AMI serves it, which is said first', () => {
    expect(gpu({ instanceTypes: [new ec2.InstanceType('g5.xlarge'), new ec2.InstanceType('g5g.xlarge')] })).toThrow(
      /invalid instanceTypes \['g5g.xlarge'\]. The Batch NVIDIA AMI/,
    );
  });

  test.each([batch.EcsMachineImageType.ECS_AL2023, batch.EcsMachineImageType.ECS_AL2])('the AMI is %p, without GPU drivers', (imageType) => {
    expect(gpu({ imageType })).toThrow(new RegExp(`invalid imageType '${imageType}'. GPU instances need an NVIDIA ECS AMI`));
  });

  test('maxvCpus is below the smallest instance', () => {
    expect(gpu({ maxvCpus: 2 })).toThrow(/invalid maxvCpus 2. It must be a whole number of at least 4/);
  });

  test('onDemandMaxvCpus is below the smallest instance', () => {
    expect(gpu({ onDemandMaxvCpus: 0 })).toThrow(/invalid onDemandMaxvCpus 0/);
  });

  test.each([Duration.minutes(5), Duration.hours(25)])('capacityTimeout is %s', (capacityTimeout) => {
    expect(gpu({ capacityTimeout })).toThrow(/invalid capacityTimeout .*from 10 minutes to 24 hours/);
  });

  test.each([8, GP3_MAX_GIB.value + 1])('the root volume is %p GiB (below the AMI\'s 30 GiB snapshot, above gp3\'s maximum)', (gib) => {
    expect(gpu({ rootVolumeSize: Size.gibibytes(gib) })).toThrow(
      new RegExp(`SpotGpuQueue 'Test/Gpu': invalid rootVolumeSize '${gib} GiB'. Give whole GiB from 30 .* to ${GP3_MAX_GIB.value} \\(the largest gp3 volume\\)`),
    );
    expect(gpu({ rootVolumeSize: Size.gibibytes(30) })).not.toThrow();
  });

  test('a root volume of 20000 GiB is fine for AWS since gp3 takes up to 64 TiB (it failed under the older 16384 GiB limit)', () => {
    expect(gpu({ rootVolumeSize: Size.gibibytes(20000) })).not.toThrow();
    expect(gpu({ rootVolumeSize: Size.gibibytes(GP3_MAX_GIB.value) })).not.toThrow();
  });

  test.each(['gpu training', 'gpu.training', 'a'.repeat(120)])('the job queue name is %p (Batch: 1-128 letters, digits, - and _)', (jobQueueName) => {
    expect(gpu({ jobQueueName })).toThrow(/SpotGpuQueue 'Test\/Gpu': invalid jobQueueName .*Batch job queue names are 1-128 letters, digits, hyphens and underscores/);
  });

  test('two queues have one name in one account and region', () => {
    const { stack, network } = setup();
    new SpotGpuQueue(stack, 'First', { network, jobQueueName: 'training' });
    expect(() => new SpotGpuQueue(stack, 'Second', { network, jobQueueName: 'training' })).toThrow(
      /SpotGpuQueue 'Test\/Second': invalid jobQueueName 'training'. Test\/First already creates the Batch job queue 'training'/,
    );
    const other = new Stack(stack.node.root as App, 'Elsewhere', { env: { account: '111111111111', region: 'eu-west-1' } });
    expect(() => new SpotGpuQueue(other, 'Third', { network: new BatchNetwork(other, 'Network'), jobQueueName: 'training' })).not.toThrow();
  });

  test('onDemandMaxvCpus is given without the fallback it sizes', () => {
    expect(gpu({ onDemandFallback: false, onDemandMaxvCpus: 128 })).toThrow(
      /SpotGpuQueue 'Test\/Gpu': prop onDemandMaxvCpus is not allowed with onDemandFallback: false/,
    );
  });
});

describe('SpotGpuQueue RUNNABLE watchdog, against the documented Batch events', () => {
  const { stack, network } = setup();
  new SpotGpuQueue(stack, 'Gpus', { network });
  const template = Template.fromStack(stack);
  const rule = Object.values(template.findResources('AWS::Events::Rule'))[0] as any;
  const pattern = rule.Properties.EventPattern;
  const [spotQueue, onDemandQueue] = pattern.detail.jobQueue;

  test('watches the spot queue and the on-demand queue', () => {
    expect(JSON.stringify(spotQueue)).toMatch(/"GpusJobQueue[A-F0-9]+"/);
    expect(JSON.stringify(onDemandQueue)).toMatch(/"GpusOnDemandJobQueue[A-F0-9]+"/);
  });

  test.each([
    ['cancelled for capacity', STATUS_REASONS.cancelledForCapacity.value],
    ['cancelled: maxvCpus too small', STATUS_REASONS.cancelledForMaxResource.value],
    ['cancelled: no instance type fits', STATUS_REASONS.cancelledForJobRequirement.value],
  ])('matches the job state change of a job %s', (_c, reason) => {
    expect(matchesPattern(pattern, jobStateChangeEvent(spotQueue, reason).value)).toBe(true);
    expect(matchesPattern(pattern, jobStateChangeEvent(onDemandQueue, reason).value)).toBe(true);
  });

  test('matches the blocked-queue event of an unsupported instance configuration, which no time limit cancels', () => {
    expect(matchesPattern(pattern, jobQueueBlockedEvent(spotQueue).value)).toBe(true);
  });

  test('does not match a job still waiting for capacity, another queue, or a code failure', () => {
    expect(matchesPattern(pattern, jobQueueBlockedEvent(spotQueue, STATUS_REASONS.stuckForCapacity.value).value)).toBe(false);
    expect(matchesPattern(pattern, jobStateChangeEvent().value)).toBe(false);
    expect(matchesPattern(pattern, jobStateChangeEvent(spotQueue, STATUS_REASONS.essentialContainerExited.value).value)).toBe(false);
  });

  test('the queues cancel exactly the reasons Batch documents as cancellable', () => {
    const queues = template.findResources('AWS::Batch::JobQueue');
    for (const q of Object.values(queues) as any[]) {
      expect(q.Properties.JobStateTimeLimitActions.map((a: any) => a.Reason).sort()).toEqual([...CANCELLABLE_REASONS.value].sort());
    }
    expect([...CONTRACT_CANCELLABLE].sort()).toEqual([...CANCELLABLE_REASONS.value].sort());
  });

  test('the compute environments use Batch\'s service-linked role, whose policy AWS keeps current with the detection permissions', () => {
    // "Jobs stuck in RUNNABLE due to capacity": detection and the time-limit cancel need
    // autoscaling:DescribeScalingActivities and ec2:DescribeSpotFleetRequestHistory; the service-linked role's policy
    // has them. Without a ServiceRole, CreateComputeEnvironment uses that role (Batch API Reference, serviceRole).
    for (const ce of Object.values(template.findResources('AWS::Batch::ComputeEnvironment')) as any[]) {
      expect(ce.Properties.ServiceRole).toBeUndefined();
    }
  });
});

describe('SpotGpuQueue fails when', () => {
  test.each([['p3.2xlarge'], ['g3.4xlarge']])('%s is asked for with the ECS_AL2023_NVIDIA AMI', (type) => {
    const { stack, network } = setup();
    expect(() => new SpotGpuQueue(stack, 'Q', { network, instanceTypes: [new ec2.InstanceType(type)] })).toThrow(
      new RegExp(`SpotGpuQueue 'Test/Q': invalid instanceTypes \\['${type.replace('.', '\\.')}'\\]. The Batch NVIDIA AMI \\(ECS_AL2023_NVIDIA\\) does not serve these types`));
  });

  test('a Graviton GPU type (g5g) is asked for, with either NVIDIA AMI', () => {
    const { stack, network } = setup();
    expect(() => new SpotGpuQueue(stack, 'Q', { network, imageType: batch.EcsMachineImageType.ECS_AL2_NVIDIA, instanceTypes: [new ec2.InstanceType('g5g.xlarge')] }))
      .toThrow(/invalid instanceTypes \['g5g.xlarge'\]. The Batch NVIDIA AMI \(ECS_AL2_NVIDIA\) does not serve these types/);
  });

  test('p3 is still accepted with the ECS_AL2_NVIDIA AMI, which serves every non-Graviton GPU type', () => {
    const { stack, network } = setup();
    expect(() => new SpotGpuQueue(stack, 'Q', { network, imageType: batch.EcsMachineImageType.ECS_AL2_NVIDIA, instanceTypes: [new ec2.InstanceType('p3.2xlarge')] }))
      .not.toThrow();
  });
});
