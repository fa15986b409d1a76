import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cwActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EventHandlerOptions } from '../event-handler-options';
import { deadLetterAlarm, deadLetterQueue, monitoringMetric, putMonitoringMetrics } from './private/async-target';
import { ModelQualityMonitorFunction } from '../handlers/model-quality-monitor-function';
import { alertsTopic } from '../private/alerts-topic';
import { CAPTURE_ROOT, LABELS_ROOT, MONITORING_METRICS, MONITORING_NAMESPACE, QUALITY_ENV } from '../private/contract/monitoring';
import { LONGEST_EVENT_RETRY } from '../private/dead-letter-queue';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { IModelEndpoint } from '../serving/model-endpoint';
import { optionalBucketInput } from '../storage/private/bucket-input';
import { IVersionedBucket } from '../storage/versioned-bucket';

/** Props for {@link ModelQualityMonitor}. */
export interface ModelQualityMonitorProps extends EventHandlerOptions {
  /** The endpoint whose captured predictions are labelled. */
  readonly endpoint: IModelEndpoint;
  /**
   * The bucket the endpoint captures to; the labels are written to the same bucket.
   * @default - the endpoint's `dataCaptureBucket` (a ModelEndpoint with data capture on)
   */
  readonly captureBucket?: s3.IBucketRef;
  /**
   * Where the team writes ground-truth labels: `<prefix><variant>/yyyy/mm/dd/hh/<any name>.jsonl`, the hour being the
   * hour the labelled requests were captured in.
   * @default 'labels/<endpoint name>/'
   */
  readonly labelsPrefix?: string;
  /**
   * The accuracy below which the quality alarm goes off (0-1).
   * @default 0.8
   */
  readonly minAccuracy?: number;
  /**
   * The AUC below which a second alarm goes off (0-1).
   * @default - no AUC alarm (the metric is published)
   */
  readonly minAuc?: number;
  /**
   * The period the alarms read (the lowest value in it counts).
   * @default Duration.hours(1)
   */
  readonly alarmPeriod?: Duration;
}

/**
 * Model quality of an endpoint where ground-truth labels arrive: each labels file the team writes is joined with the
 * captured predictions by inference id, and the accuracy and the AUC of the joined predictions are published
 * (`Accuracy`, `Auc`, `LabelledPredictions` in `cdk-mlops/Monitoring`), with an alarm below `minAccuracy` (and
 * `minAuc`). Nothing runs while no labels arrive.
 *
 * A labels file holds SageMaker Model Monitor's ground-truth records, one JSON line per labelled request:
 * `{"groundTruthData": {"data": "1", "encoding": "CSV"}, "eventMetadata": {"eventId": "<InferenceId>"}, "eventVersion": "0"}`.
 * The id is the `InferenceId` the caller passed to InvokeEndpoint (or, without one, the `eventId` SageMaker captured).
 * Labels are 0 or 1; the prediction is the first of the response (`{"predictions": [{"probability", "label"}]}`).
 */
export class ModelQualityMonitor extends Construct {
  public readonly endpointName: string;
  /** Where the team writes the labels. */
  public readonly labelsPrefix: string;
  public readonly function: lambda.IFunction;
  public readonly rule: events.Rule;
  /** In alarm when the accuracy of labelled predictions falls below `minAccuracy`. */
  public readonly accuracyAlarm: cloudwatch.Alarm;
  /** In alarm when the AUC falls below `minAuc`, when given. */
  public readonly aucAlarm?: cloudwatch.Alarm;
  public readonly deadLetterQueue: sqs.IQueue;
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: ModelQualityMonitorProps) {
    super(scope, id);
    this.endpointName = props.endpoint.endpointName;
    this.period = props.alarmPeriod ?? Duration.hours(1);
    const bucket = optionalBucketInput(this, 'CaptureBucket', props.captureBucket) ?? (props.endpoint as { dataCaptureBucket?: IVersionedBucket }).dataCaptureBucket;
    this.labelsPrefix = props.labelsPrefix ?? `${LABELS_ROOT}${this.endpointName}/`;
    const capturePrefix = `${CAPTURE_ROOT}${this.endpointName}/`;
    const minAccuracy = props.minAccuracy ?? 0.8;
    this.validate(props, bucket, capturePrefix, minAccuracy);
    const topic = props.alarmTopic ?? alertsTopic(this);

    this.deadLetterQueue = props.deadLetterQueue ?? deadLetterQueue(this);
    const fn = new ModelQualityMonitorFunction(this, 'Function', {
      ...handlerOptions(this, {
        description: `cdk-mlops: joins ground-truth labels with the captured predictions of ${this.endpointName}`,
        memorySize: 1024,
        timeout: Duration.minutes(5),
        environment: {
          [QUALITY_ENV.bucket]: bucket!.bucketName,
          [QUALITY_ENV.capturePrefix]: capturePrefix,
          [QUALITY_ENV.labelsPrefix]: this.labelsPrefix,
          [QUALITY_ENV.endpointName]: this.endpointName,
        },
        logRetention: props.logRetention,
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
      }),
      deadLetterQueue: this.deadLetterQueue,
    });
    bucket!.grantRead(fn, capturePrefix);
    bucket!.grantRead(fn, this.labelsPrefix);
    fn.addToRolePolicy(putMonitoringMetrics());
    acknowledgeHandler(fn, props.vpc !== undefined, {
      'AwsSolutions-IAM5[Resource::*]': REASONS.lambda.tracingAndPutMetricData(MONITORING_NAMESPACE),
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, bucket!.bucket.arnForObjects(`${capturePrefix}*`))}]`]:
        REASONS.s3.captureFiles,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, bucket!.bucket.arnForObjects(`${this.labelsPrefix}*`))}]`]:
        REASONS.s3.labelsFiles,
    }, true);
    this.function = fn;

    this.rule = new events.Rule(this, 'Rule', {
      description: `cdk-mlops: each ground-truth labels file of ${this.endpointName} measures its model's quality`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: { bucket: { name: [bucket!.bucketName] }, object: { key: [{ prefix: this.labelsPrefix }] } },
      },
      targets: [new targets.LambdaFunction(fn, { deadLetterQueue: this.deadLetterQueue, ...LONGEST_EVENT_RETRY })],
    });

    const below = (alarmId: string, metric: cloudwatch.Metric, threshold: number, what: string) => {
      const alarm = new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: `The ${what} of ${this.endpointName}'s labelled predictions fell below ${threshold}.`,
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // No labels is no evidence either way.
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm.addAlarmAction(new cwActions.SnsAction(topic));
      return alarm;
    };
    this.accuracyAlarm = below('AccuracyAlarm', this.metricAccuracy(), minAccuracy, 'accuracy');
    if (props.minAuc !== undefined) this.aucAlarm = below('AucAlarm', this.metricAuc(), props.minAuc, 'AUC');
    this.deadLetterAlarm = deadLetterAlarm(this, this.deadLetterQueue, topic,
      `Labels files of ${this.endpointName} could not be joined with the captured predictions: see the dead-letter queue and the function's logs.`);
  }

  /** Accuracy of the labelled predictions (Minimum over the alarm period). */
  public metricAccuracy(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return monitoringMetric(this.endpointName, MONITORING_METRICS.accuracy, 'Minimum', this.period, props);
  }

  /** AUC of the labelled predictions (Minimum over the alarm period). */
  public metricAuc(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return monitoringMetric(this.endpointName, MONITORING_METRICS.auc, 'Minimum', this.period, props);
  }

  /** Labelled predictions joined with their capture (Sum over the alarm period). */
  public metricLabelledPredictions(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return monitoringMetric(this.endpointName, MONITORING_METRICS.labelledPredictions, 'Sum', this.period, props);
  }

  private validate(props: ModelQualityMonitorProps, bucket: IVersionedBucket | undefined, capturePrefix: string, minAccuracy: number): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'ModelQualityMonitor', prop, value, fix);
    };
    if (!bucket) {
      fail('captureBucket', 'none', 'The endpoint has no data capture bucket (serverless, or dataCapture: false): turn data capture on, ' +
        'or pass the bucket it captures to.');
    }
    const prefix = this.labelsPrefix;
    if (isConcrete(prefix) && (prefix === '' || !prefix.endsWith('/') || prefix.startsWith('/'))) {
      fail('labelsPrefix', prefix, 'Give a folder like "labels/fraud-prod/": not empty, ending in "/", not starting with "/".');
    }
    if (isConcrete(prefix) && isConcrete(capturePrefix) && (prefix.startsWith(capturePrefix) || capturePrefix.startsWith(prefix))) {
      fail('labelsPrefix', prefix, `Keep the labels apart from the capture files (${capturePrefix}): their events would mix.`);
    }
    for (const [prop, value] of [['minAccuracy', minAccuracy], ['minAuc', props.minAuc]] as const) {
      if (value !== undefined && isConcrete(value) && !(value > 0 && value <= 1)) fail(prop, value, 'Give a value above 0 and at most 1.');
    }
  }
}
