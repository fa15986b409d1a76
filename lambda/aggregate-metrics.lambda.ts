/**
 * Aggregates the metrics of one candidate's evaluation shards and writes the aggregate next to them.
 *
 * Event: `{ "candidate": "xgb", "trainingOutputUri": "s3://models/runs/42/xgb/", "evaluationOutputUri":
 * "s3://models/runs/42/xgb/eval/", "shards": 4 }`. Reads the training job's `<trainingOutputUri>metrics.json` and
 * each shard's `<evaluationOutputUri>metrics-<i>.json` for i in 0..shards-1, validates them, aggregates the shards
 * (see `aggregateShards` in shared/metrics.ts: means weighted by `count`, latency percentiles by their maximum) and
 * writes the aggregate to `<evaluationOutputUri>metrics.json`, the object the model package's model-quality
 * metrics point to. Returns the aggregate with the candidate and the training job's metrics. Same files, same
 * aggregate: running it again overwrites the aggregate with the same bytes.
 *
 * Fails with `InvalidAggregationRequest`, `MetricsNotFound` or `MalformedMetrics` (error names a Step Functions
 * `Catch` can match).
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  aggregateShards,
  METRICS_FILE,
  MetricsError,
  parseAggregationRequest,
  parseMetricsFile,
  S3Prefix,
  s3Uri,
  shardMetricsFile,
} from './shared/metrics';
import { sdkClientConfig } from './shared/sdk-clients';
import { AggregatedMetrics, MetricsFile } from './shared/workflow-types';

const s3 = new S3Client(sdkClientConfig());

export interface AggregateMetricsEvent {
  readonly candidate: string;
  /** The training job's output prefix, `s3://bucket/prefix/`: it holds `metrics.json`. */
  readonly trainingOutputUri: string;
  /** The evaluation's output prefix, `s3://bucket/prefix/`: it holds `metrics-<i>.json`; the aggregate goes there. */
  readonly evaluationOutputUri: string;
  /** How many shards the evaluation ran, 1 to 10000. */
  readonly shards: number;
}

/** What the handler returns: the aggregate as written, the candidate, and the training job's metrics. */
export interface AggregateMetricsResult extends AggregatedMetrics {
  readonly candidate: string;
  /** The `metrics` of the training job's `metrics.json`. */
  readonly trainingMetrics: Record<string, number>;
}

export interface AggregateOptions {
  /** How many files are read at a time; default 16. */
  readonly concurrency?: number;
}

const DEFAULT_CONCURRENCY = 16;

export async function handler(event: AggregateMetricsEvent): Promise<AggregateMetricsResult> {
  return aggregateMetrics(s3, event);
}

export async function aggregateMetrics(
  client: S3Client,
  event: AggregateMetricsEvent,
  options: AggregateOptions = {},
): Promise<AggregateMetricsResult> {
  const request = parseAggregationRequest(event);
  const { candidate, training, evaluation, shards } = request;

  const files: MetricsFileToRead[] = [
    {
      location: training,
      file: METRICS_FILE,
      writer: `the training job of candidate '${candidate}' wrote no ${METRICS_FILE}: check its logs ` +
        `(it must write ${METRICS_FILE} under MLOPS_OUTPUT_URI, ${s3Uri(training, '')})`,
    },
    ...Array.from({ length: shards }, (_, i): MetricsFileToRead => ({
      location: evaluation,
      file: shardMetricsFile(i),
      writer: `evaluation shard ${i} of candidate '${candidate}' wrote no ${shardMetricsFile(i)}: check its logs ` +
        `(child ${i} of the evaluation array job, or the job itself when there is one shard)`,
    })),
  ];
  const [trainingFile, ...shardFiles] = await readAll(client, files, options.concurrency ?? DEFAULT_CONCURRENCY);

  const metricsUri = s3Uri(evaluation, METRICS_FILE);
  const aggregate: AggregatedMetrics = { ...aggregateShards(shardFiles), metricsUri };
  await client.send(
    new PutObjectCommand({
      Bucket: evaluation.bucket,
      Key: `${evaluation.prefix}${METRICS_FILE}`,
      Body: JSON.stringify(aggregate),
      ContentType: 'application/json',
    }),
  );
  return { ...aggregate, candidate, trainingMetrics: trainingFile.metrics };
}

interface MetricsFileToRead {
  readonly location: S3Prefix;
  readonly file: string;
  /** What should have written the file, and what to do: the message when it does not exist. */
  readonly writer: string;
}

/**
 * Reads and validates the files, `concurrency` at a time, in order. Stops starting reads at the first failure and
 * then reports the failure of the first file in the list that failed: files are started in order, so every file
 * before a failed one was read, and the same files give the same error.
 */
async function readAll(client: S3Client, files: readonly MetricsFileToRead[], concurrency: number): Promise<MetricsFile[]> {
  const results: MetricsFile[] = new Array(files.length);
  const errors = new Map<number, unknown>();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length && errors.size === 0) {
      const index = next++;
      try {
        results[index] = await readMetricsFile(client, files[index]);
      } catch (error) {
        errors.set(index, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, files.length)) }, worker));
  if (errors.size > 0) throw errors.get(Math.min(...errors.keys()));
  return results;
}

async function readMetricsFile(client: S3Client, target: MetricsFileToRead): Promise<MetricsFile> {
  const { location, file } = target;
  const uri = s3Uri(location, file);
  const text = await (async () => {
    const object = await client.send(new GetObjectCommand({ Bucket: location.bucket, Key: `${location.prefix}${file}` }));
    return (await object.Body?.transformToString('utf-8')) ?? '';
  })().catch((error: unknown) => {
    throw notFound(error, uri, target) ?? error;
  });
  return parseMetricsFile(text, uri);
}

interface AwsErrorShape {
  readonly name?: string;
}

function notFound(error: unknown, uri: string, target: MetricsFileToRead): MetricsError | undefined {
  const name = typeof error === 'object' && error !== null ? (error as AwsErrorShape).name : undefined;
  if (name === 'NoSuchKey') return new MetricsError('MetricsNotFound', `${uri} does not exist: ${target.writer}.`);
  if (name === 'NoSuchBucket') {
    return new MetricsError(
      'MetricsNotFound',
      `${uri} cannot be read: bucket '${target.location.bucket}' does not exist. Check the output URIs in the event.`,
    );
  }
  return undefined;
}
