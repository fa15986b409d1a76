import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { EndpointOptions } from './endpoint-options';
import { DeployableEndpoint, ModelEndpointBase } from './private/endpoint-base';
import { endpointCore } from './private/endpoint-core';
import { EndpointSettings } from './private/endpoint-settings';
import { IVersionedBucket } from '../storage/versioned-bucket';

/** Props for {@link OnDemandEndpoint}. */
export interface OnDemandEndpointProps extends EndpointOptions {}

/**
 * A staging endpoint with instances that exists only while a test runs, so it costs nothing while idle: CloudFormation
 * creates its role (image pull from `imageRepository` only), volume key and data capture bucket, and nothing that is
 * billed. An {@link EphemeralEndpointTest} creates the model, the configuration and the endpoint (under `endpointName`)
 * with each new image, tests it and deletes them. It has no blue/green deployments, rollback alarms or autoscaling:
 * each test gets a fresh endpoint. A serverless staging endpoint already costs nothing while idle: use a
 * {@link ModelEndpoint} with `serverless` and an {@link EndpointDeployment} for it instead.
 *
 * @example
 * const staging = new OnDemandEndpoint(this, 'Staging', { imageRepository: servingImages, instanceType: 'ml.c6i.large' });
 * const test = new EndpointTestRunner(this, 'StagingTest', { endpoint: staging, samples });
 * new EphemeralEndpointTest(this, 'EphemeralStaging', { endpoint: staging, test });
 */
export class OnDemandEndpoint extends ModelEndpointBase implements DeployableEndpoint {
  public readonly endpointName: string;
  public readonly endpointArn: string;
  /** The variant's name. */
  public readonly variantName: string;
  /** The role SageMaker runs the model with. */
  public readonly role: iam.IRole;
  /** Where data capture writes, if enabled. */
  public readonly dataCaptureBucket?: IVersionedBucket;
  /**
   * The endpoint's settings, as the test's API requests take them.
   * @internal
   */
  public readonly _settings: EndpointSettings;
  protected readonly variant: string;

  constructor(scope: Construct, id: string, props: OnDemandEndpointProps) {
    super(scope, id);
    const core = endpointCore(this, props, { kind: 'OnDemandEndpoint', production: false });
    this.endpointName = core.endpointName;
    this.endpointArn = core.endpointArn;
    this.variantName = core.variantName;
    this.variant = core.variantName;
    this.role = core.role;
    this.dataCaptureBucket = core.dataCaptureBucket;
    this._settings = core.settings;
  }
}
