import { ArnFormat, Duration, Names, SizeRoundingBehavior, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { compact, EndpointSettings } from './endpoint-settings';
import { acknowledge } from '../../private/acknowledge';
import { INLINE_ROLE_POLICY } from '../../private/common-findings';
import { createKey } from '../../private/kms-key';
import { NagReason, REASONS } from '../../private/nag-reasons';
import { nagArnId, nagResourceId } from '../../private/nag-resource';
import { isConcrete, MlOpsValidationError } from '../../private/validation';
import { BucketPurpose } from '../../storage/bucket-purpose';
import { bucketInput, optionalBucketInput } from '../../storage/private/bucket-input';
import { IVersionedBucket, VersionedBucket } from '../../storage/versioned-bucket';
import { EndpointOptions, ServerlessVariantOptions } from '../endpoint-options';
import { hasLocalNvme, hostingFamily, knownHostingFamilies } from '../hosting-instance';

/**
 * What exists before any model, for an always-on and an on-demand endpoint alike: the execution role (image pull from
 * the serving repository only, logs, metrics), the volume key, the data capture bucket and the security group; and the
 * endpoint's settings (EndpointSettings) without the deployment and autoscaling parts, which only ModelEndpoint has.
 */
export interface EndpointCore {
  readonly endpointName: string;
  readonly variantName: string;
  readonly endpointArn: string;
  readonly role: iam.Role;
  readonly dataCaptureBucket?: IVersionedBucket;
  readonly settings: EndpointSettings;
}

export interface EndpointCoreOptions {
  /** The construct's class, for error messages. */
  readonly kind: string;
  readonly serverless?: ServerlessVariantOptions;
  readonly production: boolean;
}

const NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

export function endpointCore(scope: Construct, props: EndpointOptions, options: EndpointCoreOptions): EndpointCore {
  const serverless = options.serverless;
  const instanceType = props.instanceType ?? 'ml.m5.large';
  const count = props.initialInstanceCount ?? (options.production ? 2 : 1);
  validate(scope, props, options, instanceType, count);

  const endpointName = props.endpointName ?? Names.uniqueResourceName(scope, { maxLength: 63, separator: '-' }).replace(/[^a-zA-Z0-9-]/g, '');
  const variantName = props.variantName ?? 'AllTraffic';
  const stack = Stack.of(scope);
  const endpointArn = stack.formatArn({ service: 'sagemaker', resource: 'endpoint', resourceName: isConcrete(endpointName) ? endpointName.toLowerCase() : endpointName });

  const role = new iam.Role(scope, 'Role', {
    assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
    description: `cdk-mlops: runs the model of the SageMaker endpoint ${endpointName}`,
  });
  // Pull from the serving repository only (and decrypt its images through ECR, with a customer managed key).
  props.imageRepository.grantPull(role);
  grantLogs(role);

  // Storage encryption: a key, except where SageMaker rejects one (local NVMe storage, serverless).
  const canUseKey = !serverless && !hasLocalNvme(instanceType);
  const kmsKey: kms.IKey | undefined = canUseKey
    ? props.encryptionKey ?? createKey(scope, 'Key', `cdk-mlops: encrypts the volumes of the endpoint ${endpointName}`)
    : undefined;
  if (kmsKey) kmsKey.grantEncryptDecrypt(role);

  let dataCaptureBucket: IVersionedBucket | undefined;
  let dataCapture: Record<string, unknown> | undefined;
  if ((props.dataCapture ?? true) && !serverless) {
    dataCaptureBucket = optionalBucketInput(scope, 'DataCaptureBucketInput', props.dataCaptureBucket) ?? new VersionedBucket(scope, 'DataCapture', {
      purpose: BucketPurpose.custom('data-capture', { expireAfter: Duration.days(90) }),
    });
    dataCaptureBucket.grantWrite(role, `data-capture/${endpointName}/`);
    dataCapture = compact({
      EnableCapture: true,
      InitialSamplingPercentage: props.dataCaptureSamplingPercentage ?? 20,
      DestinationS3Uri: dataCaptureBucket.s3UrlForObject(`data-capture/${endpointName}`),
      KmsKeyId: dataCaptureBucket.encryptionKey?.keyArn,
      CaptureOptions: [{ CaptureMode: 'Input' }, { CaptureMode: 'Output' }],
      CaptureContentTypeHeader: { JsonContentTypes: ['application/json'] },
    });
  }

  let asyncInference: Record<string, unknown> | undefined;
  if (props.asyncInference) {
    const prefix = props.asyncInference.outputPrefix ?? 'async-results/';
    const outputBucket = bucketInput(scope, 'AsyncOutputBucket', props.asyncInference.outputBucket);
    outputBucket.grantWrite(role, prefix);
    const perInstance = props.asyncInference.maxConcurrentInvocationsPerInstance;
    asyncInference = compact({
      OutputConfig: compact({
        S3OutputPath: outputBucket.s3UrlForObject(prefix),
        KmsKeyId: outputBucket.encryptionKey?.keyArn,
      }),
      ClientConfig: perInstance !== undefined ? { MaxConcurrentInvocationsPerInstance: perInstance } : undefined,
    });
  }

  const settings: EndpointSettings = {
    endpointName,
    variantName,
    roleArn: role.roleArn,
    container: compact({ ModelDataUrl: props.modelDataUrl, Environment: props.environment }),
    // Serverless Inference excludes network isolation and VPC configuration.
    modelOptions: serverless ? {} : compact({
      EnableNetworkIsolation: props.networkIsolation ?? true,
      VpcConfig: props.vpc ? vpcConfig(scope, props, endpointName) : undefined,
    }),
    variant: serverless
      ? { InitialVariantWeight: 1, ServerlessConfig: { MemorySizeInMB: serverless.memory.toMebibytes(), MaxConcurrency: serverless.maxConcurrency } }
      : { InitialVariantWeight: 1, InstanceType: instanceType, InitialInstanceCount: count },
    kmsKey,
    dataCapture,
    asyncInference,
  };
  acknowledgeRole(scope, role, props, endpointName, dataCaptureBucket);
  return { endpointName, variantName, endpointArn, role, dataCaptureBucket, settings };
}

function validate(scope: Construct, props: EndpointOptions, options: EndpointCoreOptions, instanceType: string, count: number): void {
  const fail = (prop: string, value: unknown, fix: string) => {
    throw new MlOpsValidationError(scope, options.kind, prop, value, fix);
  };
  for (const [prop, name] of [['endpointName', props.endpointName], ['variantName', props.variantName]] as const) {
    if (name !== undefined && isConcrete(name) && !NAME.test(name)) {
      fail(prop, name, 'Use 1-63 letters, digits and hyphens, starting and ending with a letter or digit.');
    }
  }
  const serverless = options.serverless;
  if (serverless) {
    const mib = serverless.memory.toMebibytes({ rounding: SizeRoundingBehavior.NONE });
    if (isConcrete(mib) && (mib < 1024 || mib > 6144 || mib % 1024 !== 0)) {
      fail('serverless.memory', `${mib} MiB`, 'Serverless endpoints take 1024 to 6144 MiB in steps of 1024 (1-6 GiB).');
    }
    const c = serverless.maxConcurrency;
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
  if (options.production && isConcrete(count) && count < 2) {
    fail('initialInstanceCount', count, 'A production endpoint needs at least 2 instances, so that one failure or a deployment does not ' +
      'stop it (SageMaker spreads them across Availability Zones). Use 2 or more, or production: false for staging.');
  }
  const p = props.dataCaptureSamplingPercentage;
  if (p !== undefined && isConcrete(p) && (!Number.isInteger(p) || p < 1 || p > 100)) {
    fail('dataCaptureSamplingPercentage', p, 'Give a whole percentage from 1 to 100.');
  }
}

function grantLogs(role: iam.Role): void {
  const stack = Stack.of(role);
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

function vpcConfig(scope: Construct, props: EndpointOptions, endpointName: string): Record<string, unknown> {
  const sg = new ec2.SecurityGroup(scope, 'SecurityGroup', {
    vpc: props.vpc!,
    description: `cdk-mlops: the model containers of ${endpointName}`,
    allowAllOutbound: false,
  });
  sg.addEgressRule(ec2.Peer.ipv4(props.vpc!.vpcCidrBlock), ec2.Port.tcp(443), 'HTTPS to VPC endpoints');
  const subnets = props.vpc!.selectSubnets(props.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS });
  return { SecurityGroupIds: [sg.securityGroupId], Subnets: subnets.subnetIds };
}

function acknowledgeRole(scope: Construct, role: iam.Role, props: EndpointOptions, endpointName: string, captures?: IVersionedBucket): void {
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (!policy) return;
  const findings: Record<string, NagReason> = {
    'AwsSolutions-IAM5[Resource::*]': REASONS.sagemaker.endpointRoleWithoutResources,
    [`AwsSolutions-IAM5[Resource::${nagArnId(role, {
      service: 'logs', resource: 'log-group', resourceName: '/aws/sagemaker/Endpoints/*', arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    })}]`]:
      REASONS.sagemaker.endpointLogGroups,
    ...INLINE_ROLE_POLICY,
  };
  if (captures) {
    const objects = captures.bucket.arnForObjects(`data-capture/${endpointName}/*`);
    findings[`AwsSolutions-IAM5[Resource::${nagResourceId(scope, objects)}]`] =
      REASONS.s3.dataCaptureObjects;
    findings['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]'] = REASONS.kms.endpointDataKeys;
    findings['AwsSolutions-IAM5[Action::kms:ReEncrypt*]'] = REASONS.kms.endpointReEncrypt;
  }
  if (props.asyncInference) {
    const prefix = props.asyncInference.outputPrefix ?? 'async-results/';
    findings[`AwsSolutions-IAM5[Resource::${nagResourceId(scope, bucketInput(scope, 'AsyncOutputBucket', props.asyncInference.outputBucket).bucket.arnForObjects(`${prefix}*`))}]`] =
      REASONS.s3.asyncResults;
    findings['AwsSolutions-IAM5[Action::kms:GenerateDataKey*]'] = REASONS.kms.endpointDataKeys;
    findings['AwsSolutions-IAM5[Action::kms:ReEncrypt*]'] = REASONS.kms.endpointReEncrypt;
  }
  acknowledge(policy, findings);
}
