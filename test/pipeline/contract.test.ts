/**
 * The constants the pipeline constructs and their handlers share come from lib/private/contract/: what the
 * construct sets is what the handler reads.
 */
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import { triggerConfig } from '../../lambda/shared/data-trigger';
import { ledgerBucketOf, ledgerKey, ledgerPrefix } from '../../lambda/shared/deployment-ledger';
import { BucketPurpose, DataVersionTrigger, ModelEndpoint, PipelineVariables, VersionedBucket } from '../../lib';
import { DeploymentLedger } from '../../lib/pipeline/deployment-ledger';
import { DATA_PREFIX_VARIABLE, DATA_TRIGGER_ENV, TRIGGER_VARIABLE } from '../../lib/private/contract/data-trigger';
import { LEDGER_BUCKET_ENV, LEDGER_ROOT } from '../../lib/private/contract/deployment-ledger';

function environments(stack: Stack): Record<string, unknown>[] {
  return Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))
    .map((fn: any) => stack.resolve(fn.Properties.Environment?.Variables ?? {}));
}

test('the data trigger\'s function gets exactly the environment its handler reads', () => {
  const stack = new Stack(new App(), 'Test', { env: { account: '123456789012', region: 'eu-west-1' } });
  const bucket = new VersionedBucket(stack, 'Data', { purpose: BucketPurpose.DATA });
  const pipeline = codepipeline.Pipeline.fromPipelineArn(stack, 'Pipeline', 'arn:aws:codepipeline:eu-west-1:123456789012:fraud-ml');
  new DataVersionTrigger(stack, 'OnNewData', { bucket, prefix: 'datasets/fraud/', pipeline, triggerVariableName: PipelineVariables.TRIGGER });

  const [env] = environments(stack).filter((e) => DATA_TRIGGER_ENV.bucket in e);
  // Besides the SDK's own AWS_NODEJS_CONNECTION_REUSE_ENABLED, which aws-cdk-lib sets.
  expect(Object.keys(env).filter((k) => !k.startsWith('AWS_')).sort()).toEqual(Object.values(DATA_TRIGGER_ENV).sort());
  const config = triggerConfig(Object.fromEntries(Object.entries(env).map(([k, v]) => [k, typeof v === 'string' ? v : 'resolved-at-deploy'])));
  expect(config).toMatchObject({
    prefix: 'datasets/fraud/', markerSuffix: '_SUCCESS', pipelineName: 'fraud-ml', variableName: DATA_PREFIX_VARIABLE, triggerVariable: TRIGGER_VARIABLE,
  });
  // The variables the handler sets are the ones MlPipeline declares.
  expect(PipelineVariables.DATA_PREFIX).toBe(DATA_PREFIX_VARIABLE);
  expect(PipelineVariables.TRIGGER).toBe(TRIGGER_VARIABLE);
});

test('the ledger\'s functions get the bucket variable their handlers read, and IAM covers the keys they write', () => {
  const stack = new Stack(new App(), 'Test');
  const endpoint = ModelEndpoint.fromEndpointName(stack, 'Endpoint', 'fraud-prod');
  new DeploymentLedger(stack, 'Ledger', { endpoints: [endpoint] });

  const ledgerEnvironments = environments(stack).filter((e) => LEDGER_BUCKET_ENV in e);
  expect(ledgerEnvironments).toHaveLength(2);
  expect(() => ledgerBucketOf(undefined, 'x')).toThrow(LEDGER_BUCKET_ENV);
  expect(ledgerPrefix('fraud-prod').startsWith(LEDGER_ROOT)).toBe(true);
  expect(ledgerKey('fraud-prod', '2026-11-23T10:15:00.000Z', 'exec-1').startsWith(LEDGER_ROOT)).toBe(true);
  const granted = JSON.stringify(stack.resolve(Object.values(Template.fromStack(stack).findResources('AWS::IAM::Policy'))));
  expect(granted).toContain(`/${LEDGER_ROOT}*`);
});
