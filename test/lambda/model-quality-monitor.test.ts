import { CloudWatchClient, PutMetricDataCommand } from '@aws-sdk/client-cloudwatch';
import { GetObjectCommand, GetObjectCommandOutput, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { monitorQuality } from '../../lambda/model-quality-monitor.lambda';
import { S3_OBJECT_CREATED } from '../fixtures/aws/eventbridge';
import { CAPTURE_RECORD_CSV, GROUND_TRUTH_RECORD } from '../fixtures/aws/sagemaker-data-capture';

const s3 = mockClient(S3Client);
const cloudwatch = mockClient(CloudWatchClient);
const clients = { s3: new S3Client({}), cloudwatch: new CloudWatchClient({}) };
const ENV = { CAPTURE_BUCKET: 'acme-capture', CAPTURE_PREFIX: 'data-capture/fraud-prod/', LABELS_PREFIX: 'labels/fraud-prod/', ENDPOINT_NAME: 'fraud-prod' };
const LABELS_KEY = 'labels/fraud-prod/AllTraffic/2026/12/03/10/day-1.jsonl';

function created(key: string) {
  const e = S3_OBJECT_CREATED.value;
  return { ...e, detail: { ...e.detail, bucket: { name: 'acme-capture' }, object: { ...e.detail.object, key } } };
}

function captureLine(eventId: string, probability: number): string {
  const r = CAPTURE_RECORD_CSV.value;
  return JSON.stringify({
    ...r,
    captureData: {
      ...r.captureData,
      endpointOutput: {
        observedContentType: 'application/json',
        mode: 'OUTPUT',
        data: JSON.stringify({ predictions: [{ probability, label: probability >= 0.5 ? 1 : 0 }] }),
        encoding: 'JSON',
      },
    },
    eventMetadata: { ...r.eventMetadata, eventId },
  });
}

function labelLine(id: string, label: number): string {
  return JSON.stringify({ ...GROUND_TRUTH_RECORD.value, groundTruthData: { data: String(label), encoding: 'CSV' }, eventMetadata: { eventId: id } });
}

beforeEach(() => {
  s3.reset();
  cloudwatch.reset();
  cloudwatch.on(PutMetricDataCommand).resolves({});
});

describe('model-quality-monitor', () => {
  test('joins the labels with the captures of their hour and the next, and publishes accuracy and AUC', async () => {
    const objects: Record<string, string> = {
      [LABELS_KEY]: [labelLine('a', 1), labelLine('b', 0), labelLine('c', 1), labelLine('d', 0), labelLine('missing', 1)].join('\n'),
      'data-capture/fraud-prod/AllTraffic/2026/12/03/10/f1.jsonl': [captureLine('a', 0.9), captureLine('b', 0.6)].join('\n'),
      'data-capture/fraud-prod/AllTraffic/2026/12/03/11/f2.jsonl': [captureLine('c', 0.4), captureLine('d', 0.1)].join('\n'),
    };
    s3.on(ListObjectsV2Command).callsFake((input) => ({
      Contents: Object.keys(objects).filter((k) => k.startsWith(input.Prefix!)).map((Key) => ({ Key })),
    }));
    s3.on(GetObjectCommand).callsFake((input) =>
      ({ Body: { transformToString: async () => objects[input.Key!] } }) as unknown as GetObjectCommandOutput);

    const result = await monitorQuality(clients, created(LABELS_KEY), ENV);
    expect(result).toEqual({ published: true, key: LABELS_KEY, captureFiles: 2, report: { labels: 5, joined: 4, accuracy: 0.5, auc: 0.75 } });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: 'acme-capture', Prefix: 'data-capture/fraud-prod/AllTraffic/2026/12/03/10/' });
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: 'acme-capture', Prefix: 'data-capture/fraud-prod/AllTraffic/2026/12/03/11/' });
    const data = cloudwatch.commandCalls(PutMetricDataCommand)[0].args[0].input;
    expect(data.Namespace).toBe('cdk-mlops/Monitoring');
    expect(data.MetricData!.map((d) => [d.MetricName, d.Value])).toEqual([['LabelledPredictions', 4], ['Accuracy', 0.5], ['Auc', 0.75]]);
  });

  test('a labels file outside the hour layout, or outside the prefix, is dropped without a call', async () => {
    for (const key of ['labels/fraud-prod/loose.jsonl', 'labels/other/AllTraffic/2026/12/03/10/x.jsonl']) {
      expect(await monitorQuality(clients, created(key), ENV)).toMatchObject({ published: false });
    }
    expect(s3.calls()).toHaveLength(0);
    expect(cloudwatch.calls()).toHaveLength(0);
  });

  test('fails without its environment', async () => {
    await expect(monitorQuality(clients, created(LABELS_KEY), { ...ENV, LABELS_PREFIX: undefined })).rejects.toThrow(/LABELS_PREFIX are not set/);
  });
});
