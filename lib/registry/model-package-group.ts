import { Arn, ArnFormat, IResource, Names, RemovalPolicy, Resource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { claimPhysicalName } from '../private/physical-names';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** A SageMaker model registry group: the versions of one model, with their approval status and lineage. */
export interface IModelPackageGroup extends IResource {
  /**
   * The group's name.
   * @attribute
   */
  readonly modelPackageGroupName: string;
  /**
   * The group's ARN.
   * @attribute
   */
  readonly modelPackageGroupArn: string;
  /** The ARN pattern of every model package (version) in the group, for IAM. */
  readonly modelPackagesArn: string;

  /** Read the group and its model packages (describe, list). */
  grantRead(grantee: iam.IGrantable): iam.Grant;
  /** Register new model packages (versions) in the group. */
  grantRegister(grantee: iam.IGrantable): iam.Grant;
  /** Change the approval status of the group's model packages. */
  grantApprove(grantee: iam.IGrantable): iam.Grant;
}

/** Props for {@link ModelPackageGroup}. */
export interface ModelPackageGroupProps {
  /**
   * The group's name: 1-63 letters, digits and hyphens, starting and ending with a letter or digit.
   * @default - a unique name derived from the construct path
   */
  readonly modelPackageGroupName?: string;
  /**
   * What the models of this group are for.
   * @default - no description
   */
  readonly description?: string;
  /**
   * Accounts that may read the group and its model packages (for example, a production account that deploys
   * them). Written to the group's resource policy.
   * @default - no other account
   */
  readonly readerAccounts?: string[];
  /**
   * What happens to the group on `cdk destroy`. A group holds the lineage of every model you shipped.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const GROUP_NAME = /^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$/;

abstract class ModelPackageGroupBase extends Resource implements IModelPackageGroup {
  public abstract readonly modelPackageGroupName: string;
  public abstract readonly modelPackageGroupArn: string;

  public get modelPackagesArn(): string {
    // SageMaker writes resource names in ARNs in lower case.
    const name = isConcrete(this.modelPackageGroupName)
      ? this.modelPackageGroupName.toLowerCase()
      : this.modelPackageGroupName;
    return Stack.of(this).formatArn({
      service: 'sagemaker',
      resource: 'model-package',
      resourceName: `${name}/*`,
      region: this.env.region,
      account: this.env.account,
    });
  }

  public grantRead(grantee: iam.IGrantable): iam.Grant {
    const describe = iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:DescribeModelPackageGroup', 'sagemaker:DescribeModelPackage'],
      resourceArns: [this.modelPackageGroupArn, this.modelPackagesArn],
    });
    // ListModelPackages has no resource-level permissions: IAM only accepts "*" for it.
    return describe.combine(
      iam.Grant.addToPrincipal({ grantee, actions: ['sagemaker:ListModelPackages'], resourceArns: ['*'] }),
    );
  }

  public grantRegister(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:CreateModelPackage', 'sagemaker:AddTags'],
      resourceArns: [this.modelPackageGroupArn, this.modelPackagesArn],
    });
  }

  public grantApprove(grantee: iam.IGrantable): iam.Grant {
    return iam.Grant.addToPrincipal({
      grantee,
      actions: ['sagemaker:UpdateModelPackage', 'sagemaker:DescribeModelPackage'],
      resourceArns: [this.modelPackagesArn],
    });
  }
}

/**
 * A SageMaker model package group (the model registry), retained on `cdk destroy`.
 *
 * @example
 * const group = new ModelPackageGroup(this, 'Models', { description: 'Fraud detector' });
 * group.grantRegister(trainingRole);
 */
export class ModelPackageGroup extends ModelPackageGroupBase {
  /** Imports a group by name (in this stack's account and region). */
  public static fromModelPackageGroupName(scope: Construct, id: string, name: string): IModelPackageGroup {
    validateName(scope, name);
    const arn = Stack.of(scope).formatArn({
      service: 'sagemaker',
      resource: 'model-package-group',
      resourceName: isConcrete(name) ? name.toLowerCase() : name,
    });
    return ModelPackageGroup.import(scope, id, name, arn);
  }

  /** Imports a group by ARN, also from another account or region. */
  public static fromModelPackageGroupArn(scope: Construct, id: string, arn: string): IModelPackageGroup {
    const parts = Arn.split(arn, ArnFormat.SLASH_RESOURCE_NAME);
    if (isConcrete(arn) && parts.resource !== 'model-package-group') {
      throw new MlOpsValidationError(
        scope,
        'ModelPackageGroup',
        'modelPackageGroupArn',
        arn,
        'Pass an ARN like arn:aws:sagemaker:<region>:<account>:model-package-group/<name>.',
      );
    }
    return ModelPackageGroup.import(scope, id, parts.resourceName!, arn);
  }

  private static import(scope: Construct, id: string, name: string, arn: string): IModelPackageGroup {
    class Import extends ModelPackageGroupBase {
      public readonly modelPackageGroupName = name;
      public readonly modelPackageGroupArn = arn;

      public get modelPackagesArn(): string {
        // Keep the partition, account and region of the imported ARN.
        return isConcrete(arn)
          ? arn.replace(/:model-package-group\/(.+)$/, (_m, n: string) => `:model-package/${n.toLowerCase()}/*`)
          : super.modelPackagesArn;
      }
    }
    return new Import(scope, id, { environmentFromArn: arn });
  }

  public readonly modelPackageGroupName: string;
  public readonly modelPackageGroupArn: string;

  constructor(scope: Construct, id: string, props: ModelPackageGroupProps = {}) {
    super(scope, id);
    const name = props.modelPackageGroupName ?? defaultName(this);
    validateName(this, name);
    claimPhysicalName(this, 'ModelPackageGroup', 'modelPackageGroupName', 'model package group', name);
    if (props.description !== undefined && props.description.length > 1024) {
      throw new MlOpsValidationError(this, 'ModelPackageGroup', 'description', `${props.description.slice(0, 40)}...`,
        'SageMaker accepts at most 1024 characters: shorten it.');
    }

    const resource = new sagemaker.CfnModelPackageGroup(this, 'Resource', {
      modelPackageGroupName: name,
      modelPackageGroupDescription: props.description,
      modelPackageGroupPolicy: props.readerAccounts?.length
        ? readerPolicy(this, name, props.readerAccounts)
        : undefined,
    });
    resource.applyRemovalPolicy(props.removalPolicy ?? RemovalPolicy.RETAIN);

    this.modelPackageGroupName = name;
    this.modelPackageGroupArn = resource.attrModelPackageGroupArn;
  }
}

function defaultName(scope: Construct): string {
  return Names.uniqueResourceName(scope, { maxLength: 63, separator: '-' })
    .replace(/[^a-zA-Z0-9-]/g, '')
    .replace(/^-+|-+$/g, '')
    .toLowerCase();
}

function validateName(scope: Construct, name: string): void {
  if (isConcrete(name) && !GROUP_NAME.test(name)) {
    throw new MlOpsValidationError(
      scope,
      'ModelPackageGroup',
      'modelPackageGroupName',
      name,
      'Use 1-63 letters, digits and hyphens, starting and ending with a letter or digit (for example "fraud-detector").',
    );
  }
}

function readerPolicy(scope: Construct, name: string, accounts: string[]): object {
  for (const account of accounts) {
    if (isConcrete(account) && !/^\d{12}$/.test(account)) {
      throw new MlOpsValidationError(scope, 'ModelPackageGroup', 'readerAccounts', account,
        'Give 12-digit AWS account ids.');
    }
  }
  const stack = Stack.of(scope);
  const lower = name.toLowerCase();
  const principals = accounts.map((a) => `arn:${stack.partition}:iam::${a}:root`);
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'ReadGroup',
        Effect: 'Allow',
        Principal: { AWS: principals },
        Action: ['sagemaker:DescribeModelPackageGroup'],
        Resource: stack.formatArn({ service: 'sagemaker', resource: 'model-package-group', resourceName: lower }),
      },
      {
        Sid: 'ReadModelPackages',
        Effect: 'Allow',
        Principal: { AWS: principals },
        Action: ['sagemaker:DescribeModelPackage', 'sagemaker:ListModelPackages'],
        Resource: stack.formatArn({ service: 'sagemaker', resource: 'model-package', resourceName: `${lower}/*` }),
      },
    ],
  };
}
