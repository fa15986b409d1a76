import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, exemptFromControlTower } from './acknowledge';
import {
  INLINE_ROLE_POLICY,
  LAMBDA_BASIC_EXECUTION_ROLE,
  LAMBDA_CONCURRENCY,
  LAMBDA_OUTSIDE_VPC,
  LAMBDA_SYNCHRONOUS,
  LAMBDA_VPC_ACCESS_EXECUTION_ROLE,
} from './common-findings';
import { encryptedLogGroup } from './log-group';
import { NagReason, REASONS } from './nag-reasons';
import { MlOpsValidationError } from './validation';

/** What differs between the library's pre-bundled handlers; everything else is set the same way for all. */
export interface HandlerSettings {
  readonly description: string;
  readonly memorySize: number;
  readonly timeout: Duration;
  readonly environment: Record<string, string>;
  readonly vpc?: ec2.IVpc;
  readonly vpcSubnets?: ec2.SubnetSelection;
  readonly logRetention?: logs.RetentionDays;
  readonly logEncryptionKey?: kms.IKey;
  /** The log group's construct id, when a scope holds several handlers. */
  readonly logGroupId?: string;
}

/**
 * Function options shared by every handler: arm64 (cheaper per GB-second), X-Ray tracing, JSON logs into a
 * KMS-encrypted, retained log group, private subnets when a VPC is given.
 */
export function handlerOptions(scope: Construct, settings: HandlerSettings): lambda.FunctionOptions {
  if (settings.vpcSubnets !== undefined && settings.vpc === undefined) {
    throw MlOpsValidationError.missing(scope, scope.constructor.name, 'vpc', 'vpcSubnets selects subnets of a VPC: give vpc too, or remove vpcSubnets.');
  }
  return {
    description: settings.description,
    architecture: lambda.Architecture.ARM_64,
    memorySize: settings.memorySize,
    timeout: settings.timeout,
    tracing: lambda.Tracing.ACTIVE,
    loggingFormat: lambda.LoggingFormat.JSON,
    logGroup: encryptedLogGroup(scope, settings.logGroupId ?? 'Logs', { retention: settings.logRetention, encryptionKey: settings.logEncryptionKey }),
    vpc: settings.vpc,
    vpcSubnets: settings.vpc ? settings.vpcSubnets ?? { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS } : undefined,
    environment: settings.environment,
  };
}

/**
 * The acknowledgements every handler needs, on the function and its role's policy, plus those the caller adds for
 * the wildcards of its own grants (`policyFindings`). A synchronously invoked handler has no dead-letter queue (its
 * caller receives the error); an asynchronously invoked one must have one (`asynchronous`).
 */
export function acknowledgeHandler(fn: lambda.Function, inVpc: boolean, policyFindings: Record<string, NagReason>, asynchronous = false): void {
  const policy = fn.role?.node.tryFindChild('DefaultPolicy');
  if (policy) {
    acknowledge(policy, {
      'AwsSolutions-IAM5[Resource::*]': REASONS.lambda.tracing,
      ...INLINE_ROLE_POLICY,
      ...policyFindings,
    });
  }
  const invocation = asynchronous ? LAMBDA_CONCURRENCY : LAMBDA_SYNCHRONOUS;
  // In a VPC, CDK gives the role a second managed policy (network interfaces); outside, the function is the finding.
  acknowledge(fn, { ...LAMBDA_BASIC_EXECUTION_ROLE, ...(inVpc ? LAMBDA_VPC_ACCESS_EXECUTION_ROLE : LAMBDA_OUTSIDE_VPC), ...invocation });
  if (!inVpc) {
    exemptFromControlTower(fn.node.defaultChild as lambda.CfnFunction, { lambda_inside_vpc_check: REASONS.lambda.outsideVpc });
  }
}
