/**
 * The promise "no unacknowledged finding in the five cdk-nag packs" in the app shapes platform teams use: no
 * environment, a fixed account and region, the layers split across stacks with cross-stack references, inside a
 * Stage. In each, a deliberately over-broad grant must still surface: acknowledgements cover exactly the library's
 * own findings.
 */
import { App, Stage } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IConstruct } from 'constructs';
import { splitStacks } from './split-stacks';
import { MlOpsReferenceStack } from '../../bin/mlops-reference-stack';
import { complianceFindings } from '../support/compliance';

const FIXED_ENV = { account: '111111111111', region: 'eu-west-1' };

/** Gives the training state machine's role a grant the library never makes. */
function overBroadGrant(scope: IConstruct): void {
  const role = scope.node.findAll().find((c) => c instanceof iam.Role && /\/(Training|Workflow)\/Resource\/Role$/.test(c.node.path)) as iam.Role;
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['sagemaker:DeleteEndpoint', 's3:DeleteBucket'], resources: ['*'] }));
}

const SHAPES: Array<[string, (app: App) => IConstruct]> = [
  ['no environment', (app) => new MlOpsReferenceStack(app, 'Reference')],
  ['its layers in four stacks with cross-stack references', (app) => { splitStacks(app); return app; }],
  ['its layers in four stacks with a fixed environment', (app) => { splitStacks(app, { env: FIXED_ENV }); return app; }],
  ['a fixed account and region', (app) => new MlOpsReferenceStack(app, 'Reference', { env: FIXED_ENV })],
  ['inside a Stage with a fixed environment', (app) => {
    const stage = new Stage(app, 'Prod', { env: FIXED_ENV });
    new MlOpsReferenceStack(stage, 'Reference');
    return stage;
  }],
];

describe.each(SHAPES)('the reference app with %s', (_shape, build) => {
  test('has no unacknowledged finding', () => {
    expect(complianceFindings((app) => { build(app); })).toEqual([]);
  });

  test('still reports an over-broad grant on "*"', () => {
    const findings = complianceFindings((app) => overBroadGrant(build(app)));
    expect(findings.filter((f) => f.startsWith('AwsSolutions-IAM5[Resource::*]') && /\/(Training|Workflow)\/Resource\/Role\//.test(f))).not.toEqual([]);
  });
});
