import { Duration, Size, SizeRoundingBehavior } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Construct } from 'constructs';
import { acknowledge } from '../../private/acknowledge';
import { REASONS } from '../../private/nag-reasons';
import { isConcrete, MlOpsValidationError } from '../../private/validation';

/**
 * The root volume is made from the AMI's snapshot, so it is at least the snapshot's size: the ECS-optimized AMIs
 * are built with a 30 GiB root device (the build recipe's default, aws/amazon-ecs-ami variables.pkr.hcl).
 */
const MIN_ROOT_GIB = 30;
/** The largest gp3 volume: 64 TiB since EBS raised gp3's limits in 2025 (EC2 API Reference, CreateVolume, Size). */
const MAX_GP3_GIB = 65536;

/**
 * The launch template of every EC2 compute environment of this library: IMDSv2 only with a hop limit of 1
 * (containers cannot reach the instance's credentials; they use their job role), and an encrypted gp3 root
 * volume large enough for CUDA images and their unpacked layers.
 */
export function secureLaunchTemplate(scope: Construct, rootVolume: Size): ec2.LaunchTemplate {
  const gib = rootVolume.toGibibytes({ rounding: SizeRoundingBehavior.NONE });
  if (isConcrete(gib) && (!Number.isInteger(gib) || gib < MIN_ROOT_GIB || gib > MAX_GP3_GIB)) {
    throw new MlOpsValidationError(scope, scope.constructor.name, 'rootVolumeSize', `${gib} GiB`,
      `Give whole GiB from ${MIN_ROOT_GIB} (the ECS-optimized AMI's root snapshot is ${MIN_ROOT_GIB} GiB, and a volume cannot be smaller ` +
      `than its snapshot) to ${MAX_GP3_GIB} (the largest gp3 volume); GPU images need far more than the minimum.`);
  }
  return new ec2.LaunchTemplate(scope, 'LaunchTemplate', {
    requireImdsv2: true,
    httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
    httpPutResponseHopLimit: 1,
    httpEndpoint: true,
    // One-minute instance metrics while an instance runs; nothing when idle.
    detailedMonitoring: true,
    blockDevices: [
      {
        // The root device of the Amazon Linux ECS-optimized AMIs.
        deviceName: '/dev/xvda',
        volume: ec2.BlockDeviceVolume.ebs(rootVolume.toGibibytes(), {
          volumeType: ec2.EbsDeviceVolumeType.GP3,
          encrypted: true,
          deleteOnTermination: true,
        }),
      },
    ],
  });
}

/** Acknowledgements for the instance role aws-cdk-lib creates for an EC2 compute environment. */
export function acknowledgeInstanceRole(computeEnvironment: Construct): void {
  const role = computeEnvironment.node.tryFindChild('InstanceProfileRole');
  if (!role) return;
  acknowledge(role, {
    'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role]':
      REASONS.batch.ecsInstanceRole,
  });
}

/** How long a job may sit in RUNNABLE for a misconfiguration before Batch cancels it: its minimum. */
export const MISCONFIGURATION_TIMEOUT = Duration.minutes(10);

/**
 * Job state time limit actions: cancel a job stuck in RUNNABLE because no compute environment can ever run it
 * (after 10 minutes), or because there is no capacity (after `capacityTimeout`), so that nothing waits forever
 * and the caller can resubmit to the on-demand queue.
 */
export function runnableTimeLimits(capacityTimeout: Duration): batch.JobStateTimeLimitAction[] {
  return [
    { reason: batch.JobStateTimeLimitActionsReason.COMPUTE_ENVIRONMENT_MAX_RESOURCE, maxTime: MISCONFIGURATION_TIMEOUT },
    { reason: batch.JobStateTimeLimitActionsReason.JOB_RESOURCE_REQUIREMENT, maxTime: MISCONFIGURATION_TIMEOUT },
    { reason: batch.JobStateTimeLimitActionsReason.INSUFFICIENT_INSTANCE_CAPACITY, maxTime: capacityTimeout },
  ].map((limit) => ({ ...limit, action: batch.JobStateTimeLimitActionsAction.CANCEL, state: batch.JobStateTimeLimitActionsState.RUNNABLE }));
}
