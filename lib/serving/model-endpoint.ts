import { Arn, ArnFormat, Duration, IResource, Stack, Token } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DeploymentPolicy } from './deployment-policy';
import { EndpointOptions, ServerlessVariantOptions } from './endpoint-options';
import { DeployableEndpoint, ModelEndpointBase } from './private/endpoint-base';
import { endpointCore } from './private/endpoint-core';
import { EndpointSettings } from './private/endpoint-settings';
import { alertsTopic } from '../private/alerts-topic';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { IVersionedBucket } from '../storage/versioned-bucket';

/** A SageMaker endpoint that can be invoked and observed. */
export interface IModelEndpoint extends IResource {
  /**
   * The endpoint's name (stable across model versions).
   * @attribute
   */
  readonly endpointName: string;
  /**
   * The endpoint's ARN.
   * @attribute
   */
  readonly endpointArn: string;
  /** Invoke the endpoint (real-time, and asynchronous when it is configured so). */
  grantInvoke(grantee: iam.IGrantable): iam.Grant;
  /** A metric of the endpoint's variant (namespace AWS/SageMaker). */
  metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Invocations (sum per minute). */
  metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Invocations that ended in a 5XX error (sum per minute). */
  metricInvocation5XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Invocations that ended in a 4XX error (sum per minute). */
  metricInvocation4XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** Model latency in microseconds (p99 per minute). */
  metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** CPU utilization of the instances, percent (one CPU is 100%). */
  metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
  /** GPU utilization of the instances, percent (one GPU is 100%). */
  metricGpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric;
}

/** Target-tracking autoscaling of an instance variant. */
export interface EndpointAutoScalingOptions {
  /**
   * The fewest instances.
   * @default - the initial instance count
   */
  readonly minCapacity?: number;
  /**
   * The most instances.
   * @default - three times the initial instance count
   */
  readonly maxCapacity?: number;
  /**
   * Invocations per instance per minute to aim for.
   * @default 1000
   */
  readonly targetInvocationsPerInstance?: number;
  /**
   * Wait after scaling in.
   * @default Duration.minutes(5)
   */
  readonly scaleInCooldown?: Duration;
  /**
   * Wait after scaling out.
   * @default Duration.minutes(1)
   */
  readonly scaleOutCooldown?: Duration;
}

/** Props for {@link ModelEndpoint}. */
export interface ModelEndpointProps extends EndpointOptions {
  /**
   * A production endpoint: it needs at least two instances (an instance failure or a deployment must not stop it).
   * @default false
   */
  readonly production?: boolean;
  /**
   * A serverless variant instead of instances: zero cost when idle; all-at-once deployments only; no data capture.
   * @default - an instance variant
   */
  readonly serverless?: ServerlessVariantOptions;
  /**
   * How updates move traffic to a new model.
   * @default - canary 10% for instance variants, all at once for serverless; 10 minutes of baking
   */
  readonly deploymentPolicy?: DeploymentPolicy;
  /**
   * 5XX errors per minute that roll a deployment back (and alarm).
   * @default 1
   */
  readonly errorThreshold?: number;
  /**
   * The p99 model latency that rolls a deployment back (and alarms).
   * @default Duration.seconds(1)
   */
  readonly latencyThreshold?: Duration;
  /**
   * More alarms that roll a deployment back.
   * @default - none
   */
  readonly rollbackAlarms?: cloudwatch.IAlarm[];
  /**
   * Target-tracking autoscaling (instance variants only), applied by every deployment once the endpoint is in service.
   * @default - on: from the initial count to three times it, 1000 invocations per instance per minute
   */
  readonly autoScaling?: EndpointAutoScalingOptions;
  /**
   * Turn autoscaling off.
   * @default false
   */
  readonly disableAutoScaling?: boolean;
  /**
   * Where the alarms send their notifications.
   * @default - the stack's cdk-mlops alerts topic (KMS-encrypted)
   */
  readonly alarmTopic?: sns.ITopic;
}

/**
 * An always-on SageMaker endpoint that comes to life with its first deployment. CloudFormation creates what must
 * exist before any model: the execution role (image pull from `imageRepository` only, network isolation by default),
 * the volume key (omitted where SageMaker forbids it), the data capture bucket and the rollback alarms (5XX errors and
 * p99 model latency, in INSUFFICIENT_DATA until the endpoint serves). The model, its configuration, the endpoint and
 * its autoscaling are not CloudFormation resources: an {@link EndpointDeployment} creates the endpoint with the first
 * image it is given and updates it, blue/green with automatic rollback, with every later one; so a `cdk deploy` never
 * changes the model an endpoint serves, and a first `cdk deploy` needs no image.
 *
 * `cdk destroy` leaves the endpoint, its endpoint configurations and models, and its scalable target in place, billed
 * while the endpoint exists: delete them with the commands in EndpointDeployment's documentation.
 *
 * @example
 * const endpoint = new ModelEndpoint(this, 'Production', {
 *   imageRepository: servingImages,
 *   production: true,
 *   instanceType: 'ml.c6i.xlarge',
 *   deploymentPolicy: DeploymentPolicy.canary({ canaryPercent: 10 }),
 * });
 * new EndpointDeployment(this, 'Deploy', { endpoint });
 * endpoint.grantInvoke(api);
 */
export class ModelEndpoint extends ModelEndpointBase implements DeployableEndpoint {
  /** Imports an endpoint by name (its variant is assumed to be `AllTraffic` for metrics). */
  public static fromEndpointName(scope: Construct, id: string, endpointName: string, variantName: string = 'AllTraffic'): IModelEndpoint {
    const arn = Stack.of(scope).formatArn({
      service: 'sagemaker',
      resource: 'endpoint',
      resourceName: isConcrete(endpointName) ? endpointName.toLowerCase() : endpointName,
    });
    return ModelEndpoint.import(scope, id, endpointName, arn, variantName);
  }

  /** Imports an endpoint by ARN. */
  public static fromEndpointArn(scope: Construct, id: string, endpointArn: string, variantName: string = 'AllTraffic'): IModelEndpoint {
    const name = Arn.split(endpointArn, ArnFormat.SLASH_RESOURCE_NAME).resourceName!;
    return ModelEndpoint.import(scope, id, name, endpointArn, variantName);
  }

  private static import(scope: Construct, id: string, name: string, arn: string, variantName: string): IModelEndpoint {
    class Import extends ModelEndpointBase {
      public readonly endpointName = name;
      public readonly endpointArn = arn;
      protected readonly variant = variantName;
    }
    return new Import(scope, id, { environmentFromArn: arn });
  }

  public readonly endpointName: string;
  public readonly endpointArn: string;
  /** The variant's name. */
  public readonly variantName: string;
  /** The role SageMaker runs the model with. */
  public readonly role: iam.IRole;
  /** The alarms that roll a deployment back (5XX errors, p99 latency, and yours). */
  public readonly rollbackAlarms: cloudwatch.IAlarm[];
  /** Where data capture writes, if enabled. */
  public readonly dataCaptureBucket?: IVersionedBucket;
  /**
   * The endpoint's settings, as the deployment's API requests take them.
   * @internal
   */
  public readonly _settings: EndpointSettings;
  protected readonly variant: string;

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const serverless = props.serverless;
    const production = props.production ?? false;
    // A serverless variant has no instances: these would be silently ignored.
    for (const [prop, given] of [['autoScaling', props.autoScaling], ['initialInstanceCount', props.initialInstanceCount]] as const) {
      if (serverless && given !== undefined) {
        throw MlOpsValidationError.notAllowed(this, 'ModelEndpoint', prop, 'serverless', 'A serverless variant has no instances to count ' +
          'or scale (SageMaker scales it up to serverless.maxConcurrency): remove it, or use an instance variant.');
      }
    }
    const core = endpointCore(this, props, { kind: 'ModelEndpoint', serverless, production });
    this.endpointName = core.endpointName;
    this.endpointArn = core.endpointArn;
    this.variantName = core.variantName;
    this.variant = core.variantName;
    this.role = core.role;
    this.dataCaptureBucket = core.dataCaptureBucket;
    const count = props.initialInstanceCount ?? (production ? 2 : 1);
    const autoScaling = serverless || (props.disableAutoScaling ?? false) ? undefined : this.autoScalingSettings(props, count, production);

    this.rollbackAlarms = [...this.createAlarms(props), ...(props.rollbackAlarms ?? [])];
    // Deployment guardrails read the rollback alarms with the endpoint's execution role.
    core.role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:DescribeAlarms'],
      resources: this.rollbackAlarms.map((a) => a.alarmArn),
    }));
    const defaultPolicy = serverless ? DeploymentPolicy.allAtOnce() : DeploymentPolicy.canary({ canaryPercent: 10 });
    const policy = (props.deploymentPolicy ?? defaultPolicy)._render(this);
    if (serverless && policy.type !== 'ALL_AT_ONCE') {
      throw new MlOpsValidationError(this, 'ModelEndpoint', 'deploymentPolicy', policy.type,
        'Serverless endpoints support only all-at-once blue/green deployments: use DeploymentPolicy.allAtOnce(), or an instance variant.');
    }
    this._settings = {
      ...core.settings,
      deployment: {
        config: {
          BlueGreenUpdatePolicy: policy.blueGreenUpdatePolicy,
          AutoRollbackConfiguration: { Alarms: this.rollbackAlarms.map((a) => ({ AlarmName: a.alarmName })) },
        },
        maximumSeconds: policy.maximumSeconds,
      },
      autoScaling,
    };
  }

  private autoScalingSettings(props: ModelEndpointProps, count: number, production: boolean) {
    const options = props.autoScaling ?? {};
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'ModelEndpoint', prop, value, fix);
    };
    if (options.maxCapacity === undefined && !isConcrete(count)) {
      // Three times a token cannot be computed at synth (CloudFormation has no multiplication).
      throw MlOpsValidationError.missing(this, 'ModelEndpoint', 'autoScaling.maxCapacity',
        'initialInstanceCount is a token, so the default maximum (three times it) cannot be computed at synth: give ' +
        'autoScaling.maxCapacity (a number or a token), or disableAutoScaling: true.');
    }
    const min = options.minCapacity ?? count;
    const max = options.maxCapacity ?? count * 3;
    const target = options.targetInvocationsPerInstance;
    if (isConcrete(target) && !(target > 0)) {
      fail('autoScaling.targetInvocationsPerInstance', target, 'Target tracking needs a target above 0 (at 0 every instance is always ' +
        'over target, so the variant would only scale out): give the invocations per instance per minute to aim for, e.g. 1000.');
    }
    if (isConcrete(min) && isConcrete(max) && min > max) fail('autoScaling', `minCapacity ${min} > maxCapacity ${max}`, 'Make minCapacity at most maxCapacity.');
    if (isConcrete(min) && min < 1) fail('autoScaling.minCapacity', min, 'Application Auto Scaling keeps at least 1 instance of a variant: give 1 or more.');
    if (production && isConcrete(min) && min < 2) {
      fail('autoScaling.minCapacity', min, 'A production endpoint keeps at least 2 instances: scaling in below 2 would undo that.');
    }
    return {
      minCapacity: min,
      maxCapacity: max,
      targetInvocationsPerInstance: options.targetInvocationsPerInstance ?? 1000,
      scaleInCooldownSeconds: (options.scaleInCooldown ?? Duration.minutes(5)).toSeconds(),
      scaleOutCooldownSeconds: (options.scaleOutCooldown ?? Duration.minutes(1)).toSeconds(),
    };
  }

  private createAlarms(props: ModelEndpointProps): cloudwatch.Alarm[] {
    const topic = props.alarmTopic ?? alertsTopic(this);
    const latency = props.latencyThreshold ?? Duration.seconds(1);
    const latencyMs = latency.toMilliseconds();
    const errorThreshold = props.errorThreshold ?? 1;
    // Both alarms compare "at or above" / "above": a threshold of 0 breaches on every minute with traffic, so every
    // deployment would roll back.
    if (isConcrete(errorThreshold) && !(errorThreshold > 0)) {
      throw new MlOpsValidationError(this, 'ModelEndpoint', 'errorThreshold', errorThreshold, 'The alarm fires at or above the ' +
        'threshold, so at 0 it fires on every minute with traffic and every deployment rolls back: give 1 or more 5XX errors per minute.');
    }
    if (isConcrete(latencyMs) && !(latencyMs > 0)) {
      throw new MlOpsValidationError(this, 'ModelEndpoint', 'latencyThreshold', latency.toHumanString(), 'The alarm fires above the ' +
        'threshold, so at 0 any served request breaches it and every deployment rolls back: give the p99 latency allowed, e.g. Duration.millis(500).');
    }
    const errors = new cloudwatch.Alarm(this, 'Errors5xx', {
      alarmName: `${this.endpointName}-${this.variantName}-5xx`,
      alarmDescription: `5XX errors of ${this.endpointName}/${this.variantName}: rolls a deployment back.`,
      metric: this.metricInvocation5XXErrors(),
      threshold: errorThreshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const slow = new cloudwatch.Alarm(this, 'LatencyP99', {
      alarmName: `${this.endpointName}-${this.variantName}-latency-p99`,
      alarmDescription: `p99 model latency of ${this.endpointName}/${this.variantName} above ${isConcrete(latencyMs) ? latency.toHumanString()
        : `${Token.asString(latencyMs)} ms`}: rolls a deployment back.`,
      // ModelLatency is in microseconds. A token threshold (in ms) cannot be multiplied at synth: metric math converts
      // the metric to milliseconds instead.
      metric: isConcrete(latencyMs) ? this.metricModelLatency() : new cloudwatch.MathExpression({
        expression: 'latency / 1000',
        usingMetrics: { latency: this.metricModelLatency() },
        label: 'p99 ModelLatency (ms)',
        period: Duration.minutes(1),
      }),
      threshold: isConcrete(latencyMs) ? latencyMs * 1000 : latencyMs,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [errors, slow]) alarm.addAlarmAction(new actions.SnsAction(topic));
    return [errors, slow];
  }

}
