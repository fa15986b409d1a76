import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { monitoredStack, statementsOf } from './fixture';
import { ModelQualityMonitor, ModelQualityMonitorProps } from '../../lib';
import { complianceFindings } from '../support/compliance';

function qualityStack(overrides: Partial<ModelQualityMonitorProps> = {}, app = new App()) {
  const parts = monitoredStack(app);
  const quality = new ModelQualityMonitor(parts.stack, 'Quality', { endpoint: parts.endpoint, ...overrides });
  return { ...parts, quality };
}

describe('ModelQualityMonitor', () => {
  const { stack, quality } = qualityStack({ minAuc: 0.7 });
  const template = Template.fromStack(stack);

  test('a rule on the labels prefix of the capture bucket invokes the function', () => {
    expect(quality.labelsPrefix).toBe('labels/fraud-prod/');
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        'source': ['aws.s3'],
        'detail-type': ['Object Created'],
        'detail': { bucket: { name: [{ Ref: Match.stringLikeRegexp('^ProductionDataCapture') }] }, object: { key: [{ prefix: 'labels/fraud-prod/' }] } },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^QualityFunction'), 'Arn'] } })],
    });
  });

  test('reads (never writes) the captures and the labels of this endpoint; publishes in its namespace only', () => {
    const statements = statementsOf(template, /^QualityFunction/);
    expect(statements.some((s) => [s.Action].flat().some((a: string) => /^s3:(Put|Delete)/.test(a)))).toBe(false);
    const objects = JSON.stringify(statements.filter((s) => [s.Action].flat().includes('s3:GetObject')).map((s) => s.Resource));
    expect(objects).toMatch(/data-capture\/fraud-prod\/\*/);
    expect(objects).toMatch(/labels\/fraud-prod\/\*/);
    expect(statements).toContainEqual({
      Action: 'cloudwatch:PutMetricData', Effect: 'Allow', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'cdk-mlops/Monitoring' } },
    });
  });

  test('accuracy and AUC alarms below their minimum notify the alerts topic', () => {
    for (const [metric, threshold] of [['Accuracy', 0.8], ['Auc', 0.7]] as const) {
      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'cdk-mlops/Monitoring',
        MetricName: metric,
        Statistic: 'Minimum',
        Threshold: threshold,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'notBreaching',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('^MlOpsAlertsTopic') }],
      });
    }
    expect(qualityStack().quality.aucAlarm).toBeUndefined();
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(complianceFindings((app) => qualityStack({ minAuc: 0.7 }, app), { controlTower: true })).toEqual([]);
  });
});

describe('ModelQualityMonitor fails when', () => {
  test.each([
    [{ labelsPrefix: 'labels/fraud' }, /labelsPrefix 'labels\/fraud'.*ending in "\/"/],
    [{ labelsPrefix: 'data-capture/fraud-prod/labels/' }, /labelsPrefix.*apart from the capture files/],
    [{ minAccuracy: 0 }, /minAccuracy.*above 0/],
    [{ minAuc: 1.5 }, /minAuc.*at most 1/],
  ])('%j', (overrides, message) => {
    expect(() => qualityStack(overrides as Partial<ModelQualityMonitorProps>)).toThrow(message);
  });
});
