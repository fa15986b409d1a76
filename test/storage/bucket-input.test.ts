import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import {
  BatchNetwork, BucketPurpose, DataVersionSnapshot, DataVersionTrigger, DeploymentLedger, DriftMonitor, EndpointDeployment, MlJobDefinition,
  ModelEndpoint, ModelImageRepository, ModelPackageGroup, ModelQualityMonitor, ServingImageBuild, SpotGpuQueue, VersionedBucket,
} from '../../lib';
import { FEATURES, monitoredStack, PIPELINE_ARN } from '../monitoring/fixture';
import { complianceFindings } from '../support/compliance';
import { stateMachineDefinition } from '../support/state-machine';
import { workflowStack } from '../workflow/fixture';

const KEY_ARN = 'arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555';
const BUCKET = 'team-owned-data';

/** A bucket the platform team already has, imported with its key, as aws-cdk-lib imports it. */
function imported(stack: Stack, id = 'Imported'): s3.IBucket {
  return s3.Bucket.fromBucketAttributes(stack, id, { bucketName: BUCKET, encryptionKey: kms.Key.fromKeyArn(stack, `${id}Key`, KEY_ARN) });
}

function statements(stack: Stack): any[] {
  const policies = Template.fromStack(stack).findResources('AWS::IAM::Policy');
  return Object.values(policies).flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}

const actionsOf = (s: any): string[] => [s.Action].flat();

/** The grants reach the imported bucket's objects and its key (through S3 only). */
function expectGrantsOnImported(stack: Stack, keyActions: string[]) {
  const all = statements(stack);
  const onObjects = all.filter((s) => JSON.stringify(s.Resource).includes(`:s3:::${BUCKET}/`));
  expect(onObjects.length).toBeGreaterThan(0);
  const onKey = all.filter((s) => JSON.stringify(s.Resource) === JSON.stringify(KEY_ARN));
  expect(onKey.flatMap(actionsOf)).toEqual(expect.arrayContaining(keyActions));
  for (const s of onKey) expect(JSON.stringify(s.Condition)).toContain('kms:ViaService');
}

describe('every bucket input takes an existing s3.IBucket with its key', () => {
  test('MlJobDefinition reads and writes', () => {
    const stack = new Stack(new App(), 'Test');
    const queue = new SpotGpuQueue(stack, 'Gpus', { network: new BatchNetwork(stack, 'Network') });
    const bucket = imported(stack);
    MlJobDefinition.training(stack, 'Train', {
      queue,
      image: ecs.ContainerImage.fromRegistry('public.ecr.aws/example/trainer:1.0'),
      reads: [{ bucket, prefix: 'datasets/' }],
      writes: [{ bucket, prefix: 'runs/' }],
    });
    expectGrantsOnImported(stack, ['kms:Decrypt', 'kms:GenerateDataKey*']);
  });

  test.each(['dataBucket', 'modelBucket', 'checkpointBucket'] as const)('TrainingWorkflow %s', (prop) => {
    const app = new App();
    // The bucket lives in another stack of the app: imported by name, it makes no cross-stack reference.
    const bucket = imported(new Stack(app, 'Platform'));
    const { stack } = workflowStack({ [prop]: bucket }, app);
    expectGrantsOnImported(stack, ['kms:Decrypt']);
  });

  test.each(['modelBucket', 'dataBucket'] as const)('DriftMonitor %s', (prop) => {
    const m = monitoredStack();
    new DriftMonitor(m.stack, 'Drift', {
      endpoint: m.endpoint,
      modelPackageGroup: m.registry,
      modelBucket: m.models,
      dataBucket: m.data,
      features: FEATURES,
      [prop]: imported(m.stack),
    });
    expectGrantsOnImported(m.stack, ['kms:Decrypt']);
  });

  test('DriftMonitor and ModelQualityMonitor captureBucket', () => {
    const m = monitoredStack();
    const captureBucket = imported(m.stack);
    new DriftMonitor(m.stack, 'Drift', {
      endpoint: m.endpoint, modelPackageGroup: m.registry, modelBucket: m.models, dataBucket: m.data, features: FEATURES, captureBucket,
    });
    new ModelQualityMonitor(m.stack, 'Quality', { endpoint: m.endpoint, captureBucket });
    expectGrantsOnImported(m.stack, ['kms:Decrypt']);
    const rules = Template.fromStack(m.stack).findResources('AWS::Events::Rule');
    expect(JSON.stringify(rules)).toContain(BUCKET);
  });

  test('DataVersionTrigger bucket', () => {
    const stack = new Stack(new App(), 'Test');
    new DataVersionTrigger(stack, 'OnNewData', {
      bucket: imported(stack), prefix: 'datasets/fraud/', pipeline: codepipeline.Pipeline.fromPipelineArn(stack, 'Pipeline', PIPELINE_ARN),
    });
    const rule = Object.values(Template.fromStack(stack).findResources('AWS::Events::Rule'))[0] as any;
    expect(rule.Properties.EventPattern.detail.bucket.name).toEqual([BUCKET]);
  });

  test('DeploymentLedger bucket', () => {
    const m = monitoredStack();
    const ledger = new DeploymentLedger(m.stack, 'Ledger', { endpoints: [m.endpoint], bucket: imported(m.stack) });
    expect(ledger.bucket.bucketName).toBe(BUCKET);
    expect(ledger.bucket.encryptionKey?.keyArn).toBe(KEY_ARN);
    expectGrantsOnImported(m.stack, ['kms:Decrypt', 'kms:GenerateDataKey*']);
  });

  test('DataVersionSnapshot bucket', () => {
    const stack = new Stack(new App(), 'Test');
    new DataVersionSnapshot(stack, 'Snapshot', { bucket: imported(stack), dataPrefix: 'datasets/' });
    expectGrantsOnImported(stack, ['kms:Decrypt', 'kms:GenerateDataKey*']);
  });

  test('ServingImageBuild modelBucket', () => {
    const stack = new Stack(new App(), 'Test');
    new ServingImageBuild(stack, 'Build', {
      repository: new ModelImageRepository(stack, 'Images'), modelPackageGroup: new ModelPackageGroup(stack, 'Models'), modelBucket: imported(stack),
    });
    expectGrantsOnImported(stack, ['kms:Decrypt']);
  });

  test('ModelEndpoint dataCaptureBucket and asyncInference.outputBucket: SageMaker is given the key', () => {
    const stack = new Stack(new App(), 'Test');
    const bucket = imported(stack);
    const endpoint = new ModelEndpoint(stack, 'Endpoint', {
      imageRepository: new ModelImageRepository(stack, 'Images'), dataCaptureBucket: bucket, asyncInference: { outputBucket: bucket },
    });
    new EndpointDeployment(stack, 'Deploy', { endpoint });
    expectGrantsOnImported(stack, ['kms:GenerateDataKey*']);
    const config = stack.resolve(stateMachineDefinition(stack, 'Deploy').States['Create the endpoint config'].Parameters);
    expect(config.DataCaptureConfig.KmsKeyId).toBe(KEY_ARN);
    expect(config.AsyncInferenceConfig.OutputConfig.KmsKeyId).toBe(KEY_ARN);
    expect(JSON.stringify(config.DataCaptureConfig.DestinationS3Uri)).toContain(`s3://${BUCKET}/`);
    expect(JSON.stringify(config.AsyncInferenceConfig.OutputConfig.S3OutputPath)).toContain(`s3://${BUCKET}/`);
  });

  test('a CfnBucket made in the app is taken too (no key known: SSE-S3 or granted apart)', () => {
    const stack = new Stack(new App(), 'Test');
    const cfn = new s3.CfnBucket(stack, 'Raw', { versioningConfiguration: { status: 'Enabled' } });
    new DataVersionSnapshot(stack, 'Snapshot', { bucket: cfn, dataPrefix: 'datasets/' });
    const onObjects = statements(stack).filter((s) => JSON.stringify(s.Resource).includes('"Raw'));
    expect(onObjects.length).toBeGreaterThan(0);
  });

  test('a VersionedBucket is returned as it is, an s3.Bucket is wrapped with its key', () => {
    const stack = new Stack(new App(), 'Test');
    const mine = new VersionedBucket(stack, 'Mine', { purpose: BucketPurpose.DATA });
    expect(VersionedBucket.fromBucket(stack, 'Same', mine)).toBe(mine);
    const plain = new s3.Bucket(stack, 'Plain', { encryption: s3.BucketEncryption.KMS, versioned: true });
    const wrapped = VersionedBucket.fromBucket(stack, 'Wrapped', plain);
    expect(wrapped.bucket).toBe(plain);
    expect(wrapped.encryptionKey?.keyArn).toBe(plain.encryptionKey!.keyArn);
    expect(stack.resolve(wrapped.bucketRef.bucketName)).toEqual({ Ref: stack.getLogicalId(plain.node.defaultChild as s3.CfnBucket) });
  });
});

describe('the five cdk-nag packs', () => {
  test('no unacknowledged finding when the snapshot, a job and the training workflow use an imported bucket with its key', () => {
    expect(complianceFindings((app) => {
      // The platform team's stack holds the key; its bucket is imported by name with that key.
      const platform = new Stack(app, 'Platform');
      const key = new kms.Key(platform, 'TeamKey', { enableKeyRotation: true });
      const bucket = s3.Bucket.fromBucketAttributes(platform, 'TeamData', { bucketName: BUCKET, encryptionKey: key });
      const { stack } = workflowStack({ dataBucket: bucket, modelBucket: bucket }, app);
      new DataVersionSnapshot(stack, 'TeamSnapshot', { bucket, dataPrefix: 'datasets/' });
    })).toEqual([]);
  });
});

describe('fails when', () => {
  test.each<[string, (stack: Stack, bucket: s3.IBucketRef) => void, RegExp]>([
    ['DataVersionSnapshot', (stack, bucket) => new DataVersionSnapshot(stack, 'Snapshot', { bucket }),
      /DataVersionSnapshot 'Test\/Snapshot': invalid bucket 'the unversioned bucket Test\/Plain(\/Resource)?'\. A data version is a manifest of object versions.*turn versioning on/],
    ['DeploymentLedger', (stack, bucket) => {
      const endpoint = new ModelEndpoint(stack, 'Endpoint', { imageRepository: new ModelImageRepository(stack, 'Images'), production: true });
      new DeploymentLedger(stack, 'Ledger', { endpoints: [endpoint], bucket });
    }, /DeploymentLedger 'Test\/Ledger': invalid bucket 'the unversioned bucket Test\/Plain(\/Resource)?'\. The ledger relies on versioning/],
  ])('%s is given an unversioned bucket of this app', (_name, build, message) => {
    for (const make of [
      (stack: Stack) => new s3.Bucket(stack, 'Plain'),
      (stack: Stack) => new s3.Bucket(stack, 'Plain', { versioned: false }),
      (stack: Stack) => new s3.CfnBucket(stack, 'Plain'),
    ]) {
      const stack = new Stack(new App(), 'Test');
      expect(() => build(stack, make(stack))).toThrow(message);
    }
  });

  test.each(['dataBucket', 'modelBucket', 'checkpointBucket'] as const)('TrainingWorkflow is given an unversioned %s of this app', (prop) => {
    const app = new App();
    const plain = new s3.Bucket(new Stack(app, 'Other'), 'Plain');
    expect(() => workflowStack({ [prop]: plain }, app)).toThrow(
      new RegExp(`TrainingWorkflow 'Test/Training': invalid ${prop} 'the unversioned bucket Other/Plain(/Resource)?'\\. .*without versioning.*turn versioning on`),
    );
  });

  test('an imported bucket is taken on trust: its versioning cannot be read at synth', () => {
    const stack = new Stack(new App(), 'Test');
    expect(() => new DataVersionSnapshot(stack, 'Snapshot', { bucket: imported(stack) })).not.toThrow();
  });
});
