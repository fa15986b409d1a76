import { Stack } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { LatestApprovedModelLookup, ModelPackageGroup } from '../../lib';
import { stackFindings } from '../support/compliance';

/** A VPC whose private subnets reach AWS APIs through one NAT gateway, with flow logs (AwsSolutions-VPC7). */
export function handlerVpc(stack: Stack): ec2.Vpc {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 1 });
  vpc.addFlowLog('FlowLogs');
  return vpc;
}

test('a library function placed in a VPC has no unacknowledged finding (its role\'s AWSLambdaVPCAccessExecutionRole included)', () => {
  const findings = stackFindings((stack) => {
    new LatestApprovedModelLookup(stack, 'Champion', { modelPackageGroup: new ModelPackageGroup(stack, 'Models'), vpc: handlerVpc(stack) });
  });
  // The VPC is the app's own (its public subnets and default security group are findings of the app, not the library).
  expect(findings.filter((f) => !f.includes(' at Test/Vpc/'))).toEqual([]);
});
