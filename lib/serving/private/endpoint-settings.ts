import * as kms from 'aws-cdk-lib/aws-kms';

/**
 * One definition of an endpoint's settings, in the form of the SageMaker and Application Auto Scaling API requests
 * (the AWS SDK integrations' parameters): ModelEndpoint and OnDemandEndpoint build it once from their props; every
 * state machine that creates or updates the endpoint renders its requests from it, and nothing else.
 */
export interface EndpointSettings {
  readonly endpointName: string;
  readonly variantName: string;
  /** The execution role SageMaker runs the model with. */
  readonly roleArn: string;
  /** CreateModel: PrimaryContainer without its Image (the image comes with each deployment). */
  readonly container: Record<string, unknown>;
  /** CreateModel: EnableNetworkIsolation, VpcConfig (absent where serverless inference excludes them). */
  readonly modelOptions: Record<string, unknown>;
  /** CreateEndpointConfig: the one ProductionVariant without its ModelName. */
  readonly variant: Record<string, unknown>;
  /** The volume key (KmsKeyId), where SageMaker accepts one. */
  readonly kmsKey?: kms.IKey;
  /** CreateEndpointConfig: DataCaptureConfig. */
  readonly dataCapture?: Record<string, unknown>;
  /** CreateEndpointConfig: AsyncInferenceConfig. */
  readonly asyncInference?: Record<string, unknown>;
  /** UpdateEndpoint: the blue/green DeploymentConfig and its longest duration; an always-on endpoint only. */
  readonly deployment?: DeploymentSettings;
  /** Target tracking of the variant's instance count; instance variants of always-on endpoints only. */
  readonly autoScaling?: AutoScalingSettings;
}

export interface DeploymentSettings {
  /** UpdateEndpoint's DeploymentConfig: BlueGreenUpdatePolicy and AutoRollbackConfiguration. */
  readonly config: Record<string, unknown>;
  /** MaximumExecutionTimeoutInSeconds of the policy (may be a token). */
  readonly maximumSeconds: number;
}

export interface AutoScalingSettings {
  readonly minCapacity: number;
  readonly maxCapacity: number;
  readonly targetInvocationsPerInstance: number;
  readonly scaleInCooldownSeconds: number;
  readonly scaleOutCooldownSeconds: number;
}

/** A SageMaker tag as the API takes it. */
export interface SdkTag {
  readonly Key: string;
  readonly Value: string;
}

/** Keeps the keys whose value is defined. */
export function compact<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** CreateModel: the model `name` runs `image` (a JSONPath, or a literal) with the endpoint's settings. */
export function createModelRequest(settings: EndpointSettings, name: string, image: string, tags: SdkTag[]): Record<string, unknown> {
  return compact({
    ModelName: name,
    ExecutionRoleArn: settings.roleArn,
    PrimaryContainer: { Image: image, ...settings.container },
    ...settings.modelOptions,
    Tags: tags,
  });
}

/** CreateEndpointConfig: the configuration `name` serves the model `name`. */
export function createEndpointConfigRequest(settings: EndpointSettings, name: string, tags: SdkTag[]): Record<string, unknown> {
  return compact({
    EndpointConfigName: name,
    ProductionVariants: [{ VariantName: settings.variantName, ModelName: name, ...settings.variant }],
    KmsKeyId: settings.kmsKey?.keyArn,
    DataCaptureConfig: settings.dataCapture,
    AsyncInferenceConfig: settings.asyncInference,
    Tags: tags,
  });
}

/** CreateEndpoint: a new endpoint has no deployment to guard, so no DeploymentConfig. */
export function createEndpointRequest(settings: EndpointSettings, configName: string, tags: SdkTag[]): Record<string, unknown> {
  return { EndpointName: settings.endpointName, EndpointConfigName: configName, Tags: tags };
}

/** UpdateEndpoint: blue/green to `configName`, keeping the instance count autoscaling chose. */
export function updateEndpointRequest(settings: EndpointSettings, configName: string): Record<string, unknown> {
  return compact({
    EndpointName: settings.endpointName,
    EndpointConfigName: configName,
    RetainAllVariantProperties: true,
    DeploymentConfig: settings.deployment?.config,
  });
}

/** Application Auto Scaling's identifiers of the variant (its user guide, "Amazon SageMaker AI and Application Auto Scaling"). */
export function scalableTargetOf(settings: EndpointSettings): Record<string, string> {
  return {
    ServiceNamespace: 'sagemaker',
    ResourceId: `endpoint/${settings.endpointName}/variant/${settings.variantName}`,
    ScalableDimension: 'sagemaker:variant:DesiredInstanceCount',
  };
}

/** RegisterScalableTarget: registers the variant, or updates its capacity range (the call is idempotent). */
export function registerScalableTargetRequest(settings: EndpointSettings): Record<string, unknown> {
  const scaling = settings.autoScaling!;
  return { ...scalableTargetOf(settings), MinCapacity: scaling.minCapacity, MaxCapacity: scaling.maxCapacity };
}

/** The scaling policy's name: one per variant, so that each deployment replaces it instead of adding one. */
export function scalingPolicyName(settings: EndpointSettings): string {
  return `${settings.endpointName}-${settings.variantName}-invocations`;
}

/** PutScalingPolicy: target tracking of invocations per instance (creates or replaces the policy of that name). */
export function putScalingPolicyRequest(settings: EndpointSettings): Record<string, unknown> {
  const scaling = settings.autoScaling!;
  return {
    PolicyName: scalingPolicyName(settings),
    PolicyType: 'TargetTrackingScaling',
    ...scalableTargetOf(settings),
    TargetTrackingScalingPolicyConfiguration: {
      TargetValue: scaling.targetInvocationsPerInstance,
      PredefinedMetricSpecification: { PredefinedMetricType: 'SageMakerVariantInvocationsPerInstance' },
      ScaleInCooldown: scaling.scaleInCooldownSeconds,
      ScaleOutCooldown: scaling.scaleOutCooldownSeconds,
    },
  };
}
