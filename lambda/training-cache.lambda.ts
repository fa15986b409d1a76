/**
 * Looks up the training cache for one candidate: is there a model package trained and evaluated with the same
 * training image, evaluation image (by digest), data version and configuration? A hit stands in for training and
 * evaluation, so a change to serving code alone (the same training image) costs zero GPU minutes.
 *
 * Event: `{ "candidate": "xgb-deep", "configHash": "<sha256>", "trainingImageUri": "<repo>@sha256:...",
 * "evaluationImageUri": "<repo>@sha256:...", "dataVersionId": "<sha256>" }`.
 * Environment: `MODEL_PACKAGE_GROUP_NAME`. Returns `{ "hit": true, "cacheKey", "outcome" }` with a `CACHED`
 * `CandidateOutcome`, or `{ "hit": false, "cacheKey" }`. A `Rejected` package is never a hit. Reads only: running it
 * again gives the same answer. Fails with `InvalidCacheRequest` or `ModelPackageGroupNotFound` (error names a Step
 * Functions `Catch` can match).
 */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { parseMetricsFile } from './shared/metrics';
import { sdkClientConfig } from './shared/sdk-clients';
import {
  cachedOutcome,
  cacheKeyOf,
  cacheRequestOf,
  findCachedPackage,
  TrainingCacheError,
  TrainingCacheRequest,
  TrainingCacheResult,
} from './shared/training-cache';

const sagemaker = new SageMakerClient(sdkClientConfig());
const s3 = new S3Client(sdkClientConfig());

export type TrainingCacheEvent = Partial<TrainingCacheRequest>;

export async function handler(event: TrainingCacheEvent): Promise<TrainingCacheResult> {
  return checkTrainingCache(sagemaker, groupName(), event);
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
): Promise<TrainingCacheResult> {
  const request = cacheRequestOf(event);
  const key = cacheKeyOf(request);

  const found = await findCachedPackage(client, modelPackageGroupName, key);
  if (!found) return { hit: false, cacheKey: key };

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

/** The evaluation's aggregate (written by aggregate-metrics), or undefined when it is gone. */
async function readEvaluation(client: S3Client, uri: string) {
  const match = /^s3:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) return undefined;
  try {
    const object = await client.send(new GetObjectCommand({ Bucket: match[1], Key: match[2] }));
    return parseMetricsFile(await object.Body!.transformToString(), uri);
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}
