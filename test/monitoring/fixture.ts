import { App, Stack } from 'aws-cdk-lib';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import { BucketPurpose, ModelEndpoint, ModelImageRepository, ModelPackageGroup, VersionedBucket } from '../../lib';

export const PIPELINE_ARN = 'arn:aws:codepipeline:us-east-1:123456789012:fraud-ml';
export const FEATURES = ['age', 'income', 'debt_ratio'];

/** A stack with what the monitors watch: a production endpoint capturing data, its registry, the model and data buckets. */
export function monitoredStack(app = new App()) {
  // Environment-agnostic, as the reference app is.
  const stack = new Stack(app, 'Test');
  const endpoint = new ModelEndpoint(stack, 'Production', {
    imageRepository: new ModelImageRepository(stack, 'Images', { repositoryName: 'fraud-serving' }),
    endpointName: 'fraud-prod',
    production: true,
  });
  const registry = new ModelPackageGroup(stack, 'Registry', { modelPackageGroupName: 'fraud' });
  const models = new VersionedBucket(stack, 'Models', { purpose: BucketPurpose.MODELS });
  const data = new VersionedBucket(stack, 'Data', { purpose: BucketPurpose.DATA });
  const pipeline = codepipeline.Pipeline.fromPipelineArn(stack, 'Pipeline', PIPELINE_ARN);
  return { stack, endpoint, registry, models, data, pipeline };
}

/** Every statement of the policies whose name starts with `prefix`. */
export function statementsOf(template: { findResources(type: string, props?: any): Record<string, any> }, prefix: RegExp): any[] {
  const policies = template.findResources('AWS::IAM::Policy');
  return Object.values(policies)
    .filter((p: any) => prefix.test(p.Properties.PolicyName))
    .flatMap((p: any) => p.Properties.PolicyDocument.Statement);
}
