import { Duration, Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { QueryLedgerFunction } from '../handlers/query-ledger-function';
import { RecordDeploymentFunction } from '../handlers/record-deployment-function';
import { LEDGER_BUCKET_ENV, LEDGER_ROOT } from '../private/contract/deployment-ledger';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { MlOpsValidationError } from '../private/validation';
import { IModelEndpoint } from '../serving/model-endpoint';
import { BucketPurpose } from '../storage/bucket-purpose';
import { optionalBucketInput } from '../storage/private/bucket-input';
import { IVersionedBucket, VersionedBucket } from '../storage/versioned-bucket';

/** Where the records are, in the ledger bucket: `deployments/<endpointName>/<deployedAt>_<pipelineExecutionId>.json`. */
const LEDGER_PREFIX = LEDGER_ROOT;

/** Props for {@link DeploymentLedger}. */
export interface DeploymentLedgerProps {
  /** The endpoints whose deployments are recorded: the record function may describe these endpoints only. At least one. */
  readonly endpoints: IModelEndpoint[];
  /**
   * The bucket that holds the ledger (records under `deployments/`): a `VersionedBucket`, an `s3.Bucket` or an
   * imported `s3.IBucket` (with its key). Versioning must be on: it keeps a record's old version should it ever be
   * overwritten (checked at synth for a bucket made in this app).
   * @default - a new retained VersionedBucket whose noncurrent versions are kept 10 years
   */
  readonly bucket?: s3.IBucketRef;
  /**
   * A VPC for both functions. It needs a route to the SageMaker, S3 and KMS APIs (NAT, or interface endpoints and an S3
   * gateway endpoint); the record function also calls CodePipeline.
   * @default - not in a VPC: the functions only call AWS service APIs
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the functions, when `vpc` is set.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * How long the functions' logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * Answers "which model served in production at time T?": every production deployment is recorded as one JSON
 * object in a versioned, retained bucket, written after the deployment from what SageMaker says the endpoint serves.
 *
 * - `recordFunction`: a CodePipeline Lambda invoke action after the production deployment. Its `UserParameters` are
 *   `{ "endpointName", "modelPackageArn", "imageUri", "commit", "dataVersionId", "pipelineExecutionId", "approver"? }`.
 *   It checks that the endpoint is InService and serves `imageUri` (otherwise SageMaker rolled the deployment back and
 *   the job fails), writes the record once per pipeline execution and ends the job itself.
 * - `queryFunction`: invoke it with `{ "endpointName": "fraud-prod", "at": "2026-11-23T10:15:00Z" }`; it returns the
 *   last deployment recorded at or before `at`, or `record: null`.
 *
 * @example
 * const ledger = new DeploymentLedger(this, 'Ledger', { endpoints: [production] });
 * ledger.grantQuery(auditorRole);
 */
export class DeploymentLedger extends Construct {
  /** The bucket that holds the ledger. */
  public readonly bucket: IVersionedBucket;
  /** Records a deployment: a CodePipeline Lambda invoke action. */
  public readonly recordFunction: lambda.IFunction;
  /** Answers which deployment served an endpoint at a time. */
  public readonly queryFunction: lambda.IFunction;

  constructor(scope: Construct, id: string, props: DeploymentLedgerProps) {
    super(scope, id);
    if (props.endpoints.length === 0) {
      throw new MlOpsValidationError(this, 'DeploymentLedger', 'endpoints', [],
        'Give the endpoints whose deployments are recorded (at least one): the record function may describe only those.');
    }
    this.bucket = optionalBucketInput(this, 'BucketInput', props.bucket, {
      construct: 'DeploymentLedger', prop: 'bucket', why: 'The ledger relies on versioning to keep a record\'s old version.',
    }) ?? new VersionedBucket(this, 'Bucket', {
      // Records are never overwritten; should one be, its old version is kept as long as the ledger matters.
      purpose: BucketPurpose.custom('deployment-ledger', { expireAfter: Duration.days(3650) }),
    });
    const stack = Stack.of(this);

    const record = new RecordDeploymentFunction(this, 'RecordDeployment', handlerOptions(this, {
      description: 'cdk-mlops: records a production deployment in the deployment ledger (CodePipeline action)',
      memorySize: 256,
      timeout: Duration.minutes(2),
      environment: { [LEDGER_BUCKET_ENV]: this.bucket.bucketName },
      logRetention: props.logRetention,
      logGroupId: 'RecordDeploymentLogs',
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
    }));
    const endpointArns = [...new Set(props.endpoints.map((e) => e.endpointArn))];
    record.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpoint'], resources: endpointArns }));
    const endpointConfigs = stack.formatArn({ service: 'sagemaker', resource: 'endpoint-config', resourceName: '*' });
    const models = stack.formatArn({ service: 'sagemaker', resource: 'model', resourceName: '*' });
    record.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeEndpointConfig'], resources: [endpointConfigs] }));
    record.addToRolePolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModel'], resources: [models] }));
    // Lists the endpoint's records (one record per pipeline execution) and writes the new one.
    this.bucket.grantReadWrite(record, LEDGER_PREFIX);
    record.addToRolePolicy(new iam.PolicyStatement({
      actions: ['codepipeline:PutJobSuccessResult', 'codepipeline:PutJobFailureResult'],
      resources: ['*'],
    }));
    this.recordFunction = record;

    const query = new QueryLedgerFunction(this, 'QueryLedger', handlerOptions(this, {
      description: 'cdk-mlops: answers which model served on an endpoint at a given time, from the deployment ledger',
      memorySize: 256,
      timeout: Duration.minutes(1),
      environment: { [LEDGER_BUCKET_ENV]: this.bucket.bucketName },
      logRetention: props.logRetention,
      logGroupId: 'QueryLedgerLogs',
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
    }));
    this.bucket.grantRead(query, LEDGER_PREFIX);
    this.queryFunction = query;

    const records = `AwsSolutions-IAM5[Resource::${nagResourceId(this, this.bucket.bucket.arnForObjects(`${LEDGER_PREFIX}*`))}]`;
    acknowledgeHandler(record, props.vpc !== undefined, {
      'AwsSolutions-IAM5[Resource::*]': REASONS.lambda.tracingAndPutJobResults,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, endpointConfigs)}]`]:
        REASONS.sagemaker.ledgerConfigs,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(this, models)}]`]:
        REASONS.sagemaker.ledgerModels,
      [records]: REASONS.s3.ledgerRecordsWrite,
      ...(this.bucket.encryptionKey ? {
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': REASONS.kms.bucketWriteDataKeys,
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': REASONS.kms.bucketWriteReEncrypt,
      } : {}),
    });
    acknowledgeHandler(query, props.vpc !== undefined, {
      [records]: REASONS.s3.ledgerRecordsRead,
    });
  }

  /** Permits the grantee to query the ledger (invoke the query function). */
  public grantQuery(grantee: iam.IGrantable): iam.Grant {
    return this.queryFunction.grantInvoke(grantee);
  }
}
