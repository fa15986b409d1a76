import { Duration, Stack, Token } from 'aws-cdk-lib';
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
import { DriftMonitorFunction } from '../handlers/drift-monitor-function';
import { alertsTopic } from '../private/alerts-topic';
import { BASELINE_PREFIX, CAPTURE_ROOT, DRIFT_ENV, MONITORING_METRICS, MONITORING_NAMESPACE } from '../private/contract/monitoring';
import { LONGEST_EVENT_RETRY } from '../private/dead-letter-queue';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { IModelPackageGroup } from '../registry/model-package-group';
import { IModelEndpoint } from '../serving/model-endpoint';
import { bucketInput, optionalBucketInput } from '../storage/private/bucket-input';
import { IVersionedBucket } from '../storage/versioned-bucket';

/** Props for {@link DriftMonitor}. */
export interface DriftMonitorProps extends EventHandlerOptions {
  /** The endpoint whose captured requests are compared with the training data. */
  readonly endpoint: IModelEndpoint;
  /**
   * The bucket the endpoint's data capture writes to (under `data-capture/<endpoint name>/`). It must send its events
   * to EventBridge (a VersionedBucket does unless created with `eventBridgeEnabled: false`).
   * @default - the endpoint's `dataCaptureBucket` (a ModelEndpoint with data capture on)
   */
  readonly captureBucket?: s3.IBucketRef;
  /** The registry of the endpoint's models: the newest Approved package is the model whose baseline applies. */
  readonly modelPackageGroup: IModelPackageGroup;
  /** Where baselines are kept, under `baselines/<group>/<version>/` (the models bucket). */
  readonly modelBucket: s3.IBucketRef;
  /** The data bucket: the data manifest of each model's lineage, and the training files it lists, are read from it. */
  readonly dataBucket: s3.IBucketRef;
  /**
   * The numeric features to watch, as the requests name them (`{"instances": [{"age": 41, ...}]}`); the order of the
   * values of list-form instances and CSV requests.
   */
  readonly features: string[];
  /**
   * The base name of the training files (CSV with a header row) in a data version; every file of that name is read.
   * @default 'train.csv'
   */
  readonly trainingFile?: string;
  /**
   * The largest population stability index (PSI) of any feature, in a capture file, that raises the drift alarm.
   * @default 0.25 (a large shift by the usual reading: below 0.1 no change, 0.1-0.25 moderate)
   */
  readonly driftThreshold?: number;
  /**
   * The share of captured instances missing a feature that raises the missing-features alarm (0-1).
   * @default 0.1
   */
  readonly missingFeatureThreshold?: number;
  /**
   * Fewest instances in a capture file for its drift score to count (a PSI of a few values is noise).
   * @default 100
   */
  readonly minInstances?: number;
  /**
   * Bins of each feature's baseline (the training data's quantiles).
   * @default 10
   */
  readonly bins?: number;
  /**
   * Also publish one FeatureDrift metric per feature (each is a custom metric, billed for the hours it receives data).
   * @default false - the log line of each capture file holds every feature's PSI
   */
  readonly perFeatureMetrics?: boolean;
  /**
   * The period the alarms read (the largest score in it counts).
   * @default Duration.hours(1)
   */
  readonly alarmPeriod?: Duration;
}

/**
 * Data-quality drift of an endpoint, computed from its captured requests: the equivalent of SageMaker Model Monitor's
 * data-quality schedule that costs nothing while there is no traffic.
 *
 * Why not Model Monitor: a monitoring schedule runs a processing job every hour (billed per instance-hour, whatever
 * the traffic) and needs the endpoint to exist when CloudFormation creates it, while the endpoints of this library are
 * created by their first deployment. Here an EventBridge rule on S3 "Object Created" events of the capture files
 * (`data-capture/<endpoint>/**.jsonl`) invokes a small function per file: it compares the file's instances with the
 * baseline of the serving model (the population stability index of each numeric feature over the training data's
 * quantile bins, and the share of instances missing each feature), and publishes `DriftScore`, `MissingFeatureRate`
 * and `CapturedInstances` in the `cdk-mlops/Monitoring` namespace. No traffic: no capture file, no invocation, no
 * metric data, no charge.
 *
 * The baseline is computed lazily, by the same function, the first time a capture file arrives for a new model
 * version: from the training files of the data version in the model package's lineage, written to
 * `s3://<model bucket>/baselines/<group>/<version>/baseline.json` and reused afterwards.
 *
 * The drift alarm and the missing-features alarm notify the alerts topic; give `driftAlarm` to a
 * {@link RetrainingTrigger} to retrain on drift.
 *
 * @example
 * const drift = new DriftMonitor(this, 'Drift', {
 *   endpoint: production, modelPackageGroup: models, modelBucket: artifacts, dataBucket: data,
 *   features: ['age', 'income', 'debt_ratio', 'tenure_months', 'late_payments'],
 * });
 * new RetrainingTrigger(this, 'Retrain', { pipeline: mlPipeline.pipeline, alarms: [drift.driftAlarm] });
 */
export class DriftMonitor extends Construct {
  /** The endpoint watched. */
  public readonly endpointName: string;
  /** The function that reads each capture file. */
  public readonly function: lambda.IFunction;
  /** The rule on the capture files. */
  public readonly rule: events.Rule;
  /** In alarm when a capture file's largest feature PSI reaches the threshold. */
  public readonly driftAlarm: cloudwatch.Alarm;
  /** In alarm when too many captured instances miss a feature. */
  public readonly missingFeaturesAlarm: cloudwatch.Alarm;
  /** Capture events that could not be processed. */
  public readonly deadLetterQueue: sqs.IQueue;
  /** In alarm when the dead-letter queue holds events. */
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The drift score that raises the drift alarm. */
  public readonly driftThreshold: number;
  private readonly period: Duration;

  constructor(scope: Construct, id: string, props: DriftMonitorProps) {
    super(scope, id);
    this.endpointName = props.endpoint.endpointName;
    this.period = props.alarmPeriod ?? Duration.hours(1);
    const modelBucket = bucketInput(this, 'ModelBucket', props.modelBucket);
    const dataBucket = bucketInput(this, 'DataBucket', props.dataBucket);
    const captureBucket = optionalBucketInput(this, 'CaptureBucket', props.captureBucket) ?? (props.endpoint as { dataCaptureBucket?: IVersionedBucket }).dataCaptureBucket;
    const trainingFile = props.trainingFile ?? 'train.csv';
    const driftThreshold = props.driftThreshold ?? 0.25;
    this.driftThreshold = driftThreshold;
    const missingThreshold = props.missingFeatureThreshold ?? 0.1;
    const minInstances = props.minInstances ?? 100;
    const bins = props.bins ?? 10;
    this.validate(props, captureBucket, trainingFile, driftThreshold, missingThreshold, minInstances, bins);
    const capturePrefix = `${CAPTURE_ROOT}${this.endpointName}/`;
    const baselinePrefix = `${BASELINE_PREFIX}${props.modelPackageGroup.modelPackageGroupName}/`;
    const topic = props.alarmTopic ?? alertsTopic(this);

    this.deadLetterQueue = props.deadLetterQueue ?? deadLetterQueue(this);
    const fn = new DriftMonitorFunction(this, 'Function', {
      ...handlerOptions(this, {
        description: `cdk-mlops: compares the captured requests of ${this.endpointName} with the serving model's training data`,
        memorySize: 1024,
        timeout: Duration.minutes(5),
        environment: {
          [DRIFT_ENV.captureBucket]: captureBucket!.bucketName,
          [DRIFT_ENV.capturePrefix]: capturePrefix,
          [DRIFT_ENV.endpointName]: this.endpointName,
          [DRIFT_ENV.features]: JSON.stringify(props.features),
          [DRIFT_ENV.modelPackageGroup]: props.modelPackageGroup.modelPackageGroupName,
          [DRIFT_ENV.modelBucket]: modelBucket.bucketName,
          [DRIFT_ENV.trainingFile]: trainingFile,
          [DRIFT_ENV.minInstances]: String(minInstances),
          [DRIFT_ENV.bins]: String(bins),
          [DRIFT_ENV.perFeatureMetrics]: String(props.perFeatureMetrics ?? false),
        },
        logRetention: props.logRetention,
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
      }),
      deadLetterQueue: this.deadLetterQueue,
    });
    captureBucket!.grantRead(fn, capturePrefix);
    modelBucket.grantReadWrite(fn, baselinePrefix);
    dataBucket.grantRead(fn);
    props.modelPackageGroup.grantRead(fn);
    fn.addToRolePolicy(putMonitoringMetrics());
    acknowledgeHandler(fn, props.vpc !== undefined, {
      'AwsSolutions-IAM5[Resource::*]': REASONS.lambda.tracingListModelPackagesAndPutMetricData(MONITORING_NAMESPACE),
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, captureBucket!.bucket.arnForObjects(`${capturePrefix}*`))}]`]:
        REASONS.s3.captureFiles,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, modelBucket.bucket.arnForObjects(`${baselinePrefix}*`))}]`]:
        REASONS.s3.driftBaselines,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, dataBucket.bucket.arnForObjects('*'))}]`]:
        REASONS.s3.lineageData,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, props.modelPackageGroup.modelPackagesArn)}]`]:
        REASONS.sagemaker.modelPackagesLineage,
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': REASONS.kms.bucketWriteDataKeys,
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': REASONS.kms.bucketWriteReEncrypt,
    }, true);
    this.function = fn;

    this.rule = new events.Rule(this, 'Rule', {
      description: `cdk-mlops: each data capture file of ${this.endpointName} is compared with the training baseline`,
      eventPattern: {
        source: ['aws.s3'],
        detailType: ['Object Created'],
        detail: {
          bucket: { name: [captureBucket!.bucketName] },
          object: { key: [{ wildcard: `${capturePrefix}*.jsonl` }] },
        },
      },
      targets: [new targets.LambdaFunction(fn, { deadLetterQueue: this.deadLetterQueue, ...LONGEST_EVENT_RETRY })],
    });

    this.driftAlarm = new cloudwatch.Alarm(this, 'DriftAlarm', {
      alarmDescription: `Captured requests of ${this.endpointName} drifted from the serving model's training data: a feature's ` +
        `population stability index reached ${driftThreshold} (see the drift function's log for which).`,
      metric: this.metricDriftScore(),
      threshold: driftThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No traffic is no drift.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.missingFeaturesAlarm = new cloudwatch.Alarm(this, 'MissingFeaturesAlarm', {
      alarmDescription: `More than ${isConcrete(missingThreshold) ? `${missingThreshold * 100}%` : `a share of ${Token.asString(missingThreshold)}`} of the captured instances of ${this.endpointName} miss a feature ` +
        'the model was trained on (or send it as a non-number).',
      metric: this.metricMissingFeatureRate(),
      threshold: missingThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [this.driftAlarm, this.missingFeaturesAlarm]) alarm.addAlarmAction(new cwActions.SnsAction(topic));
    this.deadLetterAlarm = deadLetterAlarm(this, this.deadLetterQueue, topic,
      `Capture files of ${this.endpointName} could not be compared with the baseline: see the dead-letter queue and the function's logs.`);
  }

  /** The largest feature PSI of a capture file (Maximum over the alarm period). */
  public metricDriftScore(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return monitoringMetric(this.endpointName, MONITORING_METRICS.driftScore, 'Maximum', this.period, props);
  }

  /** The largest share of captured instances missing a feature (Maximum over the alarm period). */
  public metricMissingFeatureRate(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return monitoringMetric(this.endpointName, MONITORING_METRICS.missingFeatureRate, 'Maximum', this.period, props);
  }

  /** Captured instances read (Sum over the alarm period). */
  public metricCapturedInstances(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return monitoringMetric(this.endpointName, MONITORING_METRICS.capturedInstances, 'Sum', this.period, props);
  }

  /** One feature's PSI (Maximum over the alarm period): published only with `perFeatureMetrics`. */
  public metricFeatureDrift(feature: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return monitoringMetric(this.endpointName, MONITORING_METRICS.featureDrift, 'Maximum', this.period, props, { Feature: feature });
  }

  private validate(props: DriftMonitorProps, captureBucket: IVersionedBucket | undefined, trainingFile: string, drift: number,
    missing: number, minInstances: number, bins: number): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'DriftMonitor', prop, value, fix);
    };
    if (!captureBucket) {
      fail('captureBucket', 'none', 'The endpoint has no data capture bucket (serverless, or dataCapture: false): turn data capture on, ' +
        'or pass the bucket it captures to.');
    }
    if (props.features.length === 0) fail('features', '[]', 'Name at least one numeric feature of the requests.');
    const seen = new Set<string>();
    for (const f of props.features) {
      if (isConcrete(f) && (f === '' || seen.has(f))) fail('features', JSON.stringify(props.features), 'Give each feature once, by a non-empty name.');
      seen.add(f);
    }
    if (isConcrete(trainingFile) && (trainingFile === '' || trainingFile.includes('/'))) {
      fail('trainingFile', trainingFile, 'Give the base name of the training files, e.g. "train.csv" (no folder).');
    }
    if (isConcrete(drift) && !(drift > 0)) fail('driftThreshold', drift, 'Give a PSI above 0, e.g. 0.25.');
    if (isConcrete(missing) && !(missing >= 0 && missing < 1)) fail('missingFeatureThreshold', missing, 'Give a share from 0 to below 1, e.g. 0.1.');
    if (isConcrete(minInstances) && !(Number.isInteger(minInstances) && minInstances >= 1)) {
      fail('minInstances', minInstances, 'Give a whole number of at least 1.');
    }
    if (isConcrete(bins) && !(Number.isInteger(bins) && bins >= 2 && bins <= 100)) fail('bins', bins, 'Give a whole number from 2 to 100.');
    const period = props.alarmPeriod?.toSeconds();
    if (period !== undefined && isConcrete(period) && (period < 60 || period % 60 !== 0)) {
      fail('alarmPeriod', props.alarmPeriod!.toHumanString(), 'Give whole minutes (CloudWatch periods of standard-resolution metrics).');
    }
    const region = Stack.of(this).region;
    if (isConcrete(region) && isConcrete(captureBucket!.env.region) && captureBucket!.env.region !== region) {
      fail('captureBucket', captureBucket!.env.region, 'Put the monitor in the capture bucket\'s region: S3 sends its events to EventBridge there.');
    }
  }
}
