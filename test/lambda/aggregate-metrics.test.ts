import { GetObjectCommand, GetObjectCommandInput, GetObjectCommandOutput, PutObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { aggregateMetrics, AggregateMetricsEvent, handler } from '../../lambda/aggregate-metrics.lambda';
import { parseMetricsFile } from '../../lambda/shared/metrics';

const s3 = mockClient(S3Client);

const EVENT: AggregateMetricsEvent = {
  candidate: 'xgb',
  trainingOutputUri: 's3://models/runs/42/xgb/',
  evaluationOutputUri: 's3://evaluations/runs/42/xgb/',
  shards: 3,
};

function serviceError(name: string, status: number, message = name): S3ServiceException {
  return new S3ServiceException({ name, message, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status } });
}

/** A GetObject response whose body reads as `text`, as the SDK's stream mixin would. */
function body(text: string): GetObjectCommandOutput {
  return { Body: { transformToString: async () => text }, $metadata: {} } as unknown as GetObjectCommandOutput;
}

/** Serves the objects of a fake bucket: `bucket/key` -> text; anything else is NoSuchKey. */
function serveObjects(objects: Record<string, string>): void {
  s3.on(GetObjectCommand).callsFake((input: GetObjectCommandInput) => {
    const text = objects[`${input.Bucket}/${input.Key}`];
    if (text === undefined) throw serviceError('NoSuchKey', 404, 'The specified key does not exist.');
    return body(text);
  });
}

const TRAINING = JSON.stringify({ metrics: { auc: 0.95, loss: 0.1 } });
const SHARDS = [
  { metrics: { auc: 0.9, loss: 0.2 }, slices: { 'region=eu': { auc: 0.88 } }, latencyMs: { p50: 3, p95: 10, p99: 20 }, count: 100 },
  { metrics: { auc: 0.8, loss: 0.4 }, slices: { 'region=eu': { auc: 0.78 }, 'region=us': { auc: 0.82 } }, latencyMs: { p50: 4, p95: 8 }, count: 300 },
  { metrics: { auc: 0.85, recall: 0.6 }, latencyMs: { p99: 25 }, count: 100 },
];

function standardObjects(): Record<string, string> {
  return {
    'models/runs/42/xgb/metrics.json': TRAINING,
    ...Object.fromEntries(SHARDS.map((shard, i) => [`evaluations/runs/42/xgb/metrics-${i}.json`, JSON.stringify(shard)])),
  };
}

beforeEach(() => {
  s3.reset();
  s3.on(PutObjectCommand).resolves({ ETag: '"aggregate"' });
});

test('reads exactly the training metrics and every shard, and returns the aggregate', async () => {
  // GIVEN
  serveObjects(standardObjects());

  // WHEN
  const result = await aggregateMetrics(new S3Client({}), EVENT);

  // THEN exactly these four objects were read
  const read = s3.commandCalls(GetObjectCommand).map((c) => `${c.args[0].input.Bucket}/${c.args[0].input.Key}`);
  expect(read.sort()).toEqual([
    'evaluations/runs/42/xgb/metrics-0.json',
    'evaluations/runs/42/xgb/metrics-1.json',
    'evaluations/runs/42/xgb/metrics-2.json',
    'models/runs/42/xgb/metrics.json',
  ]);
  // and the aggregate is weighted by count (100, 300, 100), latency the maximum
  expect(result.candidate).toBe('xgb');
  expect(result.trainingMetrics).toEqual({ auc: 0.95, loss: 0.1 });
  expect(result.shards).toBe(3);
  expect(result.metricsUri).toBe('s3://evaluations/runs/42/xgb/metrics.json');
  expect(result.metrics.auc).toBeCloseTo((0.9 * 100 + 0.8 * 300 + 0.85 * 100) / 500, 12);
  expect(result.metrics.loss).toBeCloseTo((0.2 * 100 + 0.4 * 300) / 400, 12);
  expect(result.metrics.recall).toBe(0.6);
  expect(result.slices['region=eu'].auc).toBeCloseTo((0.88 * 100 + 0.78 * 300) / 400, 12);
  expect(result.slices['region=us']).toEqual({ auc: 0.82 });
  expect(result.latencyMs).toEqual({ p50: 4, p95: 10, p99: 25 });
});

test('writes the aggregate to <evaluationOutputUri>metrics.json, and its body equals the returned aggregate', async () => {
  // GIVEN
  serveObjects(standardObjects());

  // WHEN
  const result = await aggregateMetrics(new S3Client({}), EVENT);

  // THEN
  expect(s3).toHaveReceivedCommandTimes(PutObjectCommand, 1);
  const put = s3.commandCalls(PutObjectCommand)[0].args[0].input;
  expect(put).toMatchObject({ Bucket: 'evaluations', Key: 'runs/42/xgb/metrics.json', ContentType: 'application/json' });
  expect(put.ServerSideEncryption).toBeUndefined();
  const { candidate, trainingMetrics, ...aggregate } = result;
  expect(JSON.parse(put.Body as string)).toEqual(aggregate);
  expect(Object.keys(aggregate).sort()).toEqual(['latencyMs', 'metrics', 'metricsUri', 'shards', 'slices']);
  // and the aggregate is itself a valid metrics file
  expect(parseMetricsFile(put.Body as string, result.metricsUri).metrics).toEqual(result.metrics);
});

test('gives the same result and writes the same bytes when run again', async () => {
  // GIVEN
  serveObjects(standardObjects());

  // WHEN
  const first = await aggregateMetrics(new S3Client({}), EVENT);
  const second = await aggregateMetrics(new S3Client({}), EVENT);

  // THEN
  expect(second).toEqual(first);
  const bodies = s3.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Body);
  expect(bodies).toHaveLength(2);
  expect(bodies[1]).toBe(bodies[0]);
});

test('reads one shard, metrics-0.json, when shards is 1', async () => {
  serveObjects({ 'models/t/metrics.json': TRAINING, 'models/e/metrics-0.json': '{"metrics": {"auc": 0.7}}' });

  const result = await aggregateMetrics(new S3Client({}), { ...EVENT, trainingOutputUri: 's3://models/t/', evaluationOutputUri: 's3://models/e/', shards: 1 });

  expect(result).toMatchObject({ metrics: { auc: 0.7 }, slices: {}, latencyMs: {}, shards: 1, metricsUri: 's3://models/e/metrics.json' });
  expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 2);
});

test('reads many shards, a few at a time', async () => {
  // GIVEN 40 shards and reads that take a while
  const objects: Record<string, string> = { 'models/t/metrics.json': TRAINING };
  for (let i = 0; i < 40; i++) objects[`models/e/metrics-${i}.json`] = JSON.stringify({ metrics: { auc: i }, count: 1 });
  let inFlight = 0;
  let mostInFlight = 0;
  s3.on(GetObjectCommand).callsFake(async (input: GetObjectCommandInput) => {
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 1));
    inFlight--;
    return body(objects[`${input.Bucket}/${input.Key}`]);
  });

  // WHEN
  const result = await aggregateMetrics(
    new S3Client({}),
    { ...EVENT, trainingOutputUri: 's3://models/t/', evaluationOutputUri: 's3://models/e/', shards: 40 },
    { concurrency: 5 },
  );

  // THEN
  expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 41);
  expect(mostInFlight).toBe(5);
  expect(result.metrics.auc).toBeCloseTo(19.5, 12);
  expect(result.shards).toBe(40);
});

test('fails with MetricsNotFound naming the URI and the shard when a shard wrote nothing, and writes nothing', async () => {
  // GIVEN shard 1 is missing
  const objects = standardObjects();
  delete objects['evaluations/runs/42/xgb/metrics-1.json'];
  serveObjects(objects);

  // WHEN
  const error = await aggregateMetrics(new S3Client({}), EVENT).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'MetricsNotFound' });
  expect((error as Error).message).toContain('s3://evaluations/runs/42/xgb/metrics-1.json does not exist');
  expect((error as Error).message).toContain("evaluation shard 1 of candidate 'xgb' wrote no metrics-1.json: check its logs");
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
});

test('reports the first missing shard when several are missing', async () => {
  // GIVEN shards 1 and 2 are missing
  const objects = standardObjects();
  delete objects['evaluations/runs/42/xgb/metrics-1.json'];
  delete objects['evaluations/runs/42/xgb/metrics-2.json'];
  serveObjects(objects);

  // WHEN
  const error = await aggregateMetrics(new S3Client({}), EVENT, { concurrency: 1 }).catch((e: Error) => e);

  // THEN the reads stopped at the first failure
  expect((error as Error).message).toContain('metrics-1.json does not exist');
  expect(s3).toHaveReceivedCommandTimes(GetObjectCommand, 3);
});

test('fails with MetricsNotFound naming the training job when it wrote no metrics.json', async () => {
  // GIVEN
  const objects = standardObjects();
  delete objects['models/runs/42/xgb/metrics.json'];
  serveObjects(objects);

  // WHEN
  const error = await aggregateMetrics(new S3Client({}), EVENT).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'MetricsNotFound' });
  expect((error as Error).message).toContain(
    "s3://models/runs/42/xgb/metrics.json does not exist: the training job of candidate 'xgb' wrote no metrics.json: check its logs",
  );
});

test('fails with MetricsNotFound naming the bucket when it does not exist', async () => {
  s3.on(GetObjectCommand).rejects(serviceError('NoSuchBucket', 404));

  const error = await aggregateMetrics(new S3Client({}), EVENT).catch((e: Error) => e);

  expect(error).toMatchObject({ name: 'MetricsNotFound' });
  expect((error as Error).message).toMatch(/s3:\/\/models\/runs\/42\/xgb\/metrics.json cannot be read: bucket 'models' does not exist/);
});

test('fails with MalformedMetrics naming the URI and the field when a shard is malformed', async () => {
  // GIVEN shard 2 wrote a string as its AUC
  serveObjects({ ...standardObjects(), 'evaluations/runs/42/xgb/metrics-2.json': '{"metrics": {"auc": "high"}}' });

  // WHEN
  const error = await aggregateMetrics(new S3Client({}), EVENT).catch((e: Error) => e);

  // THEN
  expect(error).toMatchObject({ name: 'MalformedMetrics' });
  expect((error as Error).message).toContain('s3://evaluations/runs/42/xgb/metrics-2.json is malformed: metrics.auc is "high", not a number');
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
});

test('fails with MalformedMetrics when an object has no body', async () => {
  s3.on(GetObjectCommand).resolves({});

  await expect(aggregateMetrics(new S3Client({}), EVENT)).rejects.toMatchObject({
    name: 'MalformedMetrics',
    message: expect.stringContaining('s3://models/runs/42/xgb/metrics.json is malformed: the file is empty'),
  });
});

test('passes on an error that is neither missing nor retryable', async () => {
  serveObjects(standardObjects());
  s3.on(GetObjectCommand).rejects(serviceError('AccessDenied', 403, 'no s3:GetObject'));

  await expect(aggregateMetrics(new S3Client({}), EVENT)).rejects.toMatchObject({ name: 'AccessDenied', message: 'no s3:GetObject' });
  expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
});

test('fails with InvalidAggregationRequest before reading anything', async () => {
  const error = await aggregateMetrics(new S3Client({}), { ...EVENT, evaluationOutputUri: 'evaluations/runs/42/', shards: 0 }).catch(
    (e: Error) => e,
  );

  expect(error).toMatchObject({ name: 'InvalidAggregationRequest' });
  expect((error as Error).message).toMatch(/"evaluationOutputUri" 'evaluations\/runs\/42\/' is not an S3 URI.*"shards" is 0/);
  expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
});

describe('handler', () => {
  test('aggregates with the module client', async () => {
    // GIVEN
    serveObjects(standardObjects());

    // WHEN
    const result = await handler(EVENT);

    // THEN
    expect(result).toMatchObject({ candidate: 'xgb', shards: 3, metricsUri: 's3://evaluations/runs/42/xgb/metrics.json' });
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, { Bucket: 'evaluations', Key: 'runs/42/xgb/metrics.json' });
  });

  test('refuses an event without a candidate', async () => {
    const error = await handler({ ...EVENT, candidate: '' }).catch((e: Error) => e);

    expect(error).toMatchObject({ name: 'InvalidAggregationRequest' });
    expect(s3).not.toHaveReceivedCommand(GetObjectCommand);
  });
});
