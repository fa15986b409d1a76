import { App, Duration } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import { FEATURES, monitoredStack } from './fixture';
import { AlertSubscriptions, CostEstimator, DriftMonitor, MlOpsDashboard, ModelQualityMonitor, RetrainingTrigger } from '../../lib';

function estimate(withMonitoring: boolean) {
  const parts = monitoredStack(new App());
  if (withMonitoring) {
    const drift = new DriftMonitor(parts.stack, 'Drift', {
      endpoint: parts.endpoint, modelPackageGroup: parts.registry, modelBucket: parts.models, dataBucket: parts.data, features: FEATURES,
    });
    const quality = new ModelQualityMonitor(parts.stack, 'Quality', { endpoint: parts.endpoint });
    new RetrainingTrigger(parts.stack, 'Retrain', {
      pipeline: parts.pipeline, alarms: [drift.driftAlarm, quality.accuracyAlarm], schedule: events.Schedule.rate(Duration.days(7)),
    });
    new MlOpsDashboard(parts.stack, 'Dashboard', { endpoints: [parts.endpoint], driftMonitors: [drift], qualityMonitors: [quality] });
    new AlertSubscriptions(parts.stack, 'Alerts', {
      emails: ['ml-oncall@example.com'], slackChannels: [{ name: 'ml-alerts', slackWorkspaceId: 'T0123456789', slackChannelId: 'C0123456789' }],
    });
  }
  return CostEstimator.fromStack(parts.stack, { region: 'us-east-1' });
}

describe('monitoring in the cost estimate', () => {
  const before = estimate(false);
  const after = estimate(true);
  const added = after.idle.filter((i) => !before.idle.some((b) => b.logicalId === i.logicalId));

  test('every monitoring resource is priced or known to be free while idle', () => {
    expect(after.unknown.filter((u) => !before.unknown.some((b) => b.logicalId === u.logicalId))).toEqual([]);
    const free = after.freeWhileIdle.filter((f) => !before.freeWhileIdle.some((b) => b.logicalId === f.logicalId));
    expect(free.filter((f) => f.resourceType === 'AWS::Lambda::Function')).toHaveLength(3);
    expect(free.filter((f) => f.resourceType === 'AWS::Events::Rule')).toHaveLength(4);
    expect(free.some((f) => f.resourceType === 'AWS::Chatbot::SlackChannelConfiguration')).toBe(true);
  });

  test('idle, monitoring costs its alarms (one metric each) and the dashboard: no processing job, no instance', () => {
    const dashboard = added.filter((i) => i.resourceType === 'AWS::CloudWatch::Dashboard');
    expect(dashboard.map((i) => [i.quantity, i.unitPriceUsd, i.monthlyUsd])).toEqual([[1, 3, 3]]);
    const alarms = added.filter((i) => i.resourceType === 'AWS::CloudWatch::Alarm');
    // Drift, missing features, accuracy, and three dead-letter alarms (drift, quality, retraining).
    expect(alarms).toHaveLength(6);
    expect(alarms.every((a) => a.monthlyUsd === 0.1)).toBe(true);
    expect(added.every((i) => ['AWS::CloudWatch::Dashboard', 'AWS::CloudWatch::Alarm'].includes(i.resourceType))).toBe(true);
    const monthly = Math.round((after.idleMonthlyUsd - before.idleMonthlyUsd) * 100) / 100;
    expect(monthly).toBe(3.6);
  });
});
