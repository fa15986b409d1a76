/**
 * Pure logic of the `start-pipeline-on-data` handler: which data version an S3 "Object Created" event (delivered by
 * EventBridge) announces, and the idempotency token of the pipeline run it starts. No SDK calls here.
 *
 * A data version is complete when its marker object is written (for example `datasets/fraud/2026-11-23/_SUCCESS`):
 * the run trains on the marker's folder (`datasets/fraud/2026-11-23/`), which must lie under the configured prefix.
 */
import { createHash } from 'node:crypto';
import { describeValue } from './metrics';
import { DATA_TRIGGER_ENV, MAX_VARIABLE_VALUE } from '../../lib/private/contract/data-trigger';

/** What the function is configured to accept: its environment. */
export interface DataTriggerConfig {
  /** The data bucket (`DATA_BUCKET`). */
  readonly bucket: string;
  /** The prefix new data versions are written under (`DATA_PREFIX`); may be empty (the whole bucket). */
  readonly prefix: string;
  /** The marker's key suffix (`MARKER_SUFFIX`). */
  readonly markerSuffix: string;
  /** The pipeline to start (`PIPELINE_NAME`). */
  readonly pipelineName: string;
  /** The pipeline variable that receives the data location (`VARIABLE_NAME`). */
  readonly variableName: string;
  /** The pipeline variable that records why the run started (`TRIGGER_VARIABLE`); unset: the pipeline declares none. */
  readonly triggerVariable?: string;
}

/** A complete new data version, announced by its marker. */
export interface DataVersion {
  readonly bucket: string;
  readonly markerKey: string;
  /** The marker object's version id; absent on an unversioned bucket. */
  readonly markerVersionId?: string;
  /** What the run trains on: the marker's folder, ending in "/" (or "" for a marker at the bucket's root). */
  readonly dataPrefix: string;
  /** Why the run starts, for its lineage: `data:<marker key>` (cut to what a pipeline variable holds). */
  readonly trigger: string;
}

/** An event this function must not act on; it is reported, never retried (a retry would not change it). */
export class IgnoredEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IgnoredEvent';
  }
}

/** A configuration the function cannot run with (a deployment error, not an event error). */
export class TriggerNotConfiguredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TriggerNotConfigured';
  }
}

export { MAX_VARIABLE_VALUE };

/** Reads the configuration from the environment; names every missing variable. */
export function triggerConfig(env: Record<string, string | undefined>): DataTriggerConfig {
  const { bucket, prefix, markerSuffix, pipelineName, variableName, triggerVariable } = DATA_TRIGGER_ENV;
  const missing = [bucket, markerSuffix, pipelineName, variableName].filter((name) => !env[name]);
  if (missing.length > 0 || env[prefix] === undefined) {
    const all = env[prefix] === undefined ? [...missing, prefix] : missing;
    throw new TriggerNotConfiguredError(
      `start-pipeline-on-data: the environment variable(s) ${all.join(', ')} are not set. Create the function with the ` +
        'DataVersionTrigger construct, which sets them.',
    );
  }
  return {
    bucket: env[bucket]!,
    prefix: env[prefix]!,
    markerSuffix: env[markerSuffix]!,
    pipelineName: env[pipelineName]!,
    variableName: env[variableName]!,
    triggerVariable: env[triggerVariable] || undefined,
  };
}

/**
 * The data version an EventBridge S3 "Object Created" event announces. Fails with `IgnoredEvent` when the event is
 * not one (another source or type, another bucket, a key outside the prefix or without the marker suffix): the
 * EventBridge rule already filters these, so one that arrives is a misrouted event, not a data version.
 */
export function dataVersionOf(event: unknown, config: DataTriggerConfig): DataVersion {
  const e = isObject(event) ? event : {};
  if (e.source !== 'aws.s3' || e['detail-type'] !== 'Object Created') {
    throw new IgnoredEventError(
      `start-pipeline-on-data: the event is ${describeValue(e['detail-type'])} from ${describeValue(e.source)}, not an S3 ` +
        '"Object Created" event from EventBridge.',
    );
  }
  const detail = isObject(e.detail) ? e.detail : {};
  const bucket = isObject(detail.bucket) ? detail.bucket.name : undefined;
  const object = isObject(detail.object) ? detail.object : {};
  const key = object.key;
  const versionId = object['version-id'];
  if (bucket !== config.bucket) {
    throw new IgnoredEventError(`start-pipeline-on-data: the object is in bucket ${describeValue(bucket)}, not in the data bucket '${config.bucket}'.`);
  }
  if (typeof key !== 'string' || !key.startsWith(config.prefix) || !key.endsWith(config.markerSuffix)) {
    throw new IgnoredEventError(
      `start-pipeline-on-data: the key ${describeValue(key)} is not a marker of a data version ` +
        `('${config.prefix}...${config.markerSuffix}').`,
    );
  }
  const dataPrefix = key.slice(0, key.lastIndexOf('/') + 1);
  // A marker directly in the configured prefix's folder trains on the configured prefix itself.
  const trainOn = dataPrefix.length < config.prefix.length ? config.prefix : dataPrefix;
  if (trainOn.length > MAX_VARIABLE_VALUE) {
    throw new IgnoredEventError(
      `start-pipeline-on-data: the data prefix of '${key}' is ${trainOn.length} characters long; a pipeline variable holds at most ` +
        `${MAX_VARIABLE_VALUE}.`,
    );
  }
  return {
    bucket,
    markerKey: key,
    markerVersionId: typeof versionId === 'string' && versionId !== '' ? versionId : undefined,
    dataPrefix: trainOn,
    trigger: `data:${key}`.slice(0, MAX_VARIABLE_VALUE),
  };
}

/**
 * StartPipelineExecution's idempotency token for a data version: the same marker object version starts one run,
 * however often EventBridge or Lambda deliver its event; a marker written again (a new version) starts another.
 * 64 hex characters (the API accepts 1-128 of [A-Za-z0-9-]).
 */
export function requestToken(version: DataVersion): string {
  return createHash('sha256')
    .update(`${version.bucket}\n${version.markerKey}\n${version.markerVersionId ?? ''}`)
    .digest('hex');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
