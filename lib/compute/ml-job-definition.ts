import { ArnFormat, Duration, Names, Size, SizeRoundingBehavior, Stack } from 'aws-cdk-lib';
import * as batch from 'aws-cdk-lib/aws-batch';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ContainerContract } from './container-contract';
import { ComputePlatform, IMlJobQueue } from './ml-job-queue';
import { RetryPolicy } from './retry-policy';
import { acknowledge } from '../private/acknowledge';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import { encryptedLogGroup } from '../private/log-group';
import { NagReason, REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { bucketInput } from '../storage/private/bucket-input';

/** What a job definition runs. */
export enum JobKind {
  /** Trains one candidate: a single job, on GPU by default, resumed from its checkpoint after a spot reclaim. */
  TRAINING = 'TRAINING',
  /** Evaluates a trained model: an array job of `shards` children, CPU by default. */
  EVALUATION = 'EVALUATION',
}

/** A bucket prefix a job reads or writes. */
export interface BucketAccess {
  /** The bucket: a `VersionedBucket`, an `s3.Bucket` or an imported `s3.IBucket` (its key is granted too). */
  readonly bucket: s3.IBucketRef;
  /**
   * The key prefix, for example `datasets/fraud/`: the job gets the objects under it and nothing else.
   * @default '' - the whole bucket
   */
  readonly prefix?: string;
}

/** Props for {@link MlJobDefinition.training} and {@link MlJobDefinition.evaluation}: all but the kind. */
export interface MlJobDefinitionOptions {
  /** The queue the jobs go to. The definition is checked against what one job can get there (`queue.capacity`). */
  readonly queue: IMlJobQueue;
  /**
   * The container image. From ECR, use `ecs.ContainerImage.fromEcrRepository(repository, tag)` (for a
   * `ModelImageRepository`, `fromEcrRepository(images.repository, tag)`): the execution role then gets the pull
   * permissions on that repository. A digest names the image more reliably than a tag.
   */
  readonly image: ecs.ContainerImage;
  /**
   * vCPUs per job. Whole numbers on EC2 queues; on Fargate 0.25, 0.5, 1, 2, 4, 8 or 16.
   * @default 4 for training, 1 for evaluation
   */
  readonly vcpus?: number;
  /**
   * Memory per job (whole MiB). On EC2 queues at most 95% of the largest instance's memory: the ECS agent registers
   * the installed memory minus what the kernel and the agent take (about 2-5%), and Batch places a job only where
   * the registered memory covers it, so a job asking for all of it would never start. AWS recommends the same 5%
   * buffer (Batch user guide, "Reserve system memory"). On Fargate, one of the sizes Fargate offers for `vcpus`.
   * @default Size.gibibytes(15) for training (it fits a 16 GiB g4dn/g5/g6 xlarge), Size.gibibytes(2) for evaluation
   */
  readonly memory?: Size;
  /**
   * NVIDIA GPUs per job; EC2 GPU queues only.
   * @default 1 for training on a queue with GPUs, 0 otherwise
   */
  readonly gpus?: number;
  /**
   * The size of `/dev/shm`: PyTorch data loader workers pass batches through it, and Docker's default of 64 MiB
   * crashes them ("bus error"). The shared memory is a tmpfs counted against the job's memory, used only when
   * filled: half leaves the other half to the process. EC2 queues only (Fargate has no setting); less than `memory`.
   * @default - half of `memory` on EC2 queues; none on Fargate
   */
  readonly sharedMemory?: Size;
  /**
   * How long one attempt may run before Batch stops it (at least 60 seconds): a hung attempt is stopped instead of
   * holding a GPU instance. Each retry gets the full time again.
   * @default Duration.hours(8) for training, Duration.hours(1) for evaluation
   */
  readonly attemptTimeout?: Duration;
  /**
   * When Batch retries a failed attempt.
   * @default RetryPolicy.spotAware() - 3 attempts; retry spot reclaims and image pull failures, nothing else
   */
  readonly retryPolicy?: RetryPolicy;
  /**
   * Evaluation: how many shards the evaluation data is split into, the array size the workflow submits with
   * (Batch runs 2-10,000 children; 1 submits a single job). Each child reads its index from
   * `AWS_BATCH_JOB_ARRAY_INDEX` and the count from `MLOPS_SHARD_COUNT`. Training jobs have one shard.
   * @default 1
   */
  readonly shards?: number;
  /**
   * Bucket prefixes the job reads (its role gets `grantRead` on each prefix, and decrypt with the bucket's key).
   * @default - none
   */
  readonly reads?: BucketAccess[];
  /**
   * Bucket prefixes the job reads and writes (its role gets `grantReadWrite` on each prefix): outputs, checkpoints.
   * @default - none
   */
  readonly writes?: BucketAccess[];
  /**
   * Static environment variables, on top of the contract's per-run ones (see {@link ContainerContract}). Names may
   * not start with `AWS_BATCH` (Batch reserves them). Never put secrets here: they show in the job definition.
   * @default - none
   */
  readonly environment?: { [name: string]: string };
  /**
   * The command, overriding the image's `CMD`.
   * @default - the image's CMD
   */
  readonly command?: string[];
  /**
   * How long the job logs are kept (KMS-encrypted log group, retained on `cdk destroy`).
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The job definition's name: up to 128 letters, digits, `-` and `_`.
   * @default - a unique name made from the construct path
   */
  readonly jobDefinitionName?: string;
}

/** Props for {@link MlJobDefinition}. */
export interface MlJobDefinitionProps extends MlJobDefinitionOptions {
  /** Training or evaluation: sets the defaults and what the container gets. */
  readonly kind: JobKind;
}

/** Batch's minimum attempt duration. */
const MIN_TIMEOUT_SECONDS = 60;
/** Batch's largest array job. */
const MAX_SHARDS = 10000;
/** The share of the largest instance's installed memory one job may ask for on EC2 (see `memory`). */
const EC2_MEMORY_SHARE = 0.95;
/** Batch's smallest job memory. */
const MIN_MEMORY_MIB = 4;
const JOB_DEFINITION_NAME = /^[A-Za-z0-9_-]{1,128}$/;

/** The memory sizes (MiB) Fargate offers for each vCPU count (AWS Batch `ResourceRequirement`, type MEMORY). */
const FARGATE_MEMORY_MIB: ReadonlyMap<number, readonly number[]> = new Map([
  [0.25, [512, 1024, 2048]],
  [0.5, range(1024, 4096, 1024)],
  [1, range(2048, 8192, 1024)],
  [2, range(4096, 16384, 1024)],
  [4, range(8192, 30720, 1024)],
  [8, range(16384, 61440, 4096)],
  [16, range(32768, 122880, 8192)],
]);

const DEFAULTS: Record<JobKind, { vcpus: number; memory: Size; timeout: Duration }> = {
  // 15 GiB fits the 16 GiB *.xlarge GPU types (4 vCPUs, 1 GPU) within the 95% the fit check allows; 16 GiB would not, and
  // Batch would launch a 2xlarge for every default job.
  [JobKind.TRAINING]: { vcpus: 4, memory: Size.gibibytes(15), timeout: Duration.hours(8) },
  [JobKind.EVALUATION]: { vcpus: 1, memory: Size.gibibytes(2), timeout: Duration.hours(1) },
};

/**
 * A Batch job definition for training or evaluating models, checked at synth against the queue it targets: a job
 * that could never be placed (more GPUs, vCPUs or memory than one instance has, a GPU job on a CPU queue, a size
 * Fargate does not offer) fails `cdk synth` instead of sitting in RUNNABLE.
 *
 * The job runs with its own role, which can only read and write the bucket prefixes it is given; its logs go to a
 * KMS-encrypted log group; it is retried on spot reclaims and image pull failures only (`RetryPolicy.spotAware()`);
 * each attempt has a timeout. On EC2 it gets GPUs and a `/dev/shm` sized for PyTorch data loaders; on Fargate a
 * public IP only on a queue whose subnets have no NAT (`BatchEgress.PUBLIC_SUBNETS`): elsewhere the subnets need a NAT
 * gateway or VPC endpoints for ECR, S3 and CloudWatch Logs. An init process
 * forwards SIGTERM (spot reclaim, timeout) to the training process so it can checkpoint.
 *
 * The root filesystem stays writable: ML libraries write caches and temporary files under `$HOME` and `/tmp`
 * (pip, Hugging Face, PyTorch kernels, matplotlib) and fail on a read-only root; the container is never privileged.
 * What the container gets and must write is the {@link ContainerContract}.
 *
 * @example
 * const training = MlJobDefinition.training(this, 'Train', {
 *   queue: gpus,
 *   image: ecs.ContainerImage.fromEcrRepository(trainingImages.repository, 'v42'),
 *   reads: [{ bucket: data, prefix: 'datasets/fraud/' }],
 *   writes: [{ bucket: artifacts, prefix: 'runs/' }, { bucket: checkpoints, prefix: 'runs/' }],
 * });
 * const evaluation = MlJobDefinition.evaluation(this, 'Evaluate', {
 *   queue: cpus,
 *   image: ecs.ContainerImage.fromEcrRepository(trainingImages.repository, 'v42'),
 *   shards: 8,
 *   reads: [{ bucket: data, prefix: 'datasets/fraud/' }, { bucket: artifacts, prefix: 'runs/' }],
 *   writes: [{ bucket: artifacts, prefix: 'evaluations/' }],
 * });
 * training.grantSubmitJob(stateMachine);
 */
export class MlJobDefinition extends Construct implements iam.IGrantable {
  /** A training job definition. */
  public static training(scope: Construct, id: string, options: MlJobDefinitionOptions): MlJobDefinition {
    return new MlJobDefinition(scope, id, { ...options, kind: JobKind.TRAINING });
  }

  /** An evaluation (array) job definition. */
  public static evaluation(scope: Construct, id: string, options: MlJobDefinitionOptions): MlJobDefinition {
    return new MlJobDefinition(scope, id, { ...options, kind: JobKind.EVALUATION });
  }

  /** Training or evaluation. */
  public readonly kind: JobKind;
  /** The queue the jobs go to. */
  public readonly queue: IMlJobQueue;
  /** The Batch job definition. */
  public readonly jobDefinition: batch.IJobDefinition;
  /** The job definition's ARN, with the revision this deployment registered. */
  public readonly jobDefinitionArn: string;
  /** The job definition's name (all its revisions). */
  public readonly jobDefinitionName: string;
  /** The role the container runs with: only the grants of `reads` and `writes` (and what you add). */
  public readonly jobRole: iam.IRole;
  /** The role Batch (the ECS agent) uses to pull the image and write the logs. */
  public readonly executionRole: iam.IRole;
  /** The log group of the jobs (KMS-encrypted). */
  public readonly logGroup: logs.ILogGroup;
  /** vCPUs per job. */
  public readonly vcpus: number;
  /** Memory per job. */
  public readonly memory: Size;
  /** GPUs per job. */
  public readonly gpus: number;
  /** The size of `/dev/shm`; undefined on Fargate. */
  public readonly sharedMemory?: Size;
  /** How long one attempt may run. */
  public readonly attemptTimeout: Duration;
  /** When failed attempts are retried. */
  public readonly retryPolicy: RetryPolicy;
  /** How many shards an evaluation is split into: the array size to submit with (1: a single job). */
  public readonly shards: number;
  /** The job role: grants to this definition are grants to its containers. */
  public readonly grantPrincipal: iam.IPrincipal;

  constructor(scope: Construct, id: string, props: MlJobDefinitionProps) {
    super(scope, id);
    this.kind = props.kind;
    this.queue = props.queue;
    const platform = props.queue.capacity.platform;
    const defaults = DEFAULTS[props.kind];
    this.vcpus = props.vcpus ?? defaults.vcpus;
    this.memory = props.memory ?? defaults.memory;
    this.gpus = props.gpus ?? (props.kind === JobKind.TRAINING && platform === ComputePlatform.EC2 && props.queue.capacity.maxJobGpus > 0 ? 1 : 0);
    this.sharedMemory = props.sharedMemory ??
      (platform === ComputePlatform.EC2 && !this.memory.isUnresolved() ? halfOf(this.memory) : undefined);
    this.attemptTimeout = props.attemptTimeout ?? defaults.timeout;
    this.retryPolicy = props.retryPolicy ?? RetryPolicy.spotAware();
    this.shards = props.shards ?? 1;
    this.validate(props);
    const retry = this.retryPolicy._bind(this);

    const name = props.jobDefinitionName ?? Names.uniqueResourceName(this, { maxLength: 128, separator: '-' });
    const jobRole = new iam.Role(this, 'JobRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `cdk-mlops: the ${props.kind.toLowerCase()} containers of ${this.node.path}`,
    });
    const executionRole = new iam.Role(this, 'ExecutionRole', {
      assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com'),
      description: `cdk-mlops: pulls the image and writes the logs of ${this.node.path}`,
    });
    this.jobRole = jobRole;
    this.executionRole = executionRole;
    this.grantPrincipal = jobRole;
    (props.reads ?? []).forEach((access, i) => this.accessBucket(access, 'reads', i).grantRead(jobRole, access.prefix ?? ''));
    (props.writes ?? []).forEach((access, i) => this.accessBucket(access, 'writes', i).grantReadWrite(jobRole, access.prefix ?? ''));

    const logGroup = encryptedLogGroup(this, 'Logs', { retention: props.logRetention });
    this.logGroup = logGroup;
    const environment: Record<string, string> = { ...props.environment };
    if (props.kind === JobKind.EVALUATION) environment[ContainerContract.SHARD_COUNT] = `${this.shards}`;
    const container: batch.EcsContainerDefinitionProps = {
      image: props.image,
      cpu: this.vcpus,
      memory: this.memory,
      command: props.command,
      environment,
      jobRole,
      executionRole,
      logging: ecs.LogDriver.awsLogs({ logGroup, streamPrefix: props.kind.toLowerCase() }),
      // ML libraries write caches under $HOME and /tmp: a read-only root breaks them (see the class doc).
      readonlyRootFilesystem: false,
      linuxParameters: new batch.LinuxParameters(this, 'LinuxParameters', {
        // tini as PID 1 forwards SIGTERM (spot reclaim, timeout) to the training process, so it can checkpoint.
        initProcessEnabled: true,
        sharedMemorySize: this.sharedMemory,
      }),
    };
    const containerDefinition = platform === ComputePlatform.FARGATE
      ? new batch.EcsFargateContainerDefinition(this, 'Container', {
        ...container,
        // ENABLED only where the queue's subnets have no NAT (public subnets): the task would not reach ECR otherwise.
        assignPublicIp: props.queue.capacity.assignPublicIp ?? false,
        fargatePlatformVersion: ecs.FargatePlatformVersion.LATEST,
        fargateCpuArchitecture: props.queue.capacity.architecture === ec2.InstanceArchitecture.ARM_64
          ? ecs.CpuArchitecture.ARM64
          : ecs.CpuArchitecture.X86_64,
      })
      : new batch.EcsEc2ContainerDefinition(this, 'Container', {
        ...container,
        // A token is kept: CloudFormation knows the count, so the requirement must not be dropped.
        gpu: !isConcrete(this.gpus) || this.gpus > 0 ? this.gpus : undefined,
        privileged: false,
      });

    const jobDefinition = new batch.EcsJobDefinition(this, 'Resource', {
      jobDefinitionName: name,
      container: containerDefinition,
      retryAttempts: retry.attempts,
      retryStrategies: retry.strategies,
      timeout: this.attemptTimeout,
      // The tags of the job definition and the job reach the ECS task: cost allocation by run and candidate.
      propagateTags: true,
    });
    this.jobDefinition = jobDefinition;
    this.jobDefinitionArn = jobDefinition.jobDefinitionArn;
    this.jobDefinitionName = name;

    this.acknowledgeFindings(props);
  }

  /**
   * Permits the grantee to submit jobs of this definition (every revision) to its queue (and the queue's on-demand
   * queue). The grant's `job-definition/NAME:*` wildcard is acknowledged on the grantee's default policy.
   */
  public grantSubmitJob(grantee: iam.IGrantable): iam.Grant {
    const definition = Stack.of(this).formatArn({
      service: 'batch',
      resource: 'job-definition',
      resourceName: this.jobDefinitionName,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    const grant = iam.Grant.addToPrincipal({
      grantee,
      actions: ['batch:SubmitJob'],
      resourceArns: [definition, `${definition}:*`],
    }).combine(this.queue.grantSubmitJob(grantee));
    const principal = grantee.grantPrincipal;
    const policy = Construct.isConstruct(principal) ? principal.node.tryFindChild('DefaultPolicy') : undefined;
    if (policy) {
      acknowledge(policy, {
        [`AwsSolutions-IAM5[Resource::${nagResourceId(this, `${definition}:*`)}]`]: REASONS.batch.submitEveryRevision(this.jobDefinitionName),
      });
    }
    return grant;
  }

  private validate(props: MlJobDefinitionProps): void {
    const { capacity } = props.queue;
    const fargate = capacity.platform === ComputePlatform.FARGATE;
    const vcpus = this.vcpus;
    const gpus = this.gpus;
    const queue = `the queue ${props.queue.node.path}`;

    if (isConcrete(gpus) && (!Number.isInteger(gpus) || gpus < 0)) {
      this.fail('gpus', gpus, 'Give a whole number of GPUs, 0 or more.');
    }
    if (isConcrete(vcpus) && !fargate && (!Number.isInteger(vcpus) || vcpus < 1)) {
      this.fail('vcpus', vcpus, 'Jobs on EC2 take whole vCPUs, at least 1.');
    }
    const memory = mebibytes(this.memory);
    if (memory !== undefined && (!Number.isInteger(memory) || memory < MIN_MEMORY_MIB)) {
      this.fail('memory', `${memory} MiB`, `Batch takes whole MiB, at least ${MIN_MEMORY_MIB}: for example Size.gibibytes(8).`);
    }

    if (fargate) {
      if (isConcrete(gpus) && gpus > 0) {
        this.fail('gpus', gpus, `Fargate has no GPUs and ${queue} is a Fargate queue: train on GPUs with an EC2 GPU queue, or set gpus: 0.`);
      }
      if (props.sharedMemory) {
        this.fail('sharedMemory', describeSize(props.sharedMemory),
          `Fargate does not let a job size /dev/shm and ${queue} is a Fargate queue: remove sharedMemory, or use an EC2 queue.`);
      }
      this.validateFargateSize(vcpus, memory);
    }

    if (isConcrete(gpus) && gpus > 0 && capacity.maxJobGpus === 0) {
      this.fail('gpus', gpus, `${queue} has no GPU instances (maxJobGpus 0), so the job would never start: use a GPU queue, or set gpus: 0.`);
    }
    if (isConcrete(gpus) && gpus > capacity.maxJobGpus) {
      this.fail('gpus', gpus, `The largest instance of ${queue} has ${capacity.maxJobGpus} GPUs, so the job would never start: ` +
        `ask for at most ${capacity.maxJobGpus}, or add larger instance types to the queue.`);
    }
    if (isConcrete(vcpus) && vcpus > capacity.maxvCpus) {
      this.fail('vcpus', vcpus, `The compute environment of ${queue} may run ${capacity.maxvCpus} vCPUs in all (maxvCpus), fewer ` +
        'than one job needs, so the job would never start: raise the queue\'s maxvCpus, or ask for fewer vCPUs.');
    }
    if (isConcrete(vcpus) && vcpus > capacity.maxJobVcpus) {
      this.fail('vcpus', vcpus, `The largest instance of ${queue} has ${capacity.maxJobVcpus} vCPUs, so the job would never start: ` +
        `ask for at most ${capacity.maxJobVcpus}, or add larger instance types to the queue.`);
    }
    if (memory !== undefined && !fargate) {
      const limit = Math.floor(capacity.maxJobMemoryMiB * EC2_MEMORY_SHARE);
      if (memory > limit) {
        this.fail('memory', `${memory} MiB`, `The largest instance of ${queue} has ${capacity.maxJobMemoryMiB} MiB, and the ECS agent ` +
          `registers less than that (the kernel and the agent keep 2-5%): ask for at most ${limit} MiB (95%), or add larger ` +
          'instance types to the queue.');
      }
    }
    if (memory !== undefined && fargate && memory > capacity.maxJobMemoryMiB) {
      this.fail('memory', `${memory} MiB`, `A job on ${queue} can get at most ${capacity.maxJobMemoryMiB} MiB.`);
    }
    this.validateFitsOneInstance(vcpus, memory, gpus);

    const shm = this.sharedMemory && mebibytes(this.sharedMemory);
    if (shm !== undefined && (!Number.isInteger(shm) || shm < 1)) {
      this.fail('sharedMemory', `${shm} MiB`, 'Give whole MiB, at least 1: for example Size.gibibytes(4).');
    }
    if (shm !== undefined && memory !== undefined && shm >= memory) {
      this.fail('sharedMemory', `${shm} MiB`, `/dev/shm is counted against the job's memory (${memory} MiB): make it smaller, ` +
        'half of the memory for example, or raise memory.');
    }

    const timeout = this.attemptTimeout.toSeconds({ integral: false });
    if (isConcrete(timeout) && (timeout < MIN_TIMEOUT_SECONDS || !Number.isInteger(timeout))) {
      this.fail('attemptTimeout', `${timeout} seconds`,
        `Batch stops attempts after whole seconds, at least ${MIN_TIMEOUT_SECONDS}: for example Duration.hours(8).`);
    }

    const shards = this.shards;
    if (isConcrete(shards) && (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS)) {
      this.fail('shards', shards, `Batch array jobs have up to ${MAX_SHARDS} children: give a whole number from 1 to ${MAX_SHARDS}.`);
    }
    if (isConcrete(shards) && props.kind === JobKind.TRAINING && shards !== 1) {
      this.fail('shards', shards, 'A training job is a single job: remove shards, or use an evaluation job definition for sharded work.');
    }

    for (const name of Object.keys(props.environment ?? {})) {
      if (name.startsWith('AWS_BATCH')) {
        this.fail('environment', name, 'Batch reserves the names that start with AWS_BATCH and sets them itself: rename the variable.');
      }
    }
    const name = props.jobDefinitionName;
    if (isConcrete(name) && !JOB_DEFINITION_NAME.test(name)) {
      this.fail('jobDefinitionName', name, 'Use 1-128 letters, digits, "-" and "_".');
    }
  }

  /** Each maximum may come from another instance type: the job must fit one instance with everything it asks for. */
  private validateFitsOneInstance(vcpus: number, memory: number | undefined, gpus: number): void {
    const instances = this.queue.capacity.instances;
    if (!instances || instances.length === 0 || !isConcrete(vcpus) || !isConcrete(gpus) || memory === undefined) return;
    const fits = instances.some((i) => i.vcpus >= vcpus && Math.floor(i.memoryMiB * EC2_MEMORY_SHARE) >= memory && i.gpus >= gpus);
    if (!fits) {
      this.fail('vcpus, memory and gpus', `${vcpus} vCPUs, ${memory} MiB, ${gpus} GPUs`,
        `No single instance type of the queue (${instances.map((i) => `${i.name}: ${i.vcpus} vCPUs, ${i.memoryMiB} MiB, ` +
          `${i.gpus} GPUs`).join('; ')}) holds all of it, so the job would never start: ask for less, or add an instance type that does.`);
    }
  }

  private validateFargateSize(vcpus: number, memory: number | undefined): void {
    if (!isConcrete(vcpus)) return;
    const sizes = FARGATE_MEMORY_MIB.get(vcpus);
    if (!sizes) {
      this.fail('vcpus', vcpus, `Fargate runs jobs with ${[...FARGATE_MEMORY_MIB.keys()].join(', ')} vCPUs: pick one of them.`);
      return;
    }
    if (memory !== undefined && !sizes.includes(memory)) {
      this.fail('memory', `${memory} MiB`, `Fargate runs ${vcpus} vCPUs with ${describeSizes(sizes)}: pick one of them, or change vcpus.`);
    }
  }

  private accessBucket(access: BucketAccess, list: 'reads' | 'writes', index: number) {
    return bucketInput(this, `${list === 'reads' ? 'Reads' : 'Writes'}${index}Bucket`, access.bucket);
  }

  private fail(prop: string, value: unknown, fix: string): never {
    throw new MlOpsValidationError(this, 'MlJobDefinition', prop, value, fix);
  }

  /** One finding id per entry, on the policy that holds the statement, with a reason a reviewer can check. */
  private acknowledgeFindings(props: MlJobDefinitionProps): void {
    const jobPolicy = this.jobRole.node.tryFindChild('DefaultPolicy');
    if (jobPolicy) {
      const findings: Record<string, NagReason> = { ...INLINE_ROLE_POLICY };
      const accesses: Array<[BucketAccess, 'reads' | 'writes', number]> = [
        ...(props.reads ?? []).map((access, i): [BucketAccess, 'reads', number] => [access, 'reads', i]),
        ...(props.writes ?? []).map((access, i): [BucketAccess, 'writes', number] => [access, 'writes', i]),
      ];
      for (const [access, verb, index] of accesses) {
        const prefix = access.prefix ?? '';
        const objects = this.accessBucket(access, verb, index).bucket.arnForObjects(`${prefix}*`);
        findings[`AwsSolutions-IAM5[Resource::${nagResourceId(this, objects)}]`] = REASONS.s3.jobObjects(verb, prefix);
      }
      if ((props.writes ?? []).some((access, i) => this.accessBucket(access, 'writes', i).encryptionKey)) {
        findings['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]'] = REASONS.kms.bucketWriteDataKeys;
        findings['AwsSolutions-IAM5[Action::kms:ReEncrypt*]'] = REASONS.kms.bucketWriteReEncrypt;
      }
      acknowledge(jobPolicy, findings);
    }

    const executionPolicy = this.executionRole.node.tryFindChild('DefaultPolicy');
    if (executionPolicy) {
      const findings: Record<string, NagReason> = { ...INLINE_ROLE_POLICY };
      if (pullsFromEcr(props.image)) findings['AwsSolutions-IAM5[Resource::*]'] = REASONS.ecr.authorizationTokenForPulls;
      acknowledge(executionPolicy, findings);
    }
  }
}

/** Images whose `bind` grants the execution role the ECR pull, with `ecr:GetAuthorizationToken` on "*". */
function pullsFromEcr(image: ecs.ContainerImage): boolean {
  return image instanceof ecs.EcrImage || image instanceof ecs.AssetImage || image instanceof ecs.TagParameterContainerImage;
}

function mebibytes(size: Size): number | undefined {
  if (size.isUnresolved()) return undefined;
  return size.toMebibytes({ rounding: SizeRoundingBehavior.NONE });
}

function halfOf(memory: Size): Size {
  return Size.mebibytes(Math.floor(memory.toMebibytes({ rounding: SizeRoundingBehavior.NONE }) / 2));
}

function describeSize(size: Size): string {
  const mib = mebibytes(size);
  return mib === undefined ? size.toString() : `${mib} MiB`;
}

function describeSizes(sizes: readonly number[]): string {
  if (sizes.length <= 3) return sizes.map((s) => `${s / 1024} GiB`).join(', ');
  const step = sizes[1] - sizes[0];
  return `${sizes[0] / 1024}-${sizes[sizes.length - 1] / 1024} GiB in ${step / 1024} GiB steps`;
}

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += step) values.push(value);
  return values;
}
