import { Stack, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Construct } from 'constructs';
import { DeploymentNames } from './deployment-tasks';
import { acknowledge } from '../../private/acknowledge';
import { INLINE_ROLE_POLICY } from '../../private/common-findings';
import { REASONS } from '../../private/nag-reasons';
import { nagResourceId } from '../../private/nag-resource';
import { ModelEndpoint } from '../model-endpoint';

/**
 * The role an inference experiment runs with (CreateInferenceExperiment's RoleArn), apart from the endpoint's execution
 * role, which only runs the model.
 *
 * What AWS documents of this role: the API Reference (CreateInferenceExperiment, RoleArn) says SageMaker assumes it "to
 * access model artifacts and container images, and manage Amazon SageMaker Inference endpoints for model deployment";
 * the Developer Guide ("Create a shadow test") has the console pick a role with the AWS managed policy
 * AmazonSageMakerFullAccess; the trust policy of every SageMaker execution role names sagemaker.amazonaws.com ("How to
 * use SageMaker AI execution roles"). No page lists the actions the experiment performs. The statements below are the
 * calls that "manage the endpoint" for a shadow variant takes (the experiment adds the shadow variant to the endpoint
 * and removes it at the end, as the console does with a new endpoint configuration), scoped to this endpoint, any
 * endpoint configuration (SageMaker names the ones it creates) and this endpoint's models; they are not confirmed by AWS.
 * Give `experimentRole` (for example with AmazonSageMakerFullAccess) if SageMaker refuses them.
 *
 * The images are pulled with each model's own execution role (CreateModel, ExecutionRoleArn), which this role passes
 * on to SageMaker when it creates the configuration.
 */
export function shadowExperimentRole(scope: Construct, endpoint: ModelEndpoint, names: DeploymentNames): iam.Role {
  const stack = Stack.of(scope);
  const anyConfig = stack.formatArn({ service: 'sagemaker', resource: 'endpoint-config', resourceName: '*' });
  // Production's model was named by a deployment of this endpoint: the same prefix, unless the name is a token (then
  // each construct derives its own prefix).
  const models = Token.isUnresolved(endpoint.endpointName)
    ? stack.formatArn({ service: 'sagemaker', resource: 'model', resourceName: '*' })
    : names.modelArns;
  const role = new iam.Role(scope, 'ExperimentRole', {
    assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
    description: `cdk-mlops: the shadow tests' inference experiments on endpoint ${endpoint.endpointName}`,
  });
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['sagemaker:DescribeEndpoint', 'sagemaker:UpdateEndpoint'],
    resources: [endpoint.endpointArn],
  }));
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['sagemaker:CreateEndpointConfig', 'sagemaker:DescribeEndpointConfig', 'sagemaker:DeleteEndpointConfig', 'sagemaker:AddTags'],
    resources: [anyConfig],
  }));
  role.addToPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DescribeModel'], resources: [models] }));
  // The Service Authorization Reference lists iam:PassRole (to sagemaker.amazonaws.com) among CreateEndpointConfig's
  // actions: the models' execution role.
  role.addToPolicy(new iam.PolicyStatement({
    actions: ['iam:PassRole'],
    resources: [endpoint.role.roleArn],
    conditions: { StringEquals: { 'iam:PassedToService': 'sagemaker.amazonaws.com' } },
  }));
  const key = endpoint._settings.kmsKey;
  if (key) {
    // The shadow's volumes use the endpoint's volume key: SageMaker creates a grant on it when it launches them.
    role.addToPolicy(new iam.PolicyStatement({ actions: ['kms:DescribeKey'], resources: [key.keyArn] }));
    role.addToPolicy(new iam.PolicyStatement({
      actions: ['kms:CreateGrant'],
      resources: [key.keyArn],
      conditions: { Bool: { 'kms:GrantIsForAWSResource': 'true' } },
    }));
  }
  const policy = role.node.tryFindChild('DefaultPolicy');
  if (policy) {
    acknowledge(policy, {
      [`AwsSolutions-IAM5[Resource::${nagResourceId(scope, anyConfig)}]`]: REASONS.sagemaker.experimentConfigs,
      [`AwsSolutions-IAM5[Resource::${nagResourceId(scope, models)}]`]: REASONS.sagemaker.experimentModels,
      ...INLINE_ROLE_POLICY,
    });
  }
  return role;
}
