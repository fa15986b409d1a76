import { App } from 'aws-cdk-lib';
import { REFERENCE_COST_ASSUMPTIONS } from '../../bin/cost-assumptions';
import { MlOpsReferenceStack } from '../../bin/mlops-reference-stack';
import { CostEstimator } from '../../lib';

/**
 * The estimate of the reference app accounts for every resource of its template: each is priced while idle, listed
 * as a serving instance, free while idle with a reason, or reported unknown; and none of its types is unknown, so a
 * resource type the library starts to create must be added to the price table (or to the free list) with a source.
 */
describe('the reference app\'s estimate', () => {
  const app = new App();
  const stack = new MlOpsReferenceStack(app, 'MlOpsReference');
  const template = app.synth().getStackArtifact(stack.artifactId).template;
  const estimate = CostEstimator.fromTemplate(template);
  const base = (id: string) => id.replace(/ \(public IPv4\)$/, '').split('/')[0];

  test('lists each resource once as idle, serving, free while idle or unknown, and nothing that is not in the template', () => {
    const idle = new Set(estimate.idle.map((i) => base(i.logicalId)));
    const serving = new Set(estimate.serving.map((i) => base(i.logicalId)));
    const free = new Set(estimate.freeWhileIdle.map((f) => f.logicalId));
    const unknown = new Set(estimate.unknown.map((u) => base(u.logicalId)));
    for (const id of Object.keys(template.Resources)) {
      expect([id, [idle, serving, free, unknown].filter((set) => set.has(id)).length]).toEqual([id, 1]);
    }
    const all = [...idle, ...serving, ...free, ...unknown];
    expect(all.filter((id) => !template.Resources[id])).toEqual([]);
  });

  test('every NAT gateway, Elastic IP, instance, KMS key and alarm is an idle item; every instance endpoint variant a serving one', () => {
    const ids = (types: string[]) => Object.entries(template.Resources as Record<string, { Type: string }>)
      .filter(([, r]) => types.includes(r.Type)).map(([id]) => id).sort();
    const interfaceEndpoints = ids(['AWS::EC2::VPCEndpoint']).filter((id) => template.Resources[id].Properties.VpcEndpointType === 'Interface');
    const priced = [...ids(['AWS::EC2::NatGateway', 'AWS::EC2::EIP', 'AWS::EC2::Instance', 'AWS::KMS::Key', 'AWS::CloudWatch::Alarm',
      'AWS::CloudWatch::CompositeAlarm']), ...interfaceEndpoints].sort();
    expect([...new Set(estimate.idle.map((i) => base(i.logicalId)))].sort()).toEqual(priced);
    const withInstances = ids(['AWS::SageMaker::EndpointConfig'])
      .filter((id) => template.Resources[id].Properties.ProductionVariants.some((v: any) => v.InstanceType));
    expect([...new Set(estimate.serving.map((i) => base(i.logicalId)))].sort()).toEqual(withInstances);
  });

  test('knows every resource type of the template', () => {
    expect(estimate.unknown).toEqual([]);
  });

  test('costs at most $5 a month idle: one KMS key for the stack, no NAT gateway, Elastic IP, NAT instance or interface endpoint', () => {
    const count = (type: string, filter: (r: any) => boolean = () => true) =>
      Object.values(template.Resources as Record<string, any>).filter((r) => r.Type === type && filter(r)).length;
    expect(count('AWS::KMS::Key')).toBe(1);
    expect(count('AWS::EC2::NatGateway')).toBe(0);
    expect(count('AWS::EC2::EIP')).toBe(0);
    expect(count('AWS::EC2::Instance')).toBe(0);
    expect(count('AWS::EC2::VPCEndpoint', (r) => r.Properties.VpcEndpointType === 'Interface')).toBe(0);
    // What is left while idle: the key and the alarms.
    expect([...new Set(estimate.idle.map((i) => i.resourceType))].sort()).toEqual(['AWS::CloudWatch::Alarm', 'AWS::KMS::Key']);
    const withAssumptions = CostEstimator.fromTemplate(template, REFERENCE_COST_ASSUMPTIONS);
    expect(withAssumptions.idleMonthlyUsd).toBeLessThanOrEqual(5);
    // The production endpoint's instances are listed apart, not in the idle total.
    expect(withAssumptions.serving.map((i) => i.logicalId)).toEqual(['ProductionEndpoint']);
  });

  test('a run pays for the training metrics its gate publishes: each custom metric one hour of data', () => {
    const run = CostEstimator.fromTemplate(template, REFERENCE_COST_ASSUMPTIONS).run;
    const metrics = run.filter((i) => i.name.startsWith('training metrics'));
    expect(metrics).toHaveLength(1);
    // One workflow: the eight metrics of cdk-mlops/Training, 1/730 of a month each.
    expect(metrics[0].name).toBe('training metrics (8 custom metrics, 1 hour of data each)');
    expect(metrics[0].quantity).toBeCloseTo(8 / 730, 6);
    expect(metrics[0].usd).toBeCloseTo((8 / 730) * metrics[0].unitPriceUsd, 4);
  });
});
