import { App, Duration, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { FEATURES, monitoredStack } from './fixture';
import { DriftMonitor, MlOpsDashboard, MlOpsDashboardProps, ModelQualityMonitor } from '../../lib';
import { complianceFindings } from '../support/compliance';
import { workflowStack } from '../workflow/fixture';

function dashboardStack(overrides: Partial<MlOpsDashboardProps> = {}, app = new App()) {
  const parts = monitoredStack(app);
  const drift = new DriftMonitor(parts.stack, 'Drift', {
    endpoint: parts.endpoint, modelPackageGroup: parts.registry, modelBucket: parts.models, dataBucket: parts.data, features: FEATURES,
  });
  const quality = new ModelQualityMonitor(parts.stack, 'Quality', { endpoint: parts.endpoint });
  const training = sfn.StateMachine.fromStateMachineName(parts.stack, 'Training', 'fraud-training');
  const deploy = sfn.StateMachine.fromStateMachineName(parts.stack, 'Deploy', 'fraud-deploy');
  const dashboard = new MlOpsDashboard(parts.stack, 'Dashboard', {
    dashboardName: 'fraud-mlops',
    pipeline: parts.pipeline,
    trainingStateMachines: [training],
    stageStateMachines: [deploy],
    endpoints: [parts.endpoint],
    driftMonitors: [drift],
    qualityMonitors: [quality],
    ...overrides,
  });
  return { ...parts, drift, quality, dashboard };
}

/** The dashboard body's widgets, with the CloudFormation tokens of the body rendered as text. */
function widgets(stack: Stack): any[] {
  const dashboards = Template.fromStack(stack).findResources('AWS::CloudWatch::Dashboard');
  const [dashboard] = Object.values(dashboards) as any[];
  const body = dashboard.Properties.DashboardBody['Fn::Join'][1].map((p: unknown) => (typeof p === 'string' ? p : JSON.stringify(p).replace(/"/g, "'"))).join('');
  return JSON.parse(body).widgets;
}

const titles = (ws: any[]) => ws.map((w) => w.properties.title).filter(Boolean);
const metricsOf = (ws: any[], title: string) => ws.find((w) => w.properties.title === title)!.properties.metrics;

describe('MlOpsDashboard', () => {
  const { stack } = dashboardStack();
  const ws = widgets(stack);

  test('one dashboard with a widget per part of the system', () => {
    Template.fromStack(stack).resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    Template.fromStack(stack).hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'fraud-mlops' });
    expect(titles(ws)).toEqual([
      'Pipeline runs failed',
      'Training: runs', 'Training: duration',
      'Stages: runs', 'Stages: duration',
      'fraud-prod: invocations and errors', 'fraud-prod: model latency (µs)',
      'fraud-prod: drift (largest feature PSI)', 'fraud-prod: missing features', 'fraud-prod: captured instances',
      'fraud-prod: quality of labelled predictions', 'fraud-prod: labelled predictions',
      'Alarms',
    ]);
  });

  test('training runs from the state machine\'s metrics; latency percentiles; the drift threshold drawn', () => {
    const runs = metricsOf(ws, 'Training: runs').map((m: any[]) => m.slice(0, 2).join(' '));
    expect(runs).toEqual(['AWS/States ExecutionsSucceeded', 'AWS/States ExecutionsFailed', 'AWS/States ExecutionsTimedOut']);
    const latency = metricsOf(ws, 'fraud-prod: model latency (µs)').map((m: any[]) => m[m.length - 1].stat);
    expect(latency).toEqual(['p50', 'p90', 'p99']);
    const drift = ws.find((w) => w.properties.title === 'fraud-prod: drift (largest feature PSI)');
    expect(drift.properties.metrics[0].slice(0, 4)).toEqual(['cdk-mlops/Monitoring', 'DriftScore', 'EndpointName', 'fraud-prod']);
    expect(drift.properties.annotations.horizontal).toEqual([{ value: 0.25, label: 'alarm threshold', color: '#d62728', yAxis: 'left' }]);
  });

  test('the alarm status row shows the endpoint\'s rollback alarms and the monitors\' alarms', () => {
    const alarms = ws.find((w) => w.properties.title === 'Alarms').properties.alarms;
    // 5XX and latency of the endpoint; drift, missing features, dead letters; accuracy, dead letters.
    expect(alarms).toHaveLength(7);
  });

  test('has no unacknowledged cdk-nag or Control Tower finding', () => {
    expect(complianceFindings((app) => dashboardStack({}, app), { controlTower: true })).toEqual([]);
  });
});

describe('MlOpsDashboard with a training workflow', () => {
  const { stack, workflow } = workflowStack();
  new MlOpsDashboard(stack, 'Dashboard', { trainingWorkflows: [workflow] });
  const ws = widgets(stack);

  test('its runs from the state machine, its candidates from the counts its quality gate publishes', () => {
    expect(titles(ws)).toEqual(['Training: runs', 'Training: duration', 'Training: candidates', 'Training: GPU hours']);
    const candidates = metricsOf(ws, 'Training: candidates');
    expect(candidates.map((m: any[]) => m.slice(0, 4).join(' '))).toEqual([
      `cdk-mlops/Training CandidatesTrainedOnSpot Workflow ${workflow.node.path}`,
      `cdk-mlops/Training CandidatesTrainedOnDemand Workflow ${workflow.node.path}`,
      `cdk-mlops/Training EvaluationsOnDemand Workflow ${workflow.node.path}`,
      `cdk-mlops/Training CacheHits Workflow ${workflow.node.path}`,
      `cdk-mlops/Training CandidatesFailed Workflow ${workflow.node.path}`,
    ]);
    expect(candidates.map((m: any[]) => m[m.length - 1])).toEqual([
      expect.objectContaining({ label: 'trained on spot', stat: 'Sum' }),
      expect.objectContaining({ label: 'on-demand fallbacks', stat: 'Sum' }),
      expect.objectContaining({ label: 'evaluations on demand', stat: 'Sum' }),
      expect.objectContaining({ label: 'cache hits', stat: 'Sum' }),
      expect.objectContaining({ label: 'failed', stat: 'Sum' }),
    ]);
    // The series overlap (a candidate trained on spot may be evaluated on demand): not stacked.
    expect(ws.find((w) => w.properties.title === 'Training: candidates').properties.stacked).toBeFalsy();
  });

  test('GPU hours on spot vs on demand in one stacked graph, beside the candidates', () => {
    const widget = ws.find((w) => w.properties.title === 'Training: GPU hours');
    expect(widget.properties.metrics).toEqual([
      ['cdk-mlops/Training', 'GpuHoursOnSpot', 'Workflow', workflow.node.path, expect.objectContaining({ label: 'spot', stat: 'Sum', period: 3600 })],
      ['cdk-mlops/Training', 'GpuHoursOnDemand', 'Workflow', workflow.node.path, expect.objectContaining({ label: 'on demand', stat: 'Sum', period: 3600 })],
    ]);
    expect(widget.properties).toMatchObject({ stacked: true, yAxis: { left: { min: 0, label: 'GPU hours', showUnits: false } } });
    const candidates = ws.find((w) => w.properties.title === 'Training: candidates');
    expect([candidates.width + widget.width, candidates.y]).toEqual([24, widget.y]);
  });
});

describe('MlOpsDashboard fails when', () => {
  test('it has nothing to show', () => {
    expect(() => new MlOpsDashboard(new Stack(new App(), 'S'), 'D', {})).toThrow(/MlOpsDashboard 'S\/D'.*Give at least a pipeline/);
  });
  test.each([
    [{ dashboardName: 'has space' }, /dashboardName 'has space'/],
    [{ period: Duration.seconds(30) }, /period '30 seconds'.*whole minutes/],
  ])('%j', (overrides, message) => {
    expect(() => dashboardStack(overrides as Partial<MlOpsDashboardProps>)).toThrow(message);
  });
});
