import { Duration } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { IModelPackageGroup } from './model-package-group';
import { LatestApprovedModelFunction } from '../handlers/latest-approved-model-function';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';

/** Props for {@link LatestApprovedModelLookup}. */
export interface LatestApprovedModelLookupProps {
  /** The group whose newest Approved model package the function returns. */
  readonly modelPackageGroup: IModelPackageGroup;
  /**
   * A VPC for the function. It needs a route to the SageMaker API (NAT or an `api.sagemaker` interface endpoint).
   * @default - not in a VPC: the function only calls the SageMaker control-plane API
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the function, when `vpc` is set.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * How long the function's logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
  /**
   * The key that encrypts the function's logs.
   * @default - the stack's shared cdk-mlops logs key
   */
  readonly logEncryptionKey?: kms.IKey;
}

/**
 * A Lambda function that returns the newest Approved model package of a model package group: its ARN,
 * version, model data URL, image and customer metadata (the lineage). The champion for a champion /
 * challenger gate, or the model to deploy.
 *
 * Invoke it with `{ "modelPackageGroupName": "<name>" }` or `{}` (the group given here). It fails with the
 * error names `ModelPackageGroupNotFound` or `NoApprovedModelPackage`, which a Step Functions `Catch` can match.
 *
 * @example
 * const lookup = new LatestApprovedModelLookup(this, 'Champion', { modelPackageGroup: models });
 * lookup.grantInvoke(stateMachine);
 */
export class LatestApprovedModelLookup extends Construct {
  /** The function. */
  public readonly function: lambda.IFunction;

  constructor(scope: Construct, id: string, props: LatestApprovedModelLookupProps) {
    super(scope, id);

    const fn = new LatestApprovedModelFunction(this, 'Function', handlerOptions(this, {
      description: 'cdk-mlops: returns the newest Approved model package of a model package group',
      memorySize: 256,
      timeout: Duration.seconds(60),
      environment: { MODEL_PACKAGE_GROUP_NAME: props.modelPackageGroup.modelPackageGroupName },
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
      logRetention: props.logRetention,
      logEncryptionKey: props.logEncryptionKey,
    }));
    // Includes sagemaker:ListModelPackages on "*": that API has no resource-level permissions.
    props.modelPackageGroup.grantRead(fn);
    this.function = fn;

    acknowledgeHandler(fn, props.vpc !== undefined, {
      'AwsSolutions-IAM5[Resource::*]': REASONS.lambda.tracingAndListModelPackages,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, props.modelPackageGroup.modelPackagesArn)}]`]:
        REASONS.sagemaker.modelPackagesRead,
    });
  }

  /** Permits the grantee to invoke the function. */
  public grantInvoke(grantee: iam.IGrantable): iam.Grant {
    return this.function.grantInvoke(grantee);
  }
}
