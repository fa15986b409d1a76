/**
 * Pure logic of the metrics files the training and evaluation jobs write: validation, aggregation of evaluation
 * shards and the S3 locations involved. No SDK calls here, so it is tested without mocks.
 *
 * Where the files are (see `ContainerContract` in lib/compute): the training job writes `metrics.json` under its
 * output prefix; evaluation shard `i` writes `metrics-<i>.json` under the evaluation output prefix; the aggregate of
 * the shards goes to `metrics.json` under the evaluation output prefix.
 */
import { AggregatedMetrics, LatencyPercentiles, MetricsFile } from './workflow-types';
import { describeValue } from '../../lib/private/contract/describe-value';

// Shared with the CDK-side validation of the handlers' inputs.
export { describeValue };

/** The file a training job writes under its output prefix, and the name of the aggregate under the evaluation prefix. */
export const METRICS_FILE = 'metrics.json';

/** The most evaluation shards one aggregation reads. */
export const MAX_SHARDS = 10000;

/** `metrics-<index>.json`, the file evaluation shard `index` writes. */
export function shardMetricsFile(index: number): string {
  return `metrics-${index}.json`;
}

export type MetricsErrorName = 'InvalidAggregationRequest' | 'MetricsNotFound' | 'MalformedMetrics';

/** Errors whose `name` a Step Functions `Catch` can match. */
export class MetricsError extends Error {
  constructor(name: MetricsErrorName, message: string) {
    super(message);
    this.name = name;
  }
}

/** An S3 prefix: `s3://<bucket>/<prefix>`, the prefix empty or ending in `/`. */
export interface S3Prefix {
  readonly bucket: string;
  readonly prefix: string;
}

/** What the `aggregate-metrics` handler is asked to do, validated. */
export interface AggregationRequest {
  readonly candidate: string;
  readonly training: S3Prefix;
  readonly evaluation: S3Prefix;
  readonly shards: number;
}

/** The aggregate of the evaluation shards, before it is written (so without its `metricsUri`). */
export type ShardAggregate = Omit<AggregatedMetrics, 'metricsUri'>;

const PERCENTILES = ['p50', 'p95', 'p99'] as const;

// S3 bucket naming rules: 3-63 lowercase letters, digits, dots and hyphens, starting and ending with a letter or digit.
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Parses `s3://bucket/prefix/` (or `s3://bucket/` for the whole bucket). The prefix must end in `/`: the files are
 * found by appending their names to it. Returns a description of what is wrong instead when the URI is not one.
 */
export function parseS3Prefix(uri: unknown): S3Prefix | string {
  if (typeof uri !== 'string' || uri === '') return `is ${describeValue(uri)}, not an S3 URI like "s3://bucket/prefix/"`;
  const match = /^s3:\/\/([^/]*)\/(.*)$/.exec(uri);
  if (!match && /^s3:\/\/[^/]+$/.test(uri)) return `'${uri}' does not end in "/": it must be a prefix, like "s3://bucket/prefix/"`;
  if (!match) return `'${uri}' is not an S3 URI like "s3://bucket/prefix/"`;
  const [, bucket, prefix] = match;
  if (!BUCKET_NAME.test(bucket)) return `'${uri}' does not name a valid S3 bucket ('${bucket}')`;
  if (prefix !== '' && !prefix.endsWith('/')) return `'${uri}' does not end in "/": it must be a prefix, like "s3://bucket/prefix/"`;
  if (prefix.startsWith('/') || prefix.includes('//')) return `'${uri}' has an empty path segment ("//")`;
  return { bucket, prefix };
}

/** `s3://<bucket>/<prefix><file>` */
export function s3Uri(location: S3Prefix, file: string): string {
  return `s3://${location.bucket}/${location.prefix}${file}`;
}

/**
 * Validates the event of the `aggregate-metrics` handler; fails with `InvalidAggregationRequest` listing every
 * problem.
 */
export function parseAggregationRequest(event: unknown): AggregationRequest {
  const e = isObject(event) ? event : {};
  const problems: string[] = [];
  if (!isObject(event)) problems.push(`the event is ${describeValue(event)}, not an object`);

  const candidate = e.candidate;
  if (typeof candidate !== 'string' || candidate.trim() === '') {
    problems.push(`"candidate" is ${describeValue(candidate)}, not the name of a candidate`);
  }
  const training = parseS3Prefix(e.trainingOutputUri);
  if (typeof training === 'string') problems.push(`"trainingOutputUri" ${training}`);
  const evaluation = parseS3Prefix(e.evaluationOutputUri);
  if (typeof evaluation === 'string') problems.push(`"evaluationOutputUri" ${evaluation}`);
  const shards = e.shards;
  if (typeof shards !== 'number' || !Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
    problems.push(`"shards" is ${describeValue(shards)}, not an integer from 1 to ${MAX_SHARDS}`);
  }
  if (typeof training !== 'string' && typeof evaluation !== 'string' &&
      training.bucket === evaluation.bucket && training.prefix === evaluation.prefix) {
    problems.push(
      `"trainingOutputUri" and "evaluationOutputUri" are the same prefix, so the aggregate ${METRICS_FILE} would overwrite ` +
        "the training job's; give the evaluation its own prefix",
    );
  }

  if (problems.length > 0) {
    throw new MetricsError(
      'InvalidAggregationRequest',
      `aggregate-metrics: ${problems.join('; ')}. Pass { "candidate": "<name>", "trainingOutputUri": "s3://bucket/prefix/", ` +
        `"evaluationOutputUri": "s3://bucket/prefix/", "shards": <1-${MAX_SHARDS}> }.`,
    );
  }
  return { candidate: candidate as string, training: training as S3Prefix, evaluation: evaluation as S3Prefix, shards: shards as number };
}

/**
 * Parses and validates one metrics file against `MetricsFile`; fails with `MalformedMetrics` naming `uri` and every
 * problem found (for example `metrics.auc is "high", not a number`).
 *
 * `metrics` must be a non-empty object of finite numbers; `slices` (optional) an object of objects of finite numbers;
 * `latencyMs` (optional) an object whose `p50`, `p95` and `p99`, where present, are numbers >= 0; `count`
 * (optional) a positive integer. An optional field that is `null` counts as absent (Python's `None`); fields this
 * library does not know are ignored. Returns only the known fields.
 */
export function parseMetricsFile(text: string, uri: string): MetricsFile {
  const malformed = (what: string) =>
    new MetricsError(
      'MalformedMetrics',
      `${uri} is malformed: ${what}. It must be a JSON object like {"metrics": {"auc": 0.91}, "slices": {"region=eu": {"auc": 0.9}}, ` +
        '"latencyMs": {"p95": 12}, "count": 1000}: fix the job that wrote it and run it again.',
    );
  if (text.trim() === '') throw malformed('the file is empty');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw malformed(`it is not valid JSON (${(error as Error).message})`);
  }
  if (!isObject(parsed)) throw malformed(`it is ${describeValue(parsed)}, not a JSON object`);

  const problems: string[] = [];
  const metrics = numberRecord(parsed.metrics, 'metrics', problems);
  if (parsed.metrics === undefined || parsed.metrics === null) {
    problems.push('metrics is missing: it must be an object of metric name -> number');
  } else if (metrics !== undefined && Object.keys(metrics).length === 0) {
    problems.push('metrics is empty: it must hold at least one metric');
  }

  let slices: Record<string, Record<string, number>> | undefined;
  if (parsed.slices !== undefined && parsed.slices !== null) {
    if (!isObject(parsed.slices)) {
      problems.push(`slices is ${describeValue(parsed.slices)}, not an object of slice name -> metrics`);
    } else {
      const entries: Array<[string, Record<string, number>]> = [];
      for (const [name, value] of Object.entries(parsed.slices)) {
        const sliceMetrics = numberRecord(value, path('slices', name), problems);
        if (sliceMetrics !== undefined) entries.push([name, sliceMetrics]);
        else if (value === undefined || value === null) problems.push(`${path('slices', name)} is ${describeValue(value)}, not an object`);
      }
      slices = Object.fromEntries(entries);
    }
  }

  let latencyMs: LatencyPercentiles | undefined;
  if (parsed.latencyMs !== undefined && parsed.latencyMs !== null) {
    if (!isObject(parsed.latencyMs)) {
      problems.push(`latencyMs is ${describeValue(parsed.latencyMs)}, not an object like {"p50": 3, "p95": 9, "p99": 14}`);
    } else {
      const entries: Array<[string, number]> = [];
      for (const percentile of PERCENTILES) {
        const value = parsed.latencyMs[percentile];
        if (value === undefined || value === null) continue;
        if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
          problems.push(`latencyMs.${percentile} is ${describeValue(value)}, not a number >= 0`);
        } else {
          entries.push([percentile, value]);
        }
      }
      latencyMs = Object.fromEntries(entries);
    }
  }

  let count: number | undefined;
  if (parsed.count !== undefined && parsed.count !== null) {
    if (typeof parsed.count !== 'number' || !Number.isSafeInteger(parsed.count) || parsed.count < 1) {
      problems.push(`count is ${describeValue(parsed.count)}, not a positive integer`);
    } else {
      count = parsed.count;
    }
  }

  if (problems.length > 0) throw malformed(problems.join('; '));
  return {
    metrics: metrics!,
    ...(slices !== undefined ? { slices } : {}),
    ...(latencyMs !== undefined ? { latencyMs } : {}),
    ...(count !== undefined ? { count } : {}),
  };
}

/**
 * Aggregates the metrics files of the evaluation shards, in the order given:
 *
 * - each metric, and each metric of each slice, is the mean over the shards that have it, weighted by the shard's
 *   `count` (1 when absent). A metric missing from some shards is averaged over the shards that have it only, so it
 *   describes those shards' examples; a slice's metrics are weighted by the count of the whole shard, the files
 *   having no count per slice;
 * - each latency percentile is the maximum over the shards that have it: percentiles cannot be averaged, and the
 *   maximum is the conservative bound;
 * - nothing is rounded. Keys keep the order in which they first appear, shard by shard, so the same files give the
 *   same aggregate, byte for byte.
 */
export function aggregateShards(files: readonly MetricsFile[]): ShardAggregate {
  if (files.length === 0) throw new RangeError('aggregateShards: no shard to aggregate');
  const metrics = new WeightedMeans();
  const slices = new Map<string, WeightedMeans>();
  const latency = new Map<string, number>();
  for (const file of files) {
    const weight = file.count ?? 1;
    metrics.addAll(file.metrics, weight);
    for (const [name, sliceMetrics] of Object.entries(file.slices ?? {})) {
      let means = slices.get(name);
      if (means === undefined) slices.set(name, (means = new WeightedMeans()));
      means.addAll(sliceMetrics, weight);
    }
    for (const percentile of PERCENTILES) {
      const value = file.latencyMs?.[percentile];
      if (value === undefined) continue;
      latency.set(percentile, Math.max(latency.get(percentile) ?? value, value));
    }
  }
  return {
    metrics: metrics.toRecord(),
    slices: Object.fromEntries([...slices].map(([name, means]) => [name, means.toRecord()])),
    latencyMs: Object.fromEntries(PERCENTILES.filter((p) => latency.has(p)).map((p) => [p, latency.get(p)!])),
    shards: files.length,
  };
}

/**
 * Weighted means of named values, updated incrementally (mean += w / W * (x - mean)): the mean of equal values is
 * that value exactly, where sum(w * x) / sum(w) can be off in the last digit.
 */
class WeightedMeans {
  private readonly means = new Map<string, { mean: number; weight: number }>();

  public addAll(values: Record<string, number>, weight: number): void {
    for (const [name, value] of Object.entries(values)) {
      const m = this.means.get(name);
      if (m === undefined) {
        this.means.set(name, { mean: value, weight });
      } else {
        m.weight += weight;
        m.mean += (weight / m.weight) * (value - m.mean);
      }
    }
  }

  public toRecord(): Record<string, number> {
    return Object.fromEntries([...this.means].map(([name, m]) => [name, m.mean]));
  }
}

/** A record of finite numbers, or undefined (with the problems pushed) when `value` is not one. */
function numberRecord(value: unknown, where: string, problems: string[]): Record<string, number> | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isObject(value)) {
    problems.push(`${where} is ${describeValue(value)}, not an object of metric name -> number`);
    return undefined;
  }
  const entries: Array<[string, number]> = [];
  let ok = true;
  for (const [name, v] of Object.entries(value)) {
    if (typeof v === 'number' && Number.isFinite(v)) {
      entries.push([name, v]);
    } else {
      ok = false;
      problems.push(`${path(where, name)} is ${describeValue(v)}, not ${typeof v === 'number' ? 'a finite number' : 'a number'}`);
    }
  }
  // Object.fromEntries defines the keys, so that even a metric named "__proto__" stays a metric.
  return ok ? Object.fromEntries(entries) : undefined;
}

/** `metrics.auc`, or `slices["region=eu"]` when the key is not an identifier. */
function path(parent: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${parent}.${key}` : `${parent}[${JSON.stringify(key)}]`;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

