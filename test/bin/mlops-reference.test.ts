import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { MlOpsReferenceStack } from '../../bin/mlops-reference-stack';
import { complianceFindings } from '../support/compliance';

test('the reference stack has no unacknowledged finding in the five cdk-nag packs', () => {
  expect(complianceFindings((app) => new MlOpsReferenceStack(app, 'Reference'))).toEqual([]);
});

test('the reference stack meets the AWS Control Tower proactive controls, but for exemptions recorded on resources', () => {
  expect(complianceFindings((app) => new MlOpsReferenceStack(app, 'Reference'), { controlTower: true })).toEqual([]);
});

test('the reference stack is environment-agnostic and its template is stable', () => {
  const stack = new MlOpsReferenceStack(new App(), 'MlOpsReference');
  expect(stack.resolve(stack.account)).toEqual({ Ref: 'AWS::AccountId' });
  expect(Template.fromStack(stack).toJSON()).toMatchSnapshot();
});
