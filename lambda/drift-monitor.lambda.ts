/**
 * Compares each new data capture file of an endpoint with the baseline of the model it serves, and publishes the drift
 * metrics: the target of an EventBridge rule on S3 "Object Created" events under the endpoint's capture prefix. An
 * endpoint without traffic writes no capture file, so nothing runs and nothing is billed.
 *
 * The baseline belongs to the newest Approved model package of the group (the model the Production stage deploys):
 * `s3://<model bucket>/baselines/<group>/<version>/baseline.json`. When it does not exist yet, this function computes
 * it once from the training files of the data version in the package's lineage (`mlops:data-manifest`: the manifest
 * lists each file's key and version id), and writes it; later files of that model reuse it (kept in memory too).
 *
 * Environment: see DRIFT_ENV (lib/private/contract/monitoring.ts). Invoked asynchronously: an error is retried by
 * Lambda, then the event goes to the dead-letter queue. An event that is not a capture file of this endpoint is
 * logged and dropped.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DescribeModelPackageCommand, SageMakerClient } from '@aws-sdk/client-sagemaker';
import { createdObject, endpointMetrics, MetricValue, publish } from './shared/cloudwatch-metrics';
import { computeBaseline, driftReport, DriftReport, instancesOf, parseCaptureFile, parseCsv } from './shared/drift';
import { modelPackagePages } from './shared/model-package-pages';
import { newestApproved } from './shared/model-registry';
import { readText } from './shared/s3-objects';
import { sdkClientConfig } from './shared/sdk-clients';
import { BASELINE_PREFIX, DRIFT_ENV, DriftBaseline, MONITORING_METRICS } from '../lib/private/contract/monitoring';
import { LINEAGE_KEYS } from '../lib/private/contract/workflow';

export interface DriftClients {
  readonly s3: S3Client;
  readonly sagemaker: SageMakerClient;
  readonly cloudwatch: CloudWatchClient;
}

const clients: DriftClients = {
  s3: new S3Client(sdkClientConfig()),
  sagemaker: new SageMakerClient(sdkClientConfig()),
  cloudwatch: new CloudWatchClient(sdkClientConfig()),
};

export interface DriftConfig {
  readonly captureBucket: string;
  readonly capturePrefix: string;
  readonly endpointName: string;
  readonly features: string[];
  readonly modelPackageGroup: string;
  readonly modelBucket: string;
  readonly trainingFile: string;
  readonly minInstances: number;
  readonly bins: number;
  readonly perFeatureMetrics: boolean;
}

export type DriftResult =
  | {
    readonly published: true; readonly key: string; readonly modelPackageArn: string; readonly baselineCreated: boolean; readonly report: DriftReport;
  }
  | { readonly published: false; readonly reason: string };

/** Baselines by model package ARN: a warm function reads each once. */
const baselines = new Map<string, DriftBaseline>();

export async function handler(event: unknown): Promise<DriftResult> {
  const result = await monitorDrift(clients, event, process.env);
  console.log(JSON.stringify(result));
  return result;
}

export function driftConfig(env: Record<string, string | undefined>): DriftConfig {
  const required = [DRIFT_ENV.captureBucket, DRIFT_ENV.capturePrefix, DRIFT_ENV.endpointName, DRIFT_ENV.features,
    DRIFT_ENV.modelPackageGroup, DRIFT_ENV.modelBucket, DRIFT_ENV.trainingFile];
  const missing = required.filter((n) => !env[n]);
  if (missing.length > 0) {
    throw new Error(`drift-monitor: the environment variable(s) ${missing.join(', ')} are not set. Create the function with the ` +
      'DriftMonitor construct, which sets them.');
  }
  return {
    captureBucket: env[DRIFT_ENV.captureBucket]!,
    capturePrefix: env[DRIFT_ENV.capturePrefix]!,
    endpointName: env[DRIFT_ENV.endpointName]!,
    features: JSON.parse(env[DRIFT_ENV.features]!),
    modelPackageGroup: env[DRIFT_ENV.modelPackageGroup]!,
    modelBucket: env[DRIFT_ENV.modelBucket]!,
    trainingFile: env[DRIFT_ENV.trainingFile]!,
    minInstances: Number(env[DRIFT_ENV.minInstances] ?? 100),
    bins: Number(env[DRIFT_ENV.bins] ?? 10),
    perFeatureMetrics: env[DRIFT_ENV.perFeatureMetrics] === 'true',
  };
}

export async function monitorDrift(c: DriftClients, event: unknown, env: Record<string, string | undefined>): Promise<DriftResult> {
  const config = driftConfig(env);
  const object = createdObject(event);
  if (!object || object.bucket !== config.captureBucket || !object.key.startsWith(config.capturePrefix) || !object.key.endsWith('.jsonl')) {
    return { published: false, reason: `not a capture file of ${config.endpointName}: ${JSON.stringify(object?.key ?? null)}` };
  }
  const { baseline, created } = await baselineOf(c, config);
  const text = await readText(c.s3, object.bucket, object.key, object.versionId);
  const instances = parseCaptureFile(text).flatMap((r) => instancesOf(r.input, config.features));
  const report = driftReport(baseline, instances, config.features, config.minInstances);

  const values: MetricValue[] = [
    { name: MONITORING_METRICS.capturedInstances, value: report.instances, unit: 'Count' },
    { name: MONITORING_METRICS.missingFeatureRate, value: report.missingFeatureRate },
  ];
  if (report.driftScore !== undefined) values.push({ name: MONITORING_METRICS.driftScore, value: report.driftScore });
  if (config.perFeatureMetrics) {
    for (const [feature, f] of Object.entries(report.features)) {
      if (f.psi !== undefined) values.push({ name: MONITORING_METRICS.featureDrift, value: f.psi, dimensions: { Feature: feature } });
    }
  }
  await publish(c.cloudwatch, endpointMetrics(config.endpointName, values, object.time));
  return { published: true, key: object.key, modelPackageArn: baseline.modelPackageArn, baselineCreated: created, report };
}

async function baselineOf(c: DriftClients, config: DriftConfig): Promise<{ baseline: DriftBaseline; created: boolean }> {
  let newest;
  for await (const page of modelPackagePages(c.sagemaker, config.modelPackageGroup, 'Approved')) {
    newest = newestApproved(page);
    if (newest) break;
  }
  if (!newest?.ModelPackageArn || newest.ModelPackageVersion === undefined) {
    throw new Error(`drift-monitor: model package group '${config.modelPackageGroup}' has no Approved model package: there is no ` +
      'baseline to compare the captured data with.');
  }
  const cached = baselines.get(newest.ModelPackageArn);
  if (cached) return { baseline: cached, created: false };

  const key = `${BASELINE_PREFIX}${config.modelPackageGroup}/${newest.ModelPackageVersion}/baseline.json`;
  const existing = await readJsonIfExists(c.s3, config.modelBucket, key);
  if (existing) {
    baselines.set(newest.ModelPackageArn, existing as DriftBaseline);
    return { baseline: existing as DriftBaseline, created: false };
  }

  const description = await c.sagemaker.send(new DescribeModelPackageCommand({ ModelPackageName: newest.ModelPackageArn }));
  const manifestUri = description.CustomerMetadataProperties?.[LINEAGE_KEYS.dataManifest];
  const manifest = manifestUri ? /^s3:\/\/([^/]+)\/(.+)$/.exec(manifestUri) : null;
  if (!manifest) {
    throw new Error(`drift-monitor: model package ${newest.ModelPackageArn} has no data manifest in its lineage ` +
      `(${LINEAGE_KEYS.dataManifest}): register models with the TrainingWorkflow, which records it.`);
  }
  const [, dataBucket, manifestKey] = manifest;
  const entries = (await readText(c.s3, dataBucket, manifestKey))
    .split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as { key: string; versionId: string });
  const training = entries.filter((e) => e.key.split('/').pop() === config.trainingFile);
  if (training.length === 0) {
    throw new Error(`drift-monitor: the data version ${manifestUri} has no file named '${config.trainingFile}' (trainingFile).`);
  }
  const rows = [];
  for (const e of training) {
    rows.push(...parseCsv(await readText(c.s3, dataBucket, e.key, e.versionId === 'null' ? undefined : e.versionId)));
  }
  const baseline = computeBaseline(rows, config.features, config.bins, { modelPackageArn: newest.ModelPackageArn, dataManifest: manifestUri! });
  try {
    // Written once: a concurrent invocation that computed the same baseline first keeps its copy.
    await c.s3.send(new PutObjectCommand({
      Bucket: config.modelBucket, Key: key, Body: JSON.stringify(baseline), ContentType: 'application/json', IfNoneMatch: '*',
    }));
  } catch (error) {
    if ((error as Error).name !== 'PreconditionFailed') throw error;
  }
  baselines.set(newest.ModelPackageArn, baseline);
  return { baseline, created: true };
}

async function readJsonIfExists(s3: S3Client, bucket: string, key: string): Promise<unknown> {
  try {
    return JSON.parse(await readText(s3, bucket, key));
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/** For tests: forget the baselines a warm function keeps. */
export function forgetBaselines(): void {
  baselines.clear();
}
