import { Arn, ArnFormat, Duration, IResource, Names, RemovalPolicy, Resource, Size, SizeRoundingBehavior, Stack } from 'aws-cdk-lib';
import * as appscaling from 'aws-cdk-lib/aws-applicationautoscaling';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { DeploymentPolicy } from './deployment-policy';
import { hasLocalNvme, hostingFamily, knownHostingFamilies } from './hosting-instance';
import { acknowledge } from '../private/acknowledge';
import { alertsTopic } from '../private/alerts-topic';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import { createKey } from '../private/kms-key';
import { nagResourceId } from '../private/nag-resource';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { BucketPurpose } from '../storage/bucket-purpose';
import { IVersionedBucket, VersionedBucket } from '../storage/versioned-bucket';

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

/** A serverless variant: pay per request, nothing when idle. */
export interface ServerlessVariantOptions {
  /** Memory per worker: 1 to 6 GiB in whole GiB. */
  readonly memory: Size;
  /** Concurrent invocations, 1 to 200. */
  readonly maxConcurrency: number;
}

/** Asynchronous inference: requests are queued and results written to S3. */
export interface AsyncInferenceOptions {
  /** Where results are written. */
  readonly outputBucket: IVersionedBucket;
  /**
   * The key prefix of the results.
   * @default 'async-results/'
   */
  readonly outputPrefix?: string;
  /**
   * Concurrent requests per instance.
   * @default - SageMaker chooses
   */
  readonly maxConcurrentInvocationsPerInstance?: number;
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
export interface ModelEndpointProps {
  /**
   * The serving image, by digest (`<repository URI>@sha256:<digest>`): a tag can be moved, a digest cannot.
   * The model is inside the image.
   */
  readonly imageUri: string;
  /**
   * A model artifact SageMaker downloads into the container, when the model is not baked into the image.
   * @default - none: the model is in the image
   */
  readonly modelDataUrl?: string;
  /**
   * Environment variables of the serving container.
   * @default - none
   */
  readonly environment?: { [name: string]: string };
  /**
   * The endpoint's name; it stays the same when the model changes.
   * @default - a unique name derived from the construct path
   */
  readonly endpointName?: string;
  /**
   * The variant's name; it must stay the same across updates for blue/green deployments.
   * @default 'AllTraffic'
   */
  readonly variantName?: string;
  /**
   * A real-time instance type (`ml.*`). Ignored for serverless variants.
   * @default 'ml.m5.large'
   */
  readonly instanceType?: string;
  /**
   * Instances at creation (autoscaling keeps its own count across updates).
   * @default 2 when `production` is true, else 1
   */
  readonly initialInstanceCount?: number;
  /**
   * A production endpoint: it needs at least two instances (an instance failure or a deployment must not stop it).
   * @default false
   */
  readonly production?: boolean;
  /**
   * Exist only while a test runs: CloudFormation creates the endpoint's role, volume key and data capture bucket, but
   * no model, configuration, endpoint, alarms or autoscaling, so nothing is billed while idle. An
   * {@link EphemeralEndpointTest} creates the endpoint (under `endpointName`) with each new image, tests it and deletes it.
   * Meant for staging endpoints with instances (a serverless variant already costs nothing while idle); not for
   * production. `imageUri` then only scopes the role's image pull to its repository.
   * @default false
   */
  readonly onDemand?: boolean;
  /**
   * A serverless variant instead of instances: zero cost when idle; all-at-once deployments only; no data capture.
   * @default - an instance variant
   */
  readonly serverless?: ServerlessVariantOptions;
  /**
   * Asynchronous inference (instance variants only).
   * @default - real-time inference
   */
  readonly asyncInference?: AsyncInferenceOptions;
  /**
   * Network isolation: the container cannot make outbound calls. Serverless variants cannot have it (SageMaker's
   * serverless feature exclusions).
   * @default true for instance variants; not set for serverless variants
   */
  readonly networkIsolation?: boolean;
  /**
   * A VPC for the model's containers (instance variants only: serverless variants cannot have one).
   * @default - no VPC
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets, when `vpc` is set.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * The key for the storage volumes of the endpoint's instances. Not allowed with instance types that have local
   * NVMe storage (SageMaker encrypts that storage itself and rejects a key).
   * @default - a created key, except on NVMe instance types
   */
  readonly encryptionKey?: kms.IKey;
  /**
   * Capture requests and responses (instance variants only: serverless variants cannot capture).
   * @default true for instance variants
   */
  readonly dataCapture?: boolean;
  /**
   * Where captured data goes (under `data-capture/<endpoint>/`).
   * @default - a VersionedBucket is created (noncurrent versions deleted after 90 days)
   */
  readonly dataCaptureBucket?: IVersionedBucket;
  /**
   * The share of requests captured, 1 to 100 percent.
   * @default 20
   */
  readonly dataCaptureSamplingPercentage?: number;
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
   * Target-tracking autoscaling (instance variants only).
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

abstract class ModelEndpointBase extends Resource implements IModelEndpoint {
  public abstract readonly endpointName: string;
  public abstract readonly endpointArn: string;
  protected abstract readonly variant: string;

  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:InvokeEndpoint', 'sagemaker:InvokeEndpointAsync'],
      resourceArns: [this.endpointArn],
    });
  }

  public metric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: 'AWS/SageMaker',
      metricName,
      dimensionsMap: { EndpointName: this.endpointName, VariantName: this.variant },
      period: Duration.minutes(1),
      statistic: 'Sum',
      ...props,
    });
  }

  public metricInvocations(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocations', props);
  }

  public metricInvocation5XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocation5XXErrors', props);
  }

  public metricInvocation4XXErrors(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('Invocation4XXErrors', props);
  }

  public metricModelLatency(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.metric('ModelLatency', { statistic: 'p99', ...props });
  }

  public metricCpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instanceMetric('CPUUtilization', props);
  }

  public metricGpuUtilization(props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return this.instanceMetric('GPUUtilization', props);
  }

  // Instance metrics live in their own namespace.
  private instanceMetric(metricName: string, props?: cloudwatch.MetricOptions): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: '/aws/sagemaker/Endpoints',
      metricName,
      dimensionsMap: { EndpointName: this.endpointName, VariantName: this.variant },
      period: Duration.minutes(1),
      statistic: 'Average',
      ...props,
    });
  }
}

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

/**
 * The L1 properties of a ModelEndpoint that a new model version must repeat (see `ModelEndpoint._deploymentSpec`).
 * Not exported from the library: internal to cdk-mlops.
 * @internal
 */
export interface _ModelEndpointDeploymentSpec {
  /** The Model's properties (the image is replaced per version). */
  readonly model: sagemaker.CfnModelProps;
  /** The one production variant (its model name is replaced per version). */
  readonly variant: sagemaker.CfnEndpointConfig.ProductionVariantProperty;
  /** The key of the instances' volumes, if any. */
  readonly kmsKey?: kms.IKey;
  /** Data capture, if enabled. */
  readonly dataCaptureConfig?: sagemaker.CfnEndpointConfig.DataCaptureConfigProperty;
  /** Asynchronous inference, if configured. */
  readonly asyncInferenceConfig?: sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty;
  /** The blue/green policy and the rollback alarms. */
  readonly deploymentConfig: sagemaker.CfnEndpoint.DeploymentConfigProperty;
  /** The longest a deployment may take before SageMaker rolls it back, in seconds. */
  readonly maximumDeploymentSeconds?: number;
}

/**
 * A SageMaker endpoint that updates safely: a new Model and EndpointConfig per model version (CloudFormation
 * replaces them, creating the new ones before it deletes the old), a stable endpoint name and variant name, the
 * autoscaled instance count kept across updates (`RetainAllVariantProperties`), and blue/green deployments (canary,
 * linear or all at once) that roll back on alarms the construct creates: 5XX errors and p99 model latency.
 *
 * Secure defaults: image by digest, network isolation, a least-privilege execution role, KMS for the instances'
 * volumes (omitted where SageMaker forbids it), data capture to a versioned bucket.
 *
 * @example
 * const endpoint = new ModelEndpoint(this, 'Production', {
 *   imageUri: images.uriForDigest(digest),
 *   production: true,
 *   instanceType: 'ml.c6i.xlarge',
 *   deploymentPolicy: DeploymentPolicy.canary({ canaryPercent: 10 }),
 * });
 * endpoint.grantInvoke(apiFunction);
 */
export class ModelEndpoint extends ModelEndpointBase {
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
  /** True when the endpoint exists only while an EphemeralEndpointTest runs (see `onDemand`). */
  public readonly onDemand: boolean;
  protected readonly variant: string;
  private readonly deploymentSpec: _ModelEndpointDeploymentSpec;

  constructor(scope: Construct, id: string, props: ModelEndpointProps) {
    super(scope, id);
    const serverless = props.serverless;
    const instanceType = props.instanceType ?? 'ml.m5.large';
    const production = props.production ?? false;
    const initialInstanceCount = props.initialInstanceCount ?? (production ? 2 : 1);
    this.onDemand = props.onDemand ?? false;
    this.validate(props, instanceType, initialInstanceCount, production);

    this.endpointName = props.endpointName ?? Names.uniqueResourceName(this, { maxLength: 63, separator: '-' }).replace(/[^a-zA-Z0-9-]/g, '');
    this.variantName = props.variantName ?? 'AllTraffic';
    this.variant = this.variantName;
    this.endpointArn = Stack.of(this).formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: this.endpointName.toLowerCase() });

    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      description: `cdk-mlops: runs the model of the SageMaker endpoint ${this.endpointName}`,
    });
    this.role = role;
    this.grantImagePull(role, props.imageUri);
    this.grantLogs(role);

    const modelProps: sagemaker.CfnModelProps = {
      executionRoleArn: role.roleArn,
      primaryContainer: {
        image: props.imageUri,
        modelDataUrl: props.modelDataUrl,
        environment: props.environment,
      },
      // Serverless Inference excludes network isolation and VPC configuration.
      enableNetworkIsolation: serverless ? undefined : props.networkIsolation ?? true,
      vpcConfig: props.vpc && !serverless ? this.vpcConfig(props) : undefined,
    };
    const model = this.onDemand ? undefined : new sagemaker.CfnModel(this, 'Model', modelProps);
    model?.node.addDependency(role);

    // Storage encryption: a key, except where SageMaker rejects one (local NVMe storage, serverless).
    const canUseKey = !serverless && !hasLocalNvme(instanceType);
    const key = canUseKey ? props.encryptionKey ?? createKey(this, 'Key', `cdk-mlops: encrypts the volumes of the endpoint ${this.endpointName}`) : undefined;
    if (key) key.grantEncryptDecrypt(role);

    const captureEnabled = (props.dataCapture ?? true) && !serverless;
    let dataCaptureConfig: sagemaker.CfnEndpointConfig.DataCaptureConfigProperty | undefined;
    if (captureEnabled) {
      const bucket = props.dataCaptureBucket ?? new VersionedBucket(this, 'DataCapture', {
        purpose: BucketPurpose.custom('data-capture', { expireAfter: Duration.days(90) }),
      });
      this.dataCaptureBucket = bucket;
      bucket.grantWrite(role, `data-capture/${this.endpointName}/`);
      dataCaptureConfig = {
        enableCapture: true,
        initialSamplingPercentage: props.dataCaptureSamplingPercentage ?? 20,
        destinationS3Uri: bucket.s3UrlForObject(`data-capture/${this.endpointName}`),
        kmsKeyId: bucket.encryptionKey?.keyArn,
        captureOptions: [{ captureMode: 'Input' }, { captureMode: 'Output' }],
        captureContentTypeHeader: { jsonContentTypes: ['application/json'] },
      };
    }

    let asyncInferenceConfig: sagemaker.CfnEndpointConfig.AsyncInferenceConfigProperty | undefined;
    if (props.asyncInference) {
      const prefix = props.asyncInference.outputPrefix ?? 'async-results/';
      props.asyncInference.outputBucket.grantWrite(role, prefix);
      asyncInferenceConfig = {
        outputConfig: {
          s3OutputPath: props.asyncInference.outputBucket.s3UrlForObject(prefix),
          kmsKeyId: props.asyncInference.outputBucket.encryptionKey?.keyArn,
        },
        clientConfig: props.asyncInference.maxConcurrentInvocationsPerInstance !== undefined
          ? { maxConcurrentInvocationsPerInstance: props.asyncInference.maxConcurrentInvocationsPerInstance }
          : undefined,
      };
    }

    // No names: each model version replaces the Model and the EndpointConfig, and CloudFormation deletes the old
    // ones only after the endpoint has moved to the new configuration.
    const variant: sagemaker.CfnEndpointConfig.ProductionVariantProperty = {
      variantName: this.variantName,
      // An on-demand endpoint's model is created per test; the deployment names it.
      modelName: model?.attrModelName ?? '',
      initialVariantWeight: 1,
      ...(serverless
        ? { serverlessConfig: { memorySizeInMb: serverless.memory.toMebibytes(), maxConcurrency: serverless.maxConcurrency } }
        : { instanceType, initialInstanceCount }),
    };
    // What a deployment outside CloudFormation repeats: everything but the endpoint's own deployment settings.
    const spec = { model: modelProps, variant, kmsKey: key, dataCaptureConfig, asyncInferenceConfig };
    if (this.onDemand) {
      // Nothing that is billed while idle: EphemeralEndpointTest creates the rest from this specification.
      this.rollbackAlarms = [];
      this.deploymentSpec = { ...spec, deploymentConfig: {} };
      this.acknowledgeRole(role, props);
      return;
    }

    const config = new sagemaker.CfnEndpointConfig(this, 'Config', {
      productionVariants: [variant],
      kmsKeyId: key?.keyArn,
      dataCaptureConfig,
      asyncInferenceConfig,
    });
    if (!key) {
      const reason = serverless
        ? 'A serverless variant has no instance volumes to encrypt with a customer key: SageMaker manages its storage.'
        : `${instanceType} has local NVMe instance storage, which SageMaker encrypts itself; it rejects an endpoint ` +
          'configuration with KmsKeyId for such instance types.';
      acknowledge(config, {
        'HIPAA.Security-SageMakerEndpointConfigurationKMSKeyConfigured': reason,
        'NIST.800.53.R5-SageMakerEndpointConfigurationKMSKeyConfigured': reason,
        'PCI.DSS.321-SageMakerEndpointConfigurationKMSKeyConfigured': reason,
      });
    }

    this.rollbackAlarms = [...this.createAlarms(props), ...(props.rollbackAlarms ?? [])];
    // Deployment guardrails read the rollback alarms with the endpoint's execution role.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:DescribeAlarms'],
      resources: this.rollbackAlarms.map((a) => a.alarmArn),
    }));
    const defaultPolicy = serverless ? DeploymentPolicy.allAtOnce() : DeploymentPolicy.canary({ canaryPercent: 10 });
    const policy = (props.deploymentPolicy ?? defaultPolicy)._render(this);
    if (serverless && policy.type !== 'ALL_AT_ONCE') {
      throw new MlOpsValidationError(this, 'ModelEndpoint', 'deploymentPolicy', policy.type,
        'Serverless endpoints support only all-at-once blue/green deployments: use DeploymentPolicy.allAtOnce(), or an instance variant.');
    }

    const deploymentConfig: sagemaker.CfnEndpoint.DeploymentConfigProperty = {
      blueGreenUpdatePolicy: policy.blueGreenUpdatePolicy,
      autoRollbackConfiguration: { alarms: this.rollbackAlarms.map((a) => ({ alarmName: a.alarmName })) },
    };
    const endpoint = new sagemaker.CfnEndpoint(this, 'Resource', {
      endpointName: this.endpointName,
      endpointConfigName: config.attrEndpointConfigName,
      // Keep the instance count autoscaling chose when the configuration changes.
      retainAllVariantProperties: true,
      deploymentConfig,
    });
    this.deploymentSpec = {
      ...spec,
      deploymentConfig,
      maximumDeploymentSeconds: policy.blueGreenUpdatePolicy.maximumExecutionTimeoutInSeconds,
    };
    // An endpoint holds no data (its captures are in a retained bucket) and costs money while it exists.
    endpoint.applyRemovalPolicy(RemovalPolicy.DESTROY);

    if (!serverless && !(props.disableAutoScaling ?? false)) {
      this.autoScale(endpoint, initialInstanceCount, props.autoScaling ?? {});
    }
    this.acknowledgeRole(role, props);
  }

  /**
   * What a deployment outside CloudFormation (EndpointDeployment) must repeat to give the endpoint a new image: the
   * L1 properties this construct gave its Model, EndpointConfig and Endpoint.
   * @internal
   */
  public _deploymentSpec(): _ModelEndpointDeploymentSpec {
    return this.deploymentSpec;
  }

  private validate(props: ModelEndpointProps, instanceType: string, count: number, production: boolean): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'ModelEndpoint', prop, value, fix);
    };
    if (isConcrete(props.imageUri) && !/@sha256:[a-f0-9]{64}$/.test(props.imageUri)) {
      fail('imageUri', props.imageUri, 'Deploy by digest (<repository URI>@sha256:<64 hex>): a tag can be moved to another image. ' +
        'ServingImageBuild outputs IMAGE_URI by digest.');
    }
    if (this.onDemand) this.validateOnDemand(props, production);
    for (const [prop, name] of [['endpointName', props.endpointName], ['variantName', props.variantName]] as const) {
      if (name !== undefined && isConcrete(name) && !NAME.test(name)) {
        fail(prop, name, 'Use 1-63 letters, digits and hyphens, starting and ending with a letter or digit.');
      }
    }
    if (props.serverless) {
      const mib = props.serverless.memory.toMebibytes({ rounding: SizeRoundingBehavior.NONE });
      if (isConcrete(mib) && (mib < 1024 || mib > 6144 || mib % 1024 !== 0)) {
        fail('serverless.memory', `${mib} MiB`, 'Serverless endpoints take 1024 to 6144 MiB in steps of 1024 (1-6 GiB).');
      }
      const c = props.serverless.maxConcurrency;
      if (isConcrete(c) && (!Number.isInteger(c) || c < 1 || c > 200)) {
        fail('serverless.maxConcurrency', c, 'Give a whole number from 1 to 200.');
      }
      // What SageMaker's serverless feature exclusions list, when asked for explicitly.
      if (props.asyncInference) fail('asyncInference', 'set', 'Asynchronous inference needs an instance variant: remove serverless.');
      if (props.encryptionKey) fail('encryptionKey', 'set', 'A serverless variant has no instance volumes to encrypt: remove the key.');
      if (props.networkIsolation === true) {
        fail('networkIsolation', true, 'Serverless endpoints do not support network isolation: remove networkIsolation, or use an instance variant.');
      }
      if (props.vpc) fail('vpc', 'set', 'Serverless endpoints do not support a VPC configuration: remove vpc, or use an instance variant.');
      if (props.dataCapture === true || props.dataCaptureBucket) {
        fail(props.dataCapture === true ? 'dataCapture' : 'dataCaptureBucket', props.dataCapture === true ? true : 'set',
          'Serverless endpoints do not support data capture: remove it, or use an instance variant.');
      }
      return;
    }
    if (isConcrete(instanceType)) {
      if (!hostingFamily(instanceType)) {
        fail('instanceType', instanceType, `Use a SageMaker hosting type ml.<family>.<size> of ${knownHostingFamilies().join(', ')} ` +
          '(EC2 names without the "ml." prefix are not hosting types).');
      }
      if (props.encryptionKey && hasLocalNvme(instanceType)) {
        fail('encryptionKey', 'set', `${instanceType} has local NVMe storage: SageMaker encrypts it itself and rejects a KMS key ` +
          'there. Remove the key, or use an instance type without local storage.');
      }
    }
    if (isConcrete(count) && (!Number.isInteger(count) || count < 1)) {
      fail('initialInstanceCount', count, 'Give a whole number of at least 1.');
    }
    if (production && isConcrete(count) && count < 2) {
      fail('initialInstanceCount', count, 'A production endpoint needs at least 2 instances, so that one failure or a deployment does not ' +
        'stop it (SageMaker spreads them across Availability Zones). Use 2 or more, or production: false for staging.');
    }
    const scaling = props.autoScaling;
    if (scaling) {
      const min = scaling.minCapacity ?? count;
      const max = scaling.maxCapacity ?? count * 3;
      if (isConcrete(min) && isConcrete(max) && min > max) {
        fail('autoScaling', `minCapacity ${min} > maxCapacity ${max}`, 'Make minCapacity at most maxCapacity.');
      }
      if (production && isConcrete(min) && min < 2) {
        fail('autoScaling.minCapacity', min, 'A production endpoint keeps at least 2 instances: scaling in below 2 would undo that.');
      }
    }
    const p = props.dataCaptureSamplingPercentage;
    if (p !== undefined && isConcrete(p) && (!Number.isInteger(p) || p < 1 || p > 100)) {
      fail('dataCaptureSamplingPercentage', p, 'Give a whole percentage from 1 to 100.');
    }
  }

  /** What an endpoint that exists only during tests cannot have. */
  private validateOnDemand(props: ModelEndpointProps, production: boolean): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'ModelEndpoint', prop, value, fix);
    };
    if (production) {
      fail('onDemand', true, 'A production endpoint must always serve: remove onDemand (or production: true for a staging endpoint).');
    }
    if (props.serverless) {
      fail('onDemand', true, 'A serverless endpoint already costs nothing while idle: remove onDemand and keep it, which saves ' +
        'creating it for every test.');
    }
    const unused: Array<[string, unknown]> = [
      ['deploymentPolicy', props.deploymentPolicy],
      ['rollbackAlarms', props.rollbackAlarms],
      ['autoScaling', props.autoScaling],
    ];
    for (const [prop, value] of unused) {
      if (value !== undefined) {
        fail(prop, 'set', 'An on-demand endpoint is created fresh for each test and deleted after it: it has no blue/green ' +
          `deployments, rollback alarms or autoscaling. Remove ${prop}, or onDemand.`);
      }
    }
  }

  private createAlarms(props: ModelEndpointProps): cloudwatch.Alarm[] {
    const topic = props.alarmTopic ?? alertsTopic(this);
    const latency = props.latencyThreshold ?? Duration.seconds(1);
    const errors = new cloudwatch.Alarm(this, 'Errors5xx', {
      alarmName: `${this.endpointName}-${this.variantName}-5xx`,
      alarmDescription: `5XX errors of ${this.endpointName}/${this.variantName}: rolls a deployment back.`,
      metric: this.metricInvocation5XXErrors(),
      threshold: props.errorThreshold ?? 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    const slow = new cloudwatch.Alarm(this, 'LatencyP99', {
      alarmName: `${this.endpointName}-${this.variantName}-latency-p99`,
      alarmDescription: `p99 model latency of ${this.endpointName}/${this.variantName} above ${latency.toHumanString()}: rolls a deployment back.`,
      // ModelLatency is in microseconds.
      metric: this.metricModelLatency(),
      threshold: latency.toMilliseconds() * 1000,
      evaluationPeriods: 2,
      datapointsToAlarm: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    for (const alarm of [errors, slow]) alarm.addAlarmAction(new actions.SnsAction(topic));
    return [errors, slow];
  }

  private autoScale(endpoint: sagemaker.CfnEndpoint, count: number, options: EndpointAutoScalingOptions): void {
    const target = new appscaling.ScalableTarget(this, 'Scaling', {
      serviceNamespace: appscaling.ServiceNamespace.SAGEMAKER,
      resourceId: `endpoint/${this.endpointName}/variant/${this.variantName}`,
      scalableDimension: 'sagemaker:variant:DesiredInstanceCount',
      minCapacity: options.minCapacity ?? count,
      maxCapacity: options.maxCapacity ?? count * 3,
    });
    target.node.addDependency(endpoint);
    target.scaleToTrackMetric('InvocationsPerInstance', {
      targetValue: options.targetInvocationsPerInstance ?? 1000,
      predefinedMetric: appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
      scaleInCooldown: options.scaleInCooldown ?? Duration.minutes(5),
      scaleOutCooldown: options.scaleOutCooldown ?? Duration.minutes(1),
    });
  }

  /** Pull rights on the image's ECR repository, derived from the URI when it is literal. */
  private grantImagePull(role: iam.Role, imageUri: string): void {
    const match = isConcrete(imageUri) ? /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^@:]+)/.exec(imageUri) : null;
    const stack = Stack.of(this);
    const repositoryArn = match
      ? stack.formatArn({ service: 'ecr', account: match[1], region: match[2], resource: 'repository', resourceName: match[3] })
      : stack.formatArn({ service: 'ecr', resource: 'repository', resourceName: '*' });
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer', 'ecr:BatchCheckLayerAvailability'],
      resources: [repositoryArn],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }));
  }

  private grantLogs(role: iam.Role): void {
    const stack = Stack.of(this);
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents', 'logs:DescribeLogStreams'],
      resources: [stack.formatArn({ service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/Endpoints/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME })],
    }));
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: ['cloudwatch:PutMetricData'],
      resources: ['*'],
      conditions: { StringLike: { 'cloudwatch:namespace': ['/aws/sagemaker/*', 'AWS/SageMaker'] } },
    }));
  }

  private vpcConfig(props: ModelEndpointProps): sagemaker.CfnModel.VpcConfigProperty {
    const sg = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc!,
      description: `cdk-mlops: the model containers of ${this.endpointName}`,
      allowAllOutbound: false,
    });
    sg.addEgressRule(ec2.Peer.ipv4(props.vpc!.vpcCidrBlock), ec2.Port.tcp(443), 'HTTPS to VPC endpoints');
    const subnets = props.vpc!.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
    return { securityGroupIds: [sg.securityGroupId], subnets: subnets.subnetIds };
  }

  private acknowledgeRole(role: iam.Role, props: ModelEndpointProps): void {
    const policy = role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const findings: Record<string, string> = {
      'AwsSolutions-IAM5[Resource::*]':
        'ecr:GetAuthorizationToken and cloudwatch:PutMetricData (limited to the SageMaker namespaces by condition) have no ' +
        'resource-level permissions.',
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:/aws/sagemaker/Endpoints/*]':
        'SageMaker writes the container logs to /aws/sagemaker/Endpoints/<endpoint name>, created at deployment.',
      ...INLINE_ROLE_POLICY,
    };
    if (this.dataCaptureBucket) {
      const captures = this.dataCaptureBucket.bucket.arnForObjects(`data-capture/${this.endpointName}/*`);
      findings[`AwsSolutions-IAM5[Resource::${nagResourceId(this, captures)}]`] =
        'Data capture writes one object per batch of captured requests under this endpoint\'s prefix.';
      findings['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]'] = 'SSE-KMS data keys for the objects the endpoint writes (capture, results), that bucket\'s key only.';
      findings['AwsSolutions-IAM5[Action::kms:ReEncrypt*]'] = 'Granted with kms:Encrypt by aws-cdk-lib, on the keys of this endpoint\'s buckets and volumes only.';
    }
    if (props.asyncInference) {
      const prefix = props.asyncInference.outputPrefix ?? 'async-results/';
      findings[`AwsSolutions-IAM5[Resource::${nagResourceId(this, props.asyncInference.outputBucket.bucket.arnForObjects(`${prefix}*`))}]`] =
        'Asynchronous inference writes one result object per request under the output prefix.';
      findings['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]'] = 'SSE-KMS data keys for the objects the endpoint writes, those buckets\' keys only.';
      findings['AwsSolutions-IAM5[Action::kms:ReEncrypt*]'] = 'Granted with kms:Encrypt by aws-cdk-lib, on this endpoint\'s keys only.';
    }
    if (!isConcrete(props.imageUri) || !/^\d{12}\.dkr\.ecr\./.test(props.imageUri)) {
      findings['AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ecr:<AWS::Region>:<AWS::AccountId>:repository/*]'] =
        'The image URI is not a literal ECR URI, so its repository is not known at synth: pull is allowed from this account\'s repositories.';
    }
    acknowledge(policy, findings);
  }
}
