import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, GetObjectCommandOutput, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, ListModelPackagesCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { forgetBaselines, monitorDrift } from '../../lambda/drift-monitor.lambda';
import { S3_OBJECT_CREATED } from '../fixtures/aws/eventbridge';
import { CAPTURE_RECORD_CSV } from '../fixtures/aws/sagemaker-data-capture';

const s3 = mockClient(S3Client);
const sagemaker = mockClient(SageMakerClient);
const cloudwatch = mockClient(CloudWatchClient);
const clients = { s3: new S3Client({}), sagemaker: new SageMakerClient({}), cloudwatch: new CloudWatchClient({}) };

const ENV = {
  CAPTURE_BUCKET: 'acme-capture',
  CAPTURE_PREFIX: 'data-capture/fraud-prod/',
  ENDPOINT_NAME: 'fraud-prod',
  FEATURES: JSON.stringify(['age', 'income']),
  MODEL_PACKAGE_GROUP: 'fraud',
  MODEL_BUCKET: 'acme-models',
  TRAINING_FILE: 'train.csv',
  MIN_INSTANCES: '50',
  BINS: '10',
  PER_FEATURE_METRICS: 'true',
};
const PACKAGE = 'arn:aws:sagemaker:us-east-1:123456789012:model-package/fraud/3';
const CAPTURE_KEY = 'data-capture/fraud-prod/AllTraffic/2026/12/03/10/12-00-01-abc.jsonl';
const BASELINE_KEY = 'baselines/fraud/3/baseline.json';

function serviceError(name: string, status: number): S3ServiceException {
  return new S3ServiceException({ name, message: name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

/** A fake S3: `bucket/key` (and `bucket/key?versionId`) -> text; anything else is NoSuchKey. */
function serve(objects: Record<string, string>) {
  s3.on(GetObjectCommand).callsFake((input) => {
    const text = objects[`${input.Bucket}/${input.Key}${input.VersionId ? `?${input.VersionId}` : ''}`] ?? objects[`${input.Bucket}/${input.Key}`];
    if (text === undefined) throw serviceError('NoSuchKey', 404);
    return { Body: { transformToString: async () => text }, $metadata: {} } as unknown as GetObjectCommandOutput;
  });
}

/** The documented S3 event for a key of the capture bucket. */
function created(key: string, bucket = 'acme-capture') {
  const e = S3_OBJECT_CREATED.value;
  return { ...e, detail: { ...e.detail, bucket: { name: bucket }, object: { ...e.detail.object, key } } };
}

/** A capture file of `n` documented records with JSON requests. */
function captureFile(n: number, instance: (i: number) => Record<string, unknown>): string {
  const r = CAPTURE_RECORD_CSV.value;
  return Array.from({ length: n }, (_, i) => JSON.stringify({
    ...r,
    captureData: { ...r.captureData, endpointInput: { observedContentType: 'application/json', mode: 'INPUT', data: JSON.stringify({ instances: [instance(i)] }), encoding: 'JSON' } },
    eventMetadata: { ...r.eventMetadata, eventId: `e-${i}` },
  })).join('\n');
}

const TRAINING = 'id,age,income,default\n' + Array.from({ length: 1000 }, (_, i) => `r${i},${20 + (i % 50)},${i},0`).join('\n') + '\n';
const MANIFEST = [
  { key: 'datasets/fraud/v1/train.csv', versionId: 'tv1', etag: 'x', size: 1 },
  { key: 'datasets/fraud/v1/evaluation.csv', versionId: 'ev1', etag: 'y', size: 1 },
].map((e) => JSON.stringify(e)).join('\n') + '\n';

beforeEach(() => {
  s3.reset();
  sagemaker.reset();
  cloudwatch.reset();
  forgetBaselines();
  sagemaker.on(ListModelPackagesCommand).resolves({
    ModelPackageSummaryList: [{ ModelPackageArn: PACKAGE, ModelPackageVersion: 3, ModelApprovalStatus: 'Approved', ModelPackageStatus: 'Completed', CreationTime: new Date() }],
  });
  sagemaker.on(DescribeModelPackageCommand).resolves({
    ModelPackageArn: PACKAGE, ModelPackageVersion: 3, CustomerMetadataProperties: { 'mlops:data-manifest': 's3://acme-data/data-versions/abc.jsonl' },
  });
  s3.on(PutObjectCommand).resolves({});
  cloudwatch.on(PutMetricDataCommand).resolves({});
});

describe('drift-monitor', () => {
  test('first capture file of a model: computes the baseline from the lineage\'s training file (by version), writes it once, publishes drift', async () => {
    serve({
      'acme-data/data-versions/abc.jsonl': MANIFEST,
      'acme-data/datasets/fraud/v1/train.csv?tv1': TRAINING,
      [`acme-capture/${CAPTURE_KEY}`]: captureFile(200, (i) => ({ age: 65 + (i % 5), income: (i * 5) % 1000 })),
    });
    const result = await monitorDrift(clients, created(CAPTURE_KEY), ENV);
    expect(result).toMatchObject({ published: true, modelPackageArn: PACKAGE, baselineCreated: true, report: { instances: 200, driftiestFeature: 'age' } });
    // The training file of the data version, read at its version; the evaluation file is not read.
    expect(s3).toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'acme-data', Key: 'datasets/fraud/v1/train.csv', VersionId: 'tv1' });
    expect(s3).not.toHaveReceivedCommandWith(GetObjectCommand, { Key: 'datasets/fraud/v1/evaluation.csv' });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'acme-models', Key: BASELINE_KEY, IfNoneMatch: '*' });
    const written = JSON.parse(s3.commandCalls(PutObjectCommand)[0].args[0].input.Body as string);
    expect(written).toMatchObject({ format: 'cdk-mlops-baseline/1', modelPackageArn: PACKAGE, rows: 1000 });
    expect(Object.keys(written.features)).toEqual(['age', 'income']);

    const data = cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input;
    expect(data.Namespace).toBe('cdk-mlops/Monitoring');
    const byName = Object.fromEntries(data.MetricData!.filter((d) => d.Dimensions!.length === 1).map((d) => [d.MetricName, d.Value]));
    expect(byName.CapturedInstances).toBe(200);
    expect(byName.MissingFeatureRate).toBe(0);
    expect(byName.DriftScore).toBeGreaterThan(0.25);
    expect(data.MetricData!.every((d) => d.Dimensions![0].Name === 'EndpointName' && d.Dimensions![0].Value === 'fraud-prod')).toBe(true);
    expect(data.MetricData!.filter((d) => d.MetricName === 'FeatureDrift').map((d) => d.Dimensions![1])).toEqual([
      { Name: 'Feature', Value: 'age' }, { Name: 'Feature', Value: 'income' },
    ]);
    expect(data.MetricData![0].Timestamp).toEqual(new Date(S3_OBJECT_CREATED.value.time));
  });

  test('a baseline already written is reused: no manifest read, no write; a concurrent first write is not an error', async () => {
    serve({
      'acme-data/data-versions/abc.jsonl': MANIFEST,
      'acme-data/datasets/fraud/v1/train.csv?tv1': TRAINING,
      [`acme-capture/${CAPTURE_KEY}`]: captureFile(60, (i) => ({ age: 20 + ((i * 7) % 50), income: (i * 16) % 1000 })),
    });
    s3.on(PutObjectCommand).rejects(Object.assign(new Error('At least one of the pre-conditions you specified did not hold'), { name: 'PreconditionFailed' }));
    const first = await monitorDrift(clients, created(CAPTURE_KEY), ENV);
    expect(first).toMatchObject({ published: true, baselineCreated: true });
    const written = s3.commandCalls(PutObjectCommand)[0].args[0].input.Body as string;

    forgetBaselines();
    s3.reset();
    serve({ [`acme-models/${BASELINE_KEY}`]: written, [`acme-capture/${CAPTURE_KEY}`]: captureFile(60, (i) => ({ age: 20 + ((i * 7) % 50), income: (i * 16) % 1000 })) });
    const second = await monitorDrift(clients, created(CAPTURE_KEY), ENV);
    expect(second).toMatchObject({ published: true, baselineCreated: false });
    expect((second as any).report.driftScore).toBeLessThan(0.25);
    expect(s3).not.toHaveReceivedCommandWith(GetObjectCommand, { Bucket: 'acme-data' });
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
  });

  test('a small file publishes its instance count and missing features, but no drift score', async () => {
    serve({
      'acme-data/data-versions/abc.jsonl': MANIFEST,
      'acme-data/datasets/fraud/v1/train.csv?tv1': TRAINING,
      [`acme-capture/${CAPTURE_KEY}`]: captureFile(4, (i) => (i % 2 ? { age: 30 } : { age: 30, income: 5 })),
    });
    await monitorDrift(clients, created(CAPTURE_KEY), ENV);
    const names = cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input.MetricData!.map((d) => [d.MetricName, d.Value]);
    expect(names).toEqual([['CapturedInstances', 4], ['MissingFeatureRate', 0.5]]);
  });

  test('events that are not capture files of this endpoint are dropped without a call', async () => {
    for (const event of [created('data-capture/other/AllTraffic/2026/12/03/10/x.jsonl'), created(CAPTURE_KEY, 'another-bucket'),
      created('data-capture/fraud-prod/AllTraffic/notes.txt'), { source: 'aws.events' }]) {
      expect(await monitorDrift(clients, event, ENV)).toMatchObject({ published: false });
    }
    expect(sagemaker.calls()).toHaveLength(0);
    expect(s3.calls()).toHaveLength(0);
    expect(cloudwatch.calls()).toHaveLength(0);
  });

  test('fails (to be retried, then dead-lettered) without an approved model or without lineage; and without its environment', async () => {
    serve({ [`acme-capture/${CAPTURE_KEY}`]: captureFile(1, () => ({ age: 1, income: 1 })) });
    sagemaker.on(ListModelPackagesCommand).resolves({ ModelPackageSummaryList: [] });
    await expect(monitorDrift(clients, created(CAPTURE_KEY), ENV)).rejects.toThrow(/no Approved model package/);
    sagemaker.on(ListModelPackagesCommand).resolves({
      ModelPackageSummaryList: [{ ModelPackageArn: PACKAGE, ModelPackageVersion: 3, ModelApprovalStatus: 'Approved', ModelPackageStatus: 'Completed', CreationTime: new Date() }],
    });
    sagemaker.on(DescribeModelPackageCommand).resolves({ ModelPackageArn: PACKAGE, ModelPackageVersion: 3, CustomerMetadataProperties: {} });
    await expect(monitorDrift(clients, created(CAPTURE_KEY), ENV)).rejects.toThrow(/no data manifest in its lineage \(mlops:data-manifest\)/);
    expect(cloudwatch.calls()).toHaveLength(0);
    await expect(monitorDrift(clients, created(CAPTURE_KEY), { ...ENV, FEATURES: '' })).rejects.toThrow(/FEATURES are not set/);
  });
});
