import {
  aggregateShards,
  MetricsError,
  parseAggregationRequest,
  parseMetricsFile,
  parseS3Prefix,
  s3Uri,
  shardMetricsFile,
} from '../../../lambda/shared/metrics';
import { MetricsFile } from '../../../lambda/shared/workflow-types';

const URI = 's3://models/runs/42/xgb/eval/metrics-3.json';

/** The error `call` throws; fails the test when it throws none. */
function errorOf(call: () => unknown): MetricsError {
  try {
    call();
  } catch (error) {
    return error as MetricsError;
  }
  throw new Error('expected an error, got none');
}

describe('parseMetricsFile', () => {
  test('accepts a complete file and returns only the known fields', () => {
    // GIVEN a file with every field and one this library does not know
    const text = JSON.stringify({
      metrics: { 'auc': 0.91, 'f1-score': 0.5 },
      slices: { 'region=eu': { auc: 0.9 }, 'region=us': { auc: 0.92 } },
      latencyMs: { p50: 3, p95: 9.5, p99: 0 },
      count: 1000,
      producedBy: 'eval.py',
    });

    // WHEN
    const file = parseMetricsFile(text, URI);

    // THEN
    expect(file).toEqual({
      metrics: { 'auc': 0.91, 'f1-score': 0.5 },
      slices: { 'region=eu': { auc: 0.9 }, 'region=us': { auc: 0.92 } },
      latencyMs: { p50: 3, p95: 9.5, p99: 0 },
      count: 1000,
    });
  });

  test('accepts a file with metrics only, and treats null optional fields as absent', () => {
    expect(parseMetricsFile('{"metrics": {"loss": -1.5e-3}}', URI)).toEqual({ metrics: { loss: -1.5e-3 } });
    expect(parseMetricsFile('{"metrics": {"loss": 1}, "slices": null, "latencyMs": null, "count": null}', URI)).toEqual({ metrics: { loss: 1 } });
  });

  test('keeps a metric named __proto__ as a metric', () => {
    const file = parseMetricsFile('{"metrics": {"__proto__": 1, "auc": 0.5}}', URI);

    expect(Object.keys(file.metrics)).toEqual(['__proto__', 'auc']);
    expect(Object.getPrototypeOf(file.metrics)).toBe(Object.prototype);
  });

  test.each([
    ['a metric that is a string', '{"metrics": {"auc": "high"}}', 'metrics.auc is "high", not a number'],
    ['a metric that is null', '{"metrics": {"auc": null}}', 'metrics.auc is null, not a number'],
    ['a metric that overflows to Infinity', '{"metrics": {"auc": 1e999}}', 'metrics.auc is Infinity, not a finite number'],
    ['a metric whose name is not an identifier', '{"metrics": {"f1-score": true}}', 'metrics["f1-score"] is true, not a number'],
    ['no metrics', '{"count": 3}', 'metrics is missing: it must be an object of metric name -> number'],
    ['empty metrics', '{"metrics": {}}', 'metrics is empty: it must hold at least one metric'],
    ['metrics that are an array', '{"metrics": [0.9]}', 'metrics is an array, not an object of metric name -> number'],
    ['slices that are not an object', '{"metrics": {"a": 1}, "slices": 3}', 'slices is 3, not an object of slice name -> metrics'],
    ['a slice that is not an object', '{"metrics": {"a": 1}, "slices": {"eu": 0.9}}', 'slices.eu is 0.9, not an object of metric name -> number'],
    ['a slice metric that is a string', '{"metrics": {"a": 1}, "slices": {"region=eu": {"auc": "0.9"}}}', 'slices["region=eu"].auc is "0.9", not a number'],
    ['a null slice', '{"metrics": {"a": 1}, "slices": {"eu": null}}', 'slices.eu is null, not an object'],
    ['latency that is not an object', '{"metrics": {"a": 1}, "latencyMs": 12}', 'latencyMs is 12, not an object'],
    ['a negative latency', '{"metrics": {"a": 1}, "latencyMs": {"p95": -3}}', 'latencyMs.p95 is -3, not a number >= 0'],
    ['a latency that is a string', '{"metrics": {"a": 1}, "latencyMs": {"p99": "12ms"}}', 'latencyMs.p99 is "12ms", not a number >= 0'],
    ['a count of zero', '{"metrics": {"a": 1}, "count": 0}', 'count is 0, not a positive integer'],
    ['a fractional count', '{"metrics": {"a": 1}, "count": 2.5}', 'count is 2.5, not a positive integer'],
    ['a count that is a string', '{"metrics": {"a": 1}, "count": "10"}', 'count is "10", not a positive integer'],
    ['a top-level array', '[{"metrics": {"a": 1}}]', 'it is an array, not a JSON object'],
    ['a top-level number', '0.91', 'it is 0.91, not a JSON object'],
    ['an empty file', '  \n', 'the file is empty'],
    ['a file that is not JSON', '{"metrics": {"auc": 0.9,}}', 'it is not valid JSON ('],
  ])('fails with MalformedMetrics naming the URI and the field for %s', (_, text, problem) => {
    // WHEN
    const error = errorOf(() => parseMetricsFile(text, URI));

    // THEN
    expect(error).toBeInstanceOf(MetricsError);
    expect(error.name).toBe('MalformedMetrics');
    expect(error.message).toContain(`${URI} is malformed: `);
    expect(error.message).toContain(problem);
    expect(error.message).toMatch(/fix the job that wrote it/);
  });

  test('lists every problem of a file, not just the first', () => {
    // GIVEN
    const text = '{"metrics": {"auc": "high", "loss": 0.2, "acc": []}, "latencyMs": {"p50": -1}, "count": -4}';

    // WHEN
    const error = errorOf(() => parseMetricsFile(text, URI));

    // THEN
    expect(error.message).toContain('metrics.auc is "high", not a number; metrics.acc is an array, not a number; ' +
      'latencyMs.p50 is -1, not a number >= 0; count is -4, not a positive integer');
  });

  test('cuts a long string value in the message', () => {
    const error = errorOf(() => parseMetricsFile(JSON.stringify({ metrics: { auc: 'x'.repeat(500) } }), URI));

    expect(error.message).toMatch(/metrics\.auc is "x{56}\.\.\.", not a number/);
  });
});

describe('aggregateShards', () => {
  test('weights each metric by the shard count', () => {
    // GIVEN a shard of 1000 examples and one of 3000
    const files = [
      { metrics: { auc: 0.8, loss: 0.4 }, count: 1000 },
      { metrics: { auc: 0.9, loss: 0.2 }, count: 3000 },
    ];

    // WHEN
    const aggregate = aggregateShards(files);

    // THEN (0.8 * 1000 + 0.9 * 3000) / 4000 = 0.875, (0.4 * 1000 + 0.2 * 3000) / 4000 = 0.25
    expect(aggregate.metrics.auc).toBeCloseTo(0.875, 12);
    expect(aggregate.metrics.loss).toBeCloseTo(0.25, 12);
    expect(aggregate.shards).toBe(2);
  });

  test('weights shards without a count as 1', () => {
    const aggregate = aggregateShards([{ metrics: { auc: 0.6 } }, { metrics: { auc: 0.9 }, count: 2 }]);

    expect(aggregate.metrics.auc).toBeCloseTo(0.8, 12);
  });

  test('averages a metric missing from some shards over the shards that have it', () => {
    // GIVEN recall only in the first and third shard
    const files: MetricsFile[] = [
      { metrics: { auc: 0.9, recall: 0.5 }, count: 10 },
      { metrics: { auc: 0.7 }, count: 10 },
      { metrics: { auc: 0.8, recall: 0.7 }, count: 30 },
    ];

    // WHEN
    const aggregate = aggregateShards(files);

    // THEN recall = (0.5 * 10 + 0.7 * 30) / 40; auc over all three
    expect(aggregate.metrics.recall).toBeCloseTo(0.65, 12);
    expect(aggregate.metrics.auc).toBeCloseTo((0.9 * 10 + 0.7 * 10 + 0.8 * 30) / 50, 12);
    expect(Object.keys(aggregate.metrics)).toEqual(['auc', 'recall']);
  });

  test('takes each latency percentile as the maximum over the shards, not the mean', () => {
    // GIVEN
    const files = [
      { metrics: { auc: 1 }, latencyMs: { p50: 3, p95: 20, p99: 31 }, count: 100 },
      { metrics: { auc: 1 }, latencyMs: { p50: 4, p95: 12 }, count: 900 },
      { metrics: { auc: 1 } },
    ];

    // WHEN
    const aggregate = aggregateShards(files);

    // THEN
    expect(aggregate.latencyMs).toEqual({ p50: 4, p95: 20, p99: 31 });
  });

  test('leaves latency empty when no shard measured it', () => {
    expect(aggregateShards([{ metrics: { auc: 1 } }]).latencyMs).toEqual({});
  });

  test('averages each slice metric weighted by the shard count, over the shards that have the slice', () => {
    // GIVEN region=us in both shards, region=eu in the first only, a slice metric in one shard only
    const files: MetricsFile[] = [
      { metrics: { auc: 0.9 }, slices: { 'region=us': { auc: 0.8 }, 'region=eu': { auc: 0.95, recall: 0.4 } }, count: 1 },
      { metrics: { auc: 0.9 }, slices: { 'region=us': { auc: 0.9, recall: 0.6 } }, count: 3 },
    ];

    // WHEN
    const aggregate = aggregateShards(files);

    // THEN
    expect(Object.keys(aggregate.slices)).toEqual(['region=us', 'region=eu']);
    expect(aggregate.slices['region=us'].auc).toBeCloseTo(0.875, 12);
    expect(aggregate.slices['region=us'].recall).toBe(0.6);
    expect(aggregate.slices['region=eu']).toEqual({ auc: 0.95, recall: 0.4 });
  });

  test('rounds nothing, and the mean of equal values is that value exactly', () => {
    // GIVEN three equal shards (a naive sum would give 0.30000000000000004 / 3)
    const aggregate = aggregateShards([{ metrics: { auc: 0.1 } }, { metrics: { auc: 0.1 } }, { metrics: { auc: 0.1 } }]);

    // THEN
    expect(aggregate.metrics.auc).toBe(0.1);
    expect(aggregateShards([{ metrics: { a: 1 / 3 } }]).metrics.a).toBe(1 / 3);
  });

  test('gives the same aggregate for the same files', () => {
    const files = [
      { metrics: { auc: 0.81, loss: 0.3 }, slices: { s: { auc: 0.7 } }, latencyMs: { p99: 8 }, count: 7 },
      { metrics: { loss: 0.1, auc: 0.93 }, slices: { s: { auc: 0.9 } }, latencyMs: { p99: 9 }, count: 13 },
    ];

    expect(JSON.stringify(aggregateShards(files))).toBe(JSON.stringify(aggregateShards(files)));
  });

  test('refuses an empty list of shards', () => {
    expect(() => aggregateShards([])).toThrow(/no shard to aggregate/);
  });
});

describe('parseS3Prefix', () => {
  test('splits a prefix URI into bucket and prefix', () => {
    expect(parseS3Prefix('s3://models/runs/42/xgb/')).toEqual({ bucket: 'models', prefix: 'runs/42/xgb/' });
    expect(parseS3Prefix('s3://my.bucket-1/')).toEqual({ bucket: 'my.bucket-1', prefix: '' });
  });

  test.each([
    ['s3://models/runs/42', 'does not end in "/"'],
    ['s3://models', 'does not end in "/"'],
    ['https://models/runs/', 'is not an S3 URI'],
    ['s3:///runs/', 'does not name a valid S3 bucket'],
    ['s3://Models/runs/', 'does not name a valid S3 bucket'],
    ['s3://models//runs/', 'has an empty path segment'],
  ])('describes what is wrong with %s', (uri, problem) => {
    expect(parseS3Prefix(uri)).toEqual(expect.stringContaining(problem));
  });

  test('describes a value that is not a string', () => {
    expect(parseS3Prefix(42)).toBe('is 42, not an S3 URI like "s3://bucket/prefix/"');
    expect(parseS3Prefix(undefined)).toBe('is missing, not an S3 URI like "s3://bucket/prefix/"');
  });

  test('builds the URI of a file under a prefix', () => {
    expect(s3Uri({ bucket: 'b', prefix: 'eval/' }, shardMetricsFile(12))).toBe('s3://b/eval/metrics-12.json');
  });
});

describe('parseAggregationRequest', () => {
  const valid = { candidate: 'xgb', trainingOutputUri: 's3://models/runs/1/xgb/', evaluationOutputUri: 's3://models/runs/1/xgb/eval/', shards: 4 };

  test('parses a valid request', () => {
    expect(parseAggregationRequest(valid)).toEqual({
      candidate: 'xgb',
      training: { bucket: 'models', prefix: 'runs/1/xgb/' },
      evaluation: { bucket: 'models', prefix: 'runs/1/xgb/eval/' },
      shards: 4,
    });
  });

  test.each([
    ['no candidate', { candidate: undefined }, '"candidate" is missing, not the name of a candidate'],
    ['a blank candidate', { candidate: ' ' }, '"candidate" is " ", not the name of a candidate'],
    ['a bad training URI', { trainingOutputUri: 'models/runs/1/' }, '"trainingOutputUri" \'models/runs/1/\' is not an S3 URI'],
    ['an evaluation URI without a slash', { evaluationOutputUri: 's3://models/eval' }, '"evaluationOutputUri" \'s3://models/eval\' does not end in "/"'],
    ['zero shards', { shards: 0 }, '"shards" is 0, not an integer from 1 to 10000'],
    ['too many shards', { shards: 10001 }, '"shards" is 10001, not an integer from 1 to 10000'],
    ['fractional shards', { shards: 1.5 }, '"shards" is 1.5, not an integer'],
    ['shards as a string', { shards: '4' }, '"shards" is "4", not an integer'],
    ['the same prefix twice', { evaluationOutputUri: 's3://models/runs/1/xgb/' }, "would overwrite the training job's"],
  ])('fails with InvalidAggregationRequest on %s', (_, change, problem) => {
    // WHEN
    const error = errorOf(() => parseAggregationRequest({ ...valid, ...change }));

    // THEN
    expect(error.name).toBe('InvalidAggregationRequest');
    expect(error.message).toContain(problem);
    expect(error.message).toMatch(/Pass \{ "candidate": "<name>"/);
  });

  test('accepts 1 and 10000 shards', () => {
    expect(parseAggregationRequest({ ...valid, shards: 1 }).shards).toBe(1);
    expect(parseAggregationRequest({ ...valid, shards: 10000 }).shards).toBe(10000);
  });

  test('lists every problem of the event at once', () => {
    const error = errorOf(() => parseAggregationRequest({ shards: -1 }));

    expect(error.message).toMatch(/"candidate" is missing.*"trainingOutputUri" is missing.*"evaluationOutputUri" is missing.*"shards" is -1/);
  });

  test('refuses an event that is not an object', () => {
    expect(errorOf(() => parseAggregationRequest(null)).message).toContain('the event is null, not an object');
  });
});
