import { App, Duration, Size, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { BucketPurpose, ModelImageRepository, VersionedBucket } from '../../lib';
import { ContainerContract } from '../../lib/compute/container-contract';
import { JobKind, MlJobDefinition, MlJobDefinitionOptions } from '../../lib/compute/ml-job-definition';
import { ComputePlatform, IMlJobQueue, QueueCapacity } from '../../lib/compute/ml-job-queue';
import { RetryPolicy } from '../../lib/compute/retry-policy';
import { acknowledge } from '../../lib/private/acknowledge';
import { INLINE_ROLE_POLICY } from '../../lib/private/common-findings';
import { stackFindings } from '../support/compliance';
import { CPU_CAPACITY, FARGATE_CAPACITY, fakeQueue, GPU_CAPACITY } from '../support/fake-queue';

const IMAGE = 'public.ecr.aws/example/trainer:1.0';
const VIA_S3 = { StringEquals: { 'kms:ViaService': { 'Fn::Join': ['', ['s3.', { Ref: 'AWS::Region' }, '.amazonaws.com']] } } };

function newStack(): Stack {
  return new Stack(new App(), 'Test');
}

function image(): ecs.ContainerImage {
  return ecs.ContainerImage.fromRegistry(IMAGE);
}

/** The one job definition of the stack. */
function jobDefinitionOf(stack: Stack): Record<string, any> {
  const definitions = Object.values(Template.fromStack(stack).findResources('AWS::Batch::JobDefinition'));
  expect(definitions).toHaveLength(1);
  return stack.resolve(definitions[0].Properties);
}

function resources(properties: Record<string, any>): Record<string, string> {
  return Object.fromEntries(properties.ContainerProperties.ResourceRequirements.map((r: any) => [r.Type, r.Value]));
}

/** The statements of the policy attached to `role`. */
function statementsOf(stack: Stack, role: iam.IRole): any[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  const roleRef = stack.resolve((role as iam.Role).roleName);
  return Object.values(policies)
    .filter((p: any) => JSON.stringify(p.Properties.Roles) === JSON.stringify([roleRef]))
    .flatMap((p: any) => stack.resolve(p.Properties.PolicyDocument.Statement));
}

function asList<T>(value: T | T[]): T[] {
  return Array.isArray(value) ? value : [value];
}

function training(stack: Stack, options: Partial<MlJobDefinitionOptions> = {}, capacity: QueueCapacity = GPU_CAPACITY): MlJobDefinition {
  return MlJobDefinition.training(stack, 'Train', { queue: fakeQueue(stack, 'Queue', capacity), image: image(), ...options });
}

function evaluation(stack: Stack, options: Partial<MlJobDefinitionOptions> = {}, capacity: QueueCapacity = FARGATE_CAPACITY): MlJobDefinition {
  return MlJobDefinition.evaluation(stack, 'Evaluate', { queue: fakeQueue(stack, 'Queue', capacity), image: image(), ...options });
}

describe('MlJobDefinition training on an EC2 GPU queue, defaults', () => {
  const stack = newStack();
  const job = training(stack);
  const properties = jobDefinitionOf(stack);
  const container = properties.ContainerProperties;

  test('4 vCPUs, 15 GiB (fits a 16 GiB xlarge) and 1 GPU, on EC2', () => {
    expect(resources(properties)).toEqual({ VCPU: '4', MEMORY: '15360', GPU: '1' });
    expect(properties.PlatformCapabilities).toEqual(['EC2']);
    expect([job.kind, job.vcpus, job.memory.toGibibytes(), job.gpus]).toEqual([JobKind.TRAINING, 4, 15, 1]);
  });

  test('the image, a writable root, never privileged, no public network settings', () => {
    expect(container.Image).toBe(IMAGE);
    expect(container.Privileged).toBe(false);
    expect(container.ReadonlyRootFilesystem).toBe(false);
    expect(container.NetworkConfiguration).toBeUndefined();
  });

  test('/dev/shm of half the memory, and an init process that forwards SIGTERM', () => {
    expect(container.LinuxParameters).toEqual({ InitProcessEnabled: true, SharedMemorySize: 7680 });
    expect(job.sharedMemory?.toMebibytes()).toBe(7680);
  });

  test('logs go to a KMS-encrypted log group kept a year', () => {
    expect(container.LogConfiguration).toEqual({
      LogDriver: 'awslogs',
      Options: {
        'awslogs-group': { Ref: expect.stringMatching(/^TrainLogs/) },
        'awslogs-stream-prefix': 'training',
        'awslogs-region': { Ref: 'AWS::Region' },
      },
    });
    Template.fromStack(stack).hasResource('AWS::Logs::LogGroup', {
      DeletionPolicy: 'Retain',
      Properties: { RetentionInDays: 365, KmsKeyId: { 'Fn::GetAtt': [Match.stringLikeRegexp('^MlOpsKeysKey'), 'Arn'] } },
    });
  });

  test('3 attempts: RETRY on spot reclaim and image pull failures, EXIT on anything else, in that order', () => {
    expect(properties.RetryStrategy).toEqual({
      Attempts: 3,
      EvaluateOnExit: [
        { Action: 'RETRY', OnStatusReason: 'Host EC2*' },
        { Action: 'RETRY', OnReason: 'CannotPullContainerError*' },
        { Action: 'EXIT', OnReason: '*' },
      ],
    });
  });

  test('each attempt stops after 8 hours', () => {
    expect(properties.Timeout).toEqual({ AttemptDurationSeconds: 8 * 3600 });
    expect(job.attemptTimeout.toHours()).toBe(8);
  });

  test('a job role and an execution role, both assumed by ECS tasks; tags reach the tasks', () => {
    expect(container.JobRoleArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^TrainJobRole/), 'Arn'] });
    expect(container.ExecutionRoleArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^TrainExecutionRole/), 'Arn'] });
    const roles = Object.values(Template.fromStack(stack).findResources('AWS::IAM::Role'));
    expect(roles.map((r: any) => r.Properties.AssumeRolePolicyDocument.Statement)).toEqual([
      [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' } }],
      [{ Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' } }],
    ]);
    expect(properties.PropagateTags).toBe(true);
  });

  test('without reads or writes the job role has no permission at all', () => {
    expect(statementsOf(stack, job.jobRole)).toEqual([]);
    expect(job.grantPrincipal).toBe(job.jobRole);
  });

  test('the execution role may only write this log group', () => {
    expect(statementsOf(stack, job.executionRole)).toEqual([
      { Action: ['logs:CreateLogStream', 'logs:PutLogEvents'], Effect: 'Allow', Resource: { 'Fn::GetAtt': [expect.stringMatching(/^TrainLogs/), 'Arn'] } },
    ]);
  });

  test('a generated, concrete name that Batch accepts; the ARN is the registered revision', () => {
    expect(job.jobDefinitionName).toMatch(/^Test-Train-[A-F0-9]{8}$/);
    expect(properties.JobDefinitionName).toBe(job.jobDefinitionName);
    expect(stack.resolve(job.jobDefinitionArn)).toEqual({ Ref: expect.stringMatching(/^Train/) });
    expect(job.jobDefinition.jobDefinitionArn).toBe(job.jobDefinitionArn);
  });

  test('no environment of its own: the workflow passes the contract per run', () => {
    expect(container.Environment).toEqual([]);
    expect(job.shards).toBe(1);
  });
});

describe('MlJobDefinition options', () => {
  test('sizes, shared memory, timeout, retries, command, environment, log retention and name', () => {
    const stack = newStack();
    const job = training(stack, {
      vcpus: 16,
      memory: Size.gibibytes(64),
      gpus: 4,
      sharedMemory: Size.gibibytes(16),
      attemptTimeout: Duration.hours(24),
      retryPolicy: RetryPolicy.spotAware({ attempts: 6, extraRetryOn: [{ onStatusReason: 'ResourceInitializationError*' }] }),
      command: ['python', 'train.py'],
      environment: { NCCL_DEBUG: 'INFO' },
      logRetention: logs.RetentionDays.THREE_MONTHS,
      jobDefinitionName: 'fraud-train_v2',
    });
    const properties = jobDefinitionOf(stack);
    expect(resources(properties)).toEqual({ VCPU: '16', MEMORY: '65536', GPU: '4' });
    expect(properties.ContainerProperties).toMatchObject({
      LinuxParameters: { InitProcessEnabled: true, SharedMemorySize: 16384 },
      Command: ['python', 'train.py'],
      Environment: [{ Name: 'NCCL_DEBUG', Value: 'INFO' }],
    });
    expect(properties.Timeout).toEqual({ AttemptDurationSeconds: 86400 });
    expect(properties.RetryStrategy.Attempts).toBe(6);
    expect(properties.RetryStrategy.EvaluateOnExit[2]).toEqual({ Action: 'RETRY', OnStatusReason: 'ResourceInitializationError*' });
    expect(properties.RetryStrategy.EvaluateOnExit[3]).toEqual({ Action: 'EXIT', OnReason: '*' });
    expect(properties.JobDefinitionName).toBe('fraud-train_v2');
    expect(job.jobDefinitionName).toBe('fraud-train_v2');
    Template.fromStack(stack).hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  test('RetryPolicy.none(): one attempt', () => {
    const stack = newStack();
    training(stack, { retryPolicy: RetryPolicy.none() });
    expect(jobDefinitionOf(stack).RetryStrategy).toEqual({ Attempts: 1, EvaluateOnExit: [{ Action: 'EXIT', OnReason: '*' }] });
  });

  test('training on an EC2 CPU queue asks for no GPU', () => {
    const stack = newStack();
    const job = training(stack, {}, CPU_CAPACITY);
    expect(resources(jobDefinitionOf(stack))).toEqual({ VCPU: '4', MEMORY: '15360' });
    expect(job.gpus).toBe(0);
  });

  test('evaluation on an EC2 GPU queue asks for no GPU by default, 1 hour per attempt', () => {
    const stack = newStack();
    evaluation(stack, {}, GPU_CAPACITY);
    const properties = jobDefinitionOf(stack);
    expect(resources(properties)).toEqual({ VCPU: '1', MEMORY: '2048' });
    expect(properties.ContainerProperties.LinuxParameters.SharedMemorySize).toBe(1024);
    expect(properties.Timeout).toEqual({ AttemptDurationSeconds: 3600 });
  });

  test('memory up to 95% of the largest instance is accepted on EC2', () => {
    const stack = newStack();
    training(stack, { memory: Size.mebibytes(Math.floor(64 * 1024 * 0.95)) }, CPU_CAPACITY);
    expect(resources(jobDefinitionOf(stack)).MEMORY).toBe('62259');
  });

  test('an ECR image: the execution role (not the job role) gets the pull on that repository', () => {
    const stack = newStack();
    const images = new ModelImageRepository(stack, 'Images');
    const job = training(stack, { image: ecs.ContainerImage.fromEcrRepository(images.repository, 'v42') });
    const statements = statementsOf(stack, job.executionRole);
    expect(statements).toContainEqual({
      Action: ['ecr:BatchCheckLayerAvailability', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchGetImage'],
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Images/), 'Arn'] },
    });
    expect(statements).toContainEqual({ Action: 'ecr:GetAuthorizationToken', Effect: 'Allow', Resource: '*' });
    expect(JSON.stringify(statementsOf(stack, job.jobRole))).not.toContain('ecr:');
    expect(JSON.stringify(jobDefinitionOf(stack).ContainerProperties.Image)).toContain(':v42');
  });
});

describe('MlJobDefinition on Fargate', () => {
  test('evaluation defaults: 1 vCPU, 2 GiB, no GPU, no shared memory, LATEST platform, no public IP', () => {
    const stack = newStack();
    const job = evaluation(stack);
    const properties = jobDefinitionOf(stack);
    const container = properties.ContainerProperties;
    expect(properties.PlatformCapabilities).toEqual(['FARGATE']);
    expect(resources(properties)).toEqual({ VCPU: '1', MEMORY: '2048' });
    expect(container.LinuxParameters).toEqual({ InitProcessEnabled: true });
    expect(container.FargatePlatformConfiguration).toEqual({ PlatformVersion: 'LATEST' });
    expect(container.NetworkConfiguration).toEqual({ AssignPublicIp: 'DISABLED' });
    expect(container.RuntimePlatform).toEqual({ CpuArchitecture: 'X86_64' });
    expect(container.LogConfiguration.Options['awslogs-stream-prefix']).toBe('evaluation');
    expect(properties.Timeout).toEqual({ AttemptDurationSeconds: 3600 });
    expect([job.kind, job.gpus, job.sharedMemory]).toEqual([JobKind.EVALUATION, 0, undefined]);
  });

  test('a public IP on a queue whose subnets have no NAT (AWS Batch requires it there to pull the image)', () => {
    const stack = newStack();
    evaluation(stack, {}, { ...FARGATE_CAPACITY, assignPublicIp: true });
    expect(jobDefinitionOf(stack).ContainerProperties.NetworkConfiguration).toEqual({ AssignPublicIp: 'ENABLED' });
  });

  test('training on Fargate: CPU only, on Graviton when the queue is arm64', () => {
    const stack = newStack();
    training(stack, {}, { ...FARGATE_CAPACITY, architecture: ec2.InstanceArchitecture.ARM_64 });
    const properties = jobDefinitionOf(stack);
    expect(resources(properties)).toEqual({ VCPU: '4', MEMORY: '15360' });
    expect(properties.ContainerProperties.RuntimePlatform).toEqual({ CpuArchitecture: 'ARM64' });
  });

  test.each([
    [0.25, 0.5], [0.25, 2], [0.5, 1], [0.5, 4], [1, 2], [1, 8], [2, 4], [2, 16],
    [4, 8], [4, 30], [8, 16], [8, 60], [16, 32], [16, 120],
  ])('accepts %p vCPU with %p GiB', (vcpus, gib) => {
    const stack = newStack();
    evaluation(stack, { vcpus, memory: Size.mebibytes(gib * 1024) });
    expect(resources(jobDefinitionOf(stack))).toEqual({ VCPU: `${vcpus}`, MEMORY: `${gib * 1024}` });
  });
});

describe('MlJobDefinition evaluation shards', () => {
  test('the shard count is the array size, and the containers get it as MLOPS_SHARD_COUNT', () => {
    const stack = newStack();
    const job = evaluation(stack, { shards: 64, environment: { LOG_LEVEL: 'debug' } });
    expect(job.shards).toBe(64);
    expect(jobDefinitionOf(stack).ContainerProperties.Environment).toEqual([
      { Name: 'LOG_LEVEL', Value: 'debug' },
      { Name: ContainerContract.SHARD_COUNT, Value: '64' },
    ]);
  });

  test.each([1, 10000])('accepts %p shards', (shards) => {
    expect(evaluation(newStack(), { shards }).shards).toBe(shards);
  });
});

describe('MlJobDefinition bucket access', () => {
  const stack = newStack();
  const data = new VersionedBucket(stack, 'Data');
  const models = new VersionedBucket(stack, 'Models', { purpose: BucketPurpose.MODELS });
  const job = training(stack, {
    reads: [{ bucket: data, prefix: 'datasets/fraud/' }],
    writes: [{ bucket: models, prefix: 'runs/' }],
  });
  const statements = statementsOf(stack, job.jobRole);
  const objectResources = statements
    .filter((s) => asList(s.Action).some((a: string) => a.startsWith('s3:') && a.includes('Object')))
    .flatMap((s) => asList(s.Resource));

  test('reads: get and list under the prefix only, and decrypt with the data key', () => {
    expect(statements).toContainEqual({
      Action: ['s3:GetObject', 's3:GetObjectVersion', 's3:GetObjectTagging', 's3:GetObjectVersionTagging'],
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Data/), 'Arn'] }, '/datasets/fraud/*']] },
    });
    expect(statements).toContainEqual(expect.objectContaining({
      Action: ['s3:ListBucket', 's3:ListBucketVersions', 's3:GetBucketLocation'],
      Condition: { StringLike: { 's3:prefix': ['datasets/fraud/*'] } },
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^Data/), 'Arn'] },
    }));
    // The stack's one key, through S3 only.
    expect(statements).toContainEqual({
      Action: 'kms:Decrypt',
      Condition: VIA_S3,
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] },
    });
  });

  test('writes: put under the prefix only, and encrypt with the models key', () => {
    expect(statements).toContainEqual({
      Action: ['s3:PutObject', 's3:PutObjectTagging', 's3:AbortMultipartUpload', 's3:DeleteObject'],
      Effect: 'Allow',
      Resource: { 'Fn::Join': ['', [{ 'Fn::GetAtt': [expect.stringMatching(/^Models/), 'Arn'] }, '/runs/*']] },
    });
    expect(statements).toContainEqual({
      Action: ['kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Decrypt'],
      Condition: VIA_S3,
      Effect: 'Allow',
      Resource: { 'Fn::GetAtt': [expect.stringMatching(/^MlOpsKeysKey/), 'Arn'] },
    });
  });

  test('nothing broader: every object permission names one of the two prefixes, the data is never written', () => {
    expect(objectResources.map((r) => r['Fn::Join'][1][1]).sort()).toEqual(['/datasets/fraud/*', '/runs/*', '/runs/*']);
    const json = JSON.stringify(statements);
    expect(json).not.toMatch(/s3:\*|DeleteObjectVersion|"\*"/);
    const writes = statements.filter((s) => asList(s.Action).includes('s3:PutObject'));
    expect(JSON.stringify(writes)).not.toContain('Data');
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
  });

  test('no unacknowledged finding in the five cdk-nag packs and the Control Tower rules', () => {
    expect(stackFindings((s) => {
      const d = new VersionedBucket(s, 'Data');
      const m = new VersionedBucket(s, 'Models', { purpose: BucketPurpose.MODELS });
      const c = new VersionedBucket(s, 'Checkpoints', { purpose: BucketPurpose.CHECKPOINTS });
      const images = new ModelImageRepository(s, 'Images');
      const train = MlJobDefinition.training(s, 'Train', {
        queue: fakeQueue(s, 'Gpu', GPU_CAPACITY, { onDemand: true }),
        image: ecs.ContainerImage.fromEcrRepository(images.repository, 'v1'),
        reads: [{ bucket: d, prefix: 'datasets/fraud/' }],
        writes: [{ bucket: m, prefix: 'runs/' }, { bucket: c, prefix: 'runs/' }],
      });
      const evaluate = MlJobDefinition.evaluation(s, 'Evaluate', {
        queue: fakeQueue(s, 'Fargate', FARGATE_CAPACITY),
        image: ecs.ContainerImage.fromRegistry(IMAGE),
        shards: 8,
        reads: [{ bucket: d }, { bucket: m, prefix: 'runs/' }],
        writes: [{ bucket: m, prefix: 'evaluations/' }],
      });
      // The workflow's role: its inline policy is the workflow's to acknowledge; the job definition wildcard is ours.
      const workflow = new iam.Role(s, 'Workflow', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
      train.grantSubmitJob(workflow);
      evaluate.grantSubmitJob(workflow);
      acknowledge(workflow.node.findChild('DefaultPolicy'), INLINE_ROLE_POLICY);
    }, { controlTower: true })).toEqual([]);
  });
});

describe('MlJobDefinition.grantSubmitJob', () => {
  test('SubmitJob on every revision of the job definition and on the queue and its on-demand queue', () => {
    const stack = newStack();
    const job = MlJobDefinition.training(stack, 'Train', {
      queue: fakeQueue(stack, 'Gpu', GPU_CAPACITY, { onDemand: true }),
      image: image(),
      jobDefinitionName: 'fraud-train',
    });
    const workflow = new iam.Role(stack, 'Workflow', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') });
    const grant = job.grantSubmitJob(workflow);
    expect(grant.success).toBe(true);
    const statements = statementsOf(stack, workflow);
    const arn = (resource: string) => ({
      'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':batch:', { Ref: 'AWS::Region' }, ':', { Ref: 'AWS::AccountId' }, `:${resource}`]],
    });
    expect(statements).toEqual([
      { Action: 'batch:SubmitJob', Effect: 'Allow', Resource: [arn('job-definition/fraud-train'), arn('job-definition/fraud-train:*')] },
      { Action: 'batch:SubmitJob', Effect: 'Allow', Resource: [arn('job-queue/gpu'), arn('job-queue/gpu-on-demand')] },
    ]);
  });

  test('a grantee without a policy of its own (an account) still gets a grant', () => {
    const stack = newStack();
    const job = training(stack);
    const grant = job.grantSubmitJob(new iam.AccountPrincipal('111122223333'));
    expect(grant.success).toBe(false);
  });
});

describe('ContainerContract', () => {
  test('the names of the contract', () => {
    expect([
      ContainerContract.DATA_URI, ContainerContract.DATA_VERSION, ContainerContract.OUTPUT_URI, ContainerContract.CHECKPOINT_URI,
      ContainerContract.CANDIDATE, ContainerContract.HYPERPARAMETERS, ContainerContract.CODE_VERSION, ContainerContract.MODEL_URI,
      ContainerContract.SHARD_COUNT, ContainerContract.AWS_BATCH_JOB_ATTEMPT, ContainerContract.AWS_BATCH_JOB_ARRAY_INDEX,
    ]).toEqual([
      'MLOPS_DATA_URI', 'MLOPS_DATA_VERSION', 'MLOPS_OUTPUT_URI', 'MLOPS_CHECKPOINT_URI', 'MLOPS_CANDIDATE', 'MLOPS_HYPERPARAMETERS',
      'MLOPS_CODE_VERSION', 'MLOPS_MODEL_URI', 'MLOPS_SHARD_COUNT', 'AWS_BATCH_JOB_ATTEMPT', 'AWS_BATCH_JOB_ARRAY_INDEX',
    ]);
    expect([ContainerContract.MODEL_FILE, ContainerContract.METRICS_FILE, ContainerContract.shardMetricsFile(3)])
      .toEqual(['model.tar.gz', 'metrics.json', 'metrics-3.json']);
  });

  test('the training environment: hyperparameters as one JSON object with sorted keys', () => {
    expect(ContainerContract.trainingEnvironment({
      dataUri: 's3://data/datasets/fraud/',
      dataVersion: 's3://data/manifests/42.json',
      outputUri: 's3://models/runs/42/xgb/',
      checkpointUri: 's3://checkpoints/runs/42/xgb/',
      candidate: 'xgb',
      hyperparameters: { maxDepth: 8, eta: 0.1, layers: [{ b: 1, a: 2 }] },
      codeVersion: '3f2c1ab',
    })).toEqual({
      MLOPS_DATA_URI: 's3://data/datasets/fraud/',
      MLOPS_DATA_VERSION: 's3://data/manifests/42.json',
      MLOPS_OUTPUT_URI: 's3://models/runs/42/xgb/',
      MLOPS_CHECKPOINT_URI: 's3://checkpoints/runs/42/xgb/',
      MLOPS_CANDIDATE: 'xgb',
      MLOPS_HYPERPARAMETERS: '{"eta":0.1,"layers":[{"a":2,"b":1}],"maxDepth":8}',
      MLOPS_CODE_VERSION: '3f2c1ab',
    });
  });

  test('optional values left unset are omitted; no hyperparameters is an empty object', () => {
    expect(ContainerContract.trainingEnvironment({
      dataUri: 's3://d/', outputUri: 's3://o/', checkpointUri: 's3://c/', candidate: 'a',
    })).toEqual({ MLOPS_DATA_URI: 's3://d/', MLOPS_OUTPUT_URI: 's3://o/', MLOPS_CHECKPOINT_URI: 's3://c/', MLOPS_CANDIDATE: 'a', MLOPS_HYPERPARAMETERS: '{}' });
  });

  test('the evaluation environment', () => {
    expect(ContainerContract.evaluationEnvironment({
      dataUri: 's3://data/holdout/', modelUri: 's3://models/runs/42/xgb/model.tar.gz', outputUri: 's3://models/evaluations/42/xgb/', candidate: 'xgb',
    })).toEqual({
      MLOPS_DATA_URI: 's3://data/holdout/',
      MLOPS_MODEL_URI: 's3://models/runs/42/xgb/model.tar.gz',
      MLOPS_OUTPUT_URI: 's3://models/evaluations/42/xgb/',
      MLOPS_CANDIDATE: 'xgb',
    });
  });
});

describe('ContainerContract fails when', () => {
  const run = { dataUri: 's3://d/', outputUri: 's3://o/', checkpointUri: 's3://c/', candidate: 'a' };
  test.each([
    ['dataUri', 'data/datasets/'],
    ['outputUri', 'https://models.s3.amazonaws.com/runs/'],
    ['checkpointUri', 'checkpoints/runs/'],
    ['dataManifestUri', 's3:/data/manifest.jsonl'],
  ])('a training %s is not an s3:// URI: %p', (prop, uri) => {
    expect(() => ContainerContract.trainingEnvironment({ ...run, [prop]: uri })).toThrow(
      `ContainerContract 'ContainerContract.trainingEnvironment': invalid ${prop} '${uri}'. Give an S3 URI, s3://<bucket>/<key or prefix>.`,
    );
  });

  test('an evaluation modelUri is not an s3:// URI', () => {
    expect(() => ContainerContract.evaluationEnvironment({ dataUri: 's3://d/', modelUri: 'model.tar.gz', outputUri: 's3://o/', candidate: 'a' }))
      .toThrow(/invalid modelUri 'model.tar.gz'. Give an S3 URI/);
  });

  test('a token (a JSONPath of the execution) is not checked', () => {
    expect(() => ContainerContract.trainingEnvironment({ ...run, dataUri: sfn.JsonPath.stringAt('$.dataUri') })).not.toThrow();
  });
});

describe('MlJobDefinition fails when', () => {
  const SMALL_GPU: QueueCapacity = { ...GPU_CAPACITY, maxJobVcpus: 4, maxJobMemoryMiB: 16384, maxJobGpus: 1 };

  test('a GPU job goes to a CPU-only queue', () => {
    expect(() => training(newStack(), { gpus: 1 }, CPU_CAPACITY)).toThrow(
      /MlJobDefinition 'Test\/Train': invalid gpus 1. the queue Test\/Queue has no GPU instances \(maxJobGpus 0\), so the job would never start/,
    );
  });

  test('it asks for more GPUs than the largest instance has', () => {
    expect(() => training(newStack(), { gpus: 8 })).toThrow(
      /invalid gpus 8. The largest instance of the queue Test\/Queue has 4 GPUs, so the job would never start: ask for at most 4/,
    );
  });

  test('it asks for more vCPUs than the largest instance has', () => {
    expect(() => training(newStack(), { vcpus: 64, memory: Size.gibibytes(64) })).toThrow(
      /invalid vcpus 64. The largest instance of the queue Test\/Queue has 48 vCPUs/,
    );
  });

  test('it asks for more vCPUs than the compute environment may run (maxvCpus)', () => {
    expect(() => training(newStack(), { vcpus: 32 }, { ...GPU_CAPACITY, maxvCpus: 16 })).toThrow(
      /invalid vcpus 32. The compute environment of the queue Test\/Queue may run 16 vCPUs in all \(maxvCpus\)/,
    );
  });

  test('it asks for more than 95% of the largest instance\'s memory on EC2', () => {
    expect(() => training(newStack(), { memory: Size.gibibytes(64) }, CPU_CAPACITY)).toThrow(
      /invalid memory '65536 MiB'. The largest instance of the queue Test\/Queue has 65536 MiB.*ask for at most 62259 MiB \(95%\)/,
    );
  });

  test('the default training size does not fit the queue (16 GiB on 16 GiB instances)', () => {
    expect(() => training(newStack(), { memory: Size.gibibytes(16) }, SMALL_GPU)).toThrow(/invalid memory '16384 MiB'.*ask for at most 15564 MiB/);
    // The default training job (4 vCPUs, 15 GiB, 1 GPU) fits a 16 GiB xlarge.
    expect(() => training(newStack(), {}, SMALL_GPU)).not.toThrow();
  });

  test('it asks for more memory than Fargate gives one job', () => {
    expect(() => evaluation(newStack(), { vcpus: 16, memory: Size.gibibytes(120) }, { ...FARGATE_CAPACITY, maxJobMemoryMiB: 65536 }))
      .toThrow(/invalid memory '122880 MiB'. A job on the queue Test\/Queue can get at most 65536 MiB/);
  });

  test('it sets shared memory on Fargate', () => {
    expect(() => evaluation(newStack(), { sharedMemory: Size.gibibytes(1) })).toThrow(
      /invalid sharedMemory '1024 MiB'. Fargate does not let a job size \/dev\/shm/,
    );
  });

  test.each([15, 32])('shared memory is %p GiB of a 15 GiB job', (gib) => {
    expect(() => training(newStack(), { sharedMemory: Size.gibibytes(gib) })).toThrow(
      new RegExp(`invalid sharedMemory '${gib * 1024} MiB'. /dev/shm is counted against the job's memory \\(15360 MiB\\)`),
    );
  });

  test('shared memory is not whole MiB', () => {
    expect(() => training(newStack(), { sharedMemory: Size.kibibytes(1536) })).toThrow(/invalid sharedMemory '1.5 MiB'. Give whole MiB/);
  });

  test.each([
    ['30 seconds', Duration.seconds(30), '30 seconds'],
    ['0', Duration.seconds(0), '0 seconds'],
    ['not whole seconds', Duration.millis(90500), '90.5 seconds'],
  ])('the attempt timeout is %s', (_name, attemptTimeout, shown) => {
    expect(() => training(newStack(), { attemptTimeout })).toThrow(
      new RegExp(`invalid attemptTimeout '${shown}'. Batch stops attempts after whole seconds, at least 60`),
    );
  });

  test('a training job asks for GPUs on Fargate', () => {
    expect(() => training(newStack(), { gpus: 1 }, FARGATE_CAPACITY)).toThrow(
      /invalid gpus 1. Fargate has no GPUs and the queue Test\/Queue is a Fargate queue/,
    );
  });

  test.each([1.5, -1])('gpus is %p', (gpus) => {
    expect(() => training(newStack(), { gpus })).toThrow(new RegExp(`invalid gpus ${gpus}. Give a whole number of GPUs, 0 or more`));
  });

  test.each([2.5, 0, -1])('vcpus is %p on EC2', (vcpus) => {
    expect(() => training(newStack(), { vcpus })).toThrow(new RegExp(`invalid vcpus ${vcpus}. Jobs on EC2 take whole vCPUs, at least 1`));
  });

  test.each([
    ['a fraction of a MiB', Size.kibibytes(2048 * 1024 + 512), '2048.5 MiB'],
    ['less than 4 MiB', Size.mebibytes(2), '2 MiB'],
  ])('memory is %s', (_name, memory, shown) => {
    expect(() => training(newStack(), { memory, sharedMemory: Size.mebibytes(1) }, CPU_CAPACITY)).toThrow(
      new RegExp(`invalid memory '${shown}'. Batch takes whole MiB, at least 4`),
    );
  });

  test.each([3, 0.75, 32])('Fargate does not run %p vCPUs', (vcpus) => {
    expect(() => evaluation(newStack(), { vcpus })).toThrow(
      new RegExp(`invalid vcpus ${vcpus}. Fargate runs jobs with 0.25, 0.5, 1, 2, 4, 8, 16 vCPUs`),
    );
  });

  test.each([
    [0.25, 4, '0.5 GiB, 1 GiB, 2 GiB'],
    [0.5, 1.5, '1-4 GiB in 1 GiB steps'],
    [1, 1, '2-8 GiB in 1 GiB steps'],
    [4, 31, '8-30 GiB in 1 GiB steps'],
    [8, 18, '16-60 GiB in 4 GiB steps'],
    [16, 28, '32-120 GiB in 8 GiB steps'],
    [16, 124, '32-120 GiB in 8 GiB steps'],
  ])('Fargate does not run %p vCPUs with %p GiB', (vcpus, gib, sizes) => {
    expect(() => evaluation(newStack(), { vcpus, memory: Size.mebibytes(gib * 1024) })).toThrow(
      new RegExp(`invalid memory '${gib * 1024} MiB'. Fargate runs ${vcpus} vCPUs with ${sizes}: pick one of them`),
    );
  });

  test.each([0, 10001, 2.5])('an evaluation has %p shards', (shards) => {
    expect(() => evaluation(newStack(), { shards })).toThrow(
      new RegExp(`MlJobDefinition 'Test/Evaluate': invalid shards ${shards}. Batch array jobs have up to 10000 children`),
    );
  });

  test('a training job has more than one shard', () => {
    expect(() => training(newStack(), { shards: 4 })).toThrow(/invalid shards 4. A training job is a single job/);
  });

  test('an environment variable starts with AWS_BATCH', () => {
    expect(() => training(newStack(), { environment: { AWS_BATCH_JOB_ATTEMPT: '1' } })).toThrow(
      /invalid environment 'AWS_BATCH_JOB_ATTEMPT'. Batch reserves the names that start with AWS_BATCH/,
    );
  });

  test.each(['my job', 'a'.repeat(129), 'name:1'])('the name is %p', (jobDefinitionName) => {
    expect(() => training(newStack(), { jobDefinitionName })).toThrow(/invalid jobDefinitionName .*Use 1-128 letters, digits, "-" and "_"/);
  });

  test('the retry policy is invalid (checked with the job definition\'s path)', () => {
    expect(() => training(newStack(), { retryPolicy: RetryPolicy.spotAware({ attempts: 11 }) })).toThrow(
      /RetryPolicy 'Test\/Train': invalid attempts 11/,
    );
  });
});

describe('MlJobDefinition with an explicit kind', () => {
  test('new MlJobDefinition({ kind }) is the same as the factory', () => {
    const stack = newStack();
    const queue: IMlJobQueue = fakeQueue(stack, 'Queue', { ...CPU_CAPACITY, platform: ComputePlatform.EC2 });
    const job = new MlJobDefinition(stack, 'Evaluate', { kind: JobKind.EVALUATION, queue, image: image(), shards: 2 });
    expect(job.kind).toBe(JobKind.EVALUATION);
    expect(job.queue).toBe(queue);
    expect(jobDefinitionOf(stack).ContainerProperties.Environment).toEqual([{ Name: 'MLOPS_SHARD_COUNT', Value: '2' }]);
  });
});
