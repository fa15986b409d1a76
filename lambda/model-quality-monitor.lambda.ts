/**
 * Joins a new ground-truth labels file with the predictions the endpoint captured, and publishes the accuracy and the
 * AUC of the joined predictions: the target of an EventBridge rule on S3 "Object Created" events under the labels
 * prefix (`labels/<endpoint>/<variant>/yyyy/mm/dd/hh/...jsonl`, the hour of the labelled requests' capture). Nothing
 * runs while no labels arrive.
 *
 * Environment: see QUALITY_ENV (lib/private/contract/monitoring.ts). Invoked asynchronously (retries, then the
 * dead-letter queue). An event outside the labels prefix, or a key without the hour folders, is logged and dropped.
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { paginateListObjectsV2, S3Client } from '@aws-sdk/client-s3';
import { createdObject, endpointMetrics, MetricValue, publish } from './shared/cloudwatch-metrics';
import { CaptureRecord, parseCaptureFile } from './shared/drift';
import { captureFoldersFor, parseGroundTruth, qualityReport, QualityReport } from './shared/model-quality';
import { readText } from './shared/s3-objects';
import { sdkClientConfig } from './shared/sdk-clients';
import { MONITORING_METRICS, QUALITY_ENV } from '../lib/private/contract/monitoring';

export interface QualityClients {
  readonly s3: S3Client;
  readonly cloudwatch: CloudWatchClient;
}

const clients: QualityClients = { s3: new S3Client(sdkClientConfig()), cloudwatch: new CloudWatchClient(sdkClientConfig()) };

export type QualityResult =
  | { readonly published: true; readonly key: string; readonly captureFiles: number; readonly report: QualityReport }
  | { readonly published: false; readonly reason: string };

export async function handler(event: unknown): Promise<QualityResult> {
  const result = await monitorQuality(clients, event, process.env);
  console.log(JSON.stringify(result));
  return result;
}

export async function monitorQuality(c: QualityClients, event: unknown, env: Record<string, string | undefined>): Promise<QualityResult> {
  const missing = Object.values(QUALITY_ENV).filter((n) => !env[n]);
  if (missing.length > 0) {
    throw new Error(`model-quality-monitor: the environment variable(s) ${missing.join(', ')} are not set. Create the function with ` +
      'the ModelQualityMonitor construct, which sets them.');
  }
  const bucket = env[QUALITY_ENV.bucket]!;
  const labelsPrefix = env[QUALITY_ENV.labelsPrefix]!;
  const endpointName = env[QUALITY_ENV.endpointName]!;
  const object = createdObject(event);
  const folders = object && object.bucket === bucket ? captureFoldersFor(object.key, labelsPrefix, env[QUALITY_ENV.capturePrefix]!) : undefined;
  if (!object || !folders) {
    return {
      published: false,
      reason: `not a labels file of ${endpointName} under ${labelsPrefix}<variant>/yyyy/mm/dd/hh/: ${JSON.stringify(object?.key ?? null)}`,
    };
  }
  const labels = parseGroundTruth(await readText(c.s3, bucket, object.key, object.versionId));
  const captures: CaptureRecord[] = [];
  let captureFiles = 0;
  for (const prefix of folders) {
    for await (const page of paginateListObjectsV2({ client: c.s3 }, { Bucket: bucket, Prefix: prefix })) {
      for (const item of page.Contents ?? []) {
        if (!item.Key?.endsWith('.jsonl')) continue;
        captureFiles++;
        captures.push(...parseCaptureFile(await readText(c.s3, bucket, item.Key)));
      }
    }
  }
  const report = qualityReport(labels, captures);
  const values: MetricValue[] = [{ name: MONITORING_METRICS.labelledPredictions, value: report.joined, unit: 'Count' }];
  if (report.accuracy !== undefined) values.push({ name: MONITORING_METRICS.accuracy, value: report.accuracy });
  if (report.auc !== undefined) values.push({ name: MONITORING_METRICS.auc, value: report.auc });
  await publish(c.cloudwatch, endpointMetrics(endpointName, values, object.time));
  return { published: true, key: object.key, captureFiles, report };
}
