/**
 * Publishing the monitoring metrics: one PutMetricData call per event (at most 1000 values per call, far more than a
 * capture file's handful). Custom metrics are billed for the hours they receive data: an idle endpoint publishes none.
 */
import { CloudWatchClient, MetricDatum, PutMetricDataCommand, StandardUnit } from '@aws-sdk/client-cloudwatch';
import { MONITORING_DIMENSIONS, MONITORING_NAMESPACE } from '../../lib/private/contract/monitoring';

export interface MetricValue {
  readonly name: string;
  readonly value: number;
  readonly unit?: StandardUnit;
  /** More dimensions beside the endpoint's. */
  readonly dimensions?: Record<string, string>;
}

export function endpointMetrics(endpointName: string, values: readonly MetricValue[], timestamp: Date): MetricDatum[] {
  return values.map((v) => ({
    MetricName: v.name,
    Value: v.value,
    Unit: v.unit ?? 'None',
    Timestamp: timestamp,
    Dimensions: [
      { Name: MONITORING_DIMENSIONS.endpoint, Value: endpointName },
      ...Object.entries(v.dimensions ?? {}).map(([Name, Value]) => ({ Name, Value })),
    ],
  }));
}

export async function publish(client: CloudWatchClient, data: MetricDatum[], namespace: string = MONITORING_NAMESPACE): Promise<void> {
  if (data.length === 0) return;
  await client.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: data }));
}

/** The S3 object an EventBridge "Object Created" event names, or undefined when the event is not one. */
export function createdObject(event: unknown): { bucket: string; key: string; versionId?: string; time: Date } | undefined {
  const e = event as any;
  if (e?.source !== 'aws.s3' || e?.['detail-type'] !== 'Object Created') return undefined;
  const bucket = e.detail?.bucket?.name;
  const key = e.detail?.object?.key;
  if (typeof bucket !== 'string' || typeof key !== 'string') return undefined;
  const versionId = typeof e.detail.object['version-id'] === 'string' ? e.detail.object['version-id'] : undefined;
  const time = typeof e.time === 'string' && !Number.isNaN(Date.parse(e.time)) ? new Date(e.time) : new Date();
  return { bucket, key, versionId, time };
}
