/**
 * Looks up the training cache for one candidate: is there a model package trained and evaluated with the same
 * training image, evaluation image (by digest), data version and configuration? A hit stands in for training and
 * evaluation, so a change to serving code alone (the same training image) costs zero GPU minutes.
 *
 * Event: `{ "candidate": "xgb-deep", "configHash": "<sha256>", "trainingImageUri": "<repo>@sha256:...",
 * "evaluationImageUri": "<repo>@sha256:...", "dataVersionId": "<sha256>" }`.
 * Environment: `MODEL_PACKAGE_GROUP_NAME`. Returns `{ "hit": true, "cacheKey", "outcome" }` with a `CACHED`
 * `CandidateOutcome`, or `{ "hit": false, "cacheKey" }`. A `Rejected` package is never a hit. Without a package, a
 * candidate evaluated before on the same inputs (a loser, recorded under `training-cache/` of the model bucket) is a
 * hit too, with its `EVALUATED` outcome: the gate judges it again. A lookup reads only: running it again gives the
 * same answer.
 *
 * Event `{ "remember": { "cacheKey", "outcome" } }` records an evaluated candidate instead (`training-cache/<key>.json`
 * in `MODEL_BUCKET_NAME`; writing it again writes the same). Fails with `InvalidCacheRequest` or
 * `ModelPackageGroupNotFound` (error names a Step Functions `Catch` can match).
 */
import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { parseMetricsFile } from './shared/metrics';
import { sdkClientConfig } from './shared/sdk-clients';
import {
  cachedOutcome,
  cacheKeyOf,
  cacheRecordKey,
  cacheRequestOf,
  findCachedPackage,
  isRecordRequest,
  recordedOutcome,
  recordRequestOf,
  TrainingCacheError,
  TrainingCacheRequest,
  TrainingCacheResult,
} from './shared/training-cache';
import { CacheRecordRequest } from './shared/workflow-types';

const sagemaker = new SageMakerClient(sdkClientConfig());
const s3 = new S3Client(sdkClientConfig());

export type TrainingCacheEvent = Partial<TrainingCacheRequest>;

export async function handler(event: TrainingCacheEvent | CacheRecordRequest): Promise<TrainingCacheResult | { recorded: string }> {
  if (isRecordRequest(event)) return recordOutcome(s3, modelBucketName(true)!, event);
  return checkTrainingCache(sagemaker, groupName(), event as TrainingCacheEvent, s3, modelBucketName(false));
}

function modelBucketName(required: boolean): string | undefined {
  const name = process.env.MODEL_BUCKET_NAME;
  if (!name && required) {
    throw new TrainingCacheError('InvalidCacheRequest',
      'training-cache: the MODEL_BUCKET_NAME environment variable is not set. Set it to the bucket the workflow writes its models to.');
  }
  return name || undefined;
}

/** Writes the record of an evaluated candidate; returns its S3 URI. */
export async function recordOutcome(client: S3Client, bucket: string, event: unknown): Promise<{ recorded: string }> {
  const { cacheKey, outcome } = recordRequestOf(event);
  const key = cacheRecordKey(cacheKey);
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(outcome), ContentType: 'application/json' }));
  return { recorded: `s3://${bucket}/${key}` };
}

function groupName(): string {
  const name = process.env.MODEL_PACKAGE_GROUP_NAME;
  if (!name) {
    throw new TrainingCacheError(
      'InvalidCacheRequest',
      'training-cache: the MODEL_PACKAGE_GROUP_NAME environment variable is not set. ' +
        'Set it to the model package group the workflow registers its models in.',
    );
  }
  return name;
}

export async function checkTrainingCache(
  client: SageMakerClient,
  modelPackageGroupName: string,
  event: TrainingCacheEvent,
  s3Client: S3Client = s3,
  modelBucket?: string,
): Promise<TrainingCacheResult> {
  const request = cacheRequestOf(event);
  const key = cacheKeyOf(request);

  const found = await findCachedPackage(client, modelPackageGroupName, key);
  if (!found) return modelBucket ? recordedHit(s3Client, modelBucket, request, key) : { hit: false, cacheKey: key };

  const description = await client.send(new DescribeModelPackageCommand({ ModelPackageName: found.modelPackageArn }));
  const outcome = cachedOutcome(request, found.modelPackageArn, description);
  const evaluation = outcome.metricsUri ? await readEvaluation(s3Client, outcome.metricsUri) : undefined;
  // Without its slices and latency, a cached model could not pass fairness or latency rules: train it again instead.
  if (!evaluation) return { hit: false, cacheKey: key };
  return {
    hit: true,
    cacheKey: key,
    outcome: { ...outcome, metrics: evaluation.metrics, slices: evaluation.slices ?? {}, latencyMs: evaluation.latencyMs ?? {} },
  };
}

/** A candidate evaluated before on the same inputs that did not become a model package (it lost, or the run stopped). */
async function recordedHit(client: S3Client, bucket: string, request: TrainingCacheRequest, key: string): Promise<TrainingCacheResult> {
  const recordKey = cacheRecordKey(key);
  // Listed first: GetObject of a missing key answers NoSuchKey only to a caller allowed s3:ListBucket on the bucket
  // (S3 API Reference, GetObject, "Permissions"), and this function's listing is granted on the record prefix only.
  const listed = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: recordKey, MaxKeys: 1 }));
  if (!(listed.Contents ?? []).some((o) => o.Key === recordKey)) return { hit: false, cacheKey: key };
  const text = await readObject(client, bucket, recordKey);
  const outcome = text === undefined ? undefined : recordedOutcome(request, text);
  const evaluation = outcome?.metricsUri ? await readEvaluation(client, outcome.metricsUri) : undefined;
  // As for a package: without the aggregate (slices, latency) the gate could not judge it, so train again.
  if (!outcome || !evaluation) return { hit: false, cacheKey: key };
  return {
    hit: true,
    cacheKey: key,
    outcome: { ...outcome, metrics: evaluation.metrics, slices: evaluation.slices ?? {}, latencyMs: evaluation.latencyMs ?? {} },
  };
}

async function readObject(client: S3Client, bucket: string, key: string): Promise<string | undefined> {
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return await object.Body!.transformToString();
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** The evaluation's aggregate (written by aggregate-metrics), or undefined when it is gone. */
async function readEvaluation(client: S3Client, uri: string) {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) return undefined;
  const text = await readObject(client, match[1], match[2]);
  return text === undefined ? undefined : parseMetricsFile(text, uri);
}
