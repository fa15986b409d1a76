import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { DriftMonitor } from './drift-monitor';
import { ModelQualityMonitor } from './model-quality-monitor';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { IModelEndpoint } from '../serving/model-endpoint';
import { TrainingWorkflow } from '../workflow/training-workflow';

/** Props for {@link MlOpsDashboard}. */
export interface MlOpsDashboardProps {
  /**
   * The dashboard's name.
   * @default - a name CloudFormation generates
   */
  readonly dashboardName?: string;
  /**
   * The ML pipeline: its failed runs.
   * @default - no pipeline row
   */
  readonly pipeline?: codepipeline.IPipeline;
  /**
   * The training workflows' state machines (TrainingWorkflow.stateMachine): runs succeeded, failed, timed out, and
   * their durations.
   * @default - no training row
   */
  readonly trainingStateMachines?: sfn.IStateMachine[];
  /**
   * The training workflows: their runs and durations (as `trainingStateMachines`), what became of their candidates
   * (trained on spot, retrained on demand (spot fallbacks), evaluations run again on demand, training-cache hits,
   * failed), and the GPU hours their training used on spot and on demand.
   * @default - none
   */
  readonly trainingWorkflows?: TrainingWorkflow[];
  /**
   * Other stages' state machines (EndpointDeployment.stateMachine, EphemeralEndpointTest): their durations and failures.
   * @default - none
   */
  readonly stageStateMachines?: sfn.IStateMachine[];
  /**
   * Endpoints: invocations, 4XX and 5XX errors, model latency p50 / p90 / p99.
   * @default - none
   */
  readonly endpoints?: IModelEndpoint[];
  /**
   * Drift monitors: drift score against its threshold, missing features, captured instances.
   * @default - none
   */
  readonly driftMonitors?: DriftMonitor[];
  /**
   * Model-quality monitors: accuracy and AUC of labelled predictions.
   * @default - none
   */
  readonly qualityMonitors?: ModelQualityMonitor[];
  /**
   * More alarms for the alarm status row (the endpoints' and monitors' own alarms are there already).
   * @default - none
   */
  readonly alarms?: cloudwatch.IAlarm[];
  /**
   * The period of the graphs.
   * @default Duration.hours(1)
   */
  readonly period?: Duration;
}

/**
 * One CloudWatch dashboard for the system: the pipeline's failed runs, training runs and their durations, the other
 * stages' state machines, each endpoint's invocations, errors and latency percentiles, drift and quality, and the
 * state of every alarm. $3 a month beyond the account's first three dashboards (CloudWatch pricing).
 *
 * Built with aws-cdk-lib's CloudWatch constructs: the metrics come from the constructs' own `metric*()` methods. A
 * training workflow's candidates (trained on spot, on-demand fallbacks of training and of evaluation, cache hits,
 * failed) and its GPU hours on spot vs on demand come from what its quality gate publishes per run. What is not shown,
 * because nothing publishes it yet: how many spot reclaims Batch retried within a job (their GPU time is in the spot
 * hours; the execution history holds the attempts), and the durations of CodePipeline stages (CodePipeline publishes
 * no stage metric; the Step Functions stages' durations stand in).
 */
export class MlOpsDashboard extends Construct {
  public readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MlOpsDashboardProps) {
    super(scope, id);
    const period = props.period ?? Duration.hours(1);
    this.validate(props, period);
    this.dashboard = new cloudwatch.Dashboard(this, 'Resource', {
      dashboardName: props.dashboardName,
      defaultInterval: Duration.days(7),
    });
    const alarms: cloudwatch.IAlarm[] = [];
    const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
      new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, ...extra });

    this.dashboard.addWidgets(new cloudwatch.TextWidget({
      markdown: '# cdk-mlops\nPipeline runs, training (runs; candidates on spot, on-demand fallbacks of training and evaluation, cache ' +
        'hits, failures; GPU hours on spot vs on demand), serving, drift and quality. Spot reclaims that Batch retried within a job are ' +
        'in each execution\'s history (and their GPU time in the spot hours).',
      width: 24,
      height: 2,
    }));

    if (props.pipeline) {
      this.dashboard.addWidgets(graph('Pipeline runs failed', [new cloudwatch.Metric({
        // The name aws-cdk-lib's CodePipelineMetrics gives; the CodePipeline guide documents events, not this metric.
        namespace: 'AWS/CodePipeline',
        metricName: 'FailedPipelineExecutions',
        dimensionsMap: { PipelineName: props.pipeline.pipelineName },
        statistic: 'Sum',
        period,
        label: 'failed runs',
      })]));
    }
    const stateMachineRow = (label: string, machines: sfn.IStateMachine[]) => {
      if (machines.length === 0) return;
      const runs = machines.flatMap((m, i) => [
        m.metricSucceeded({ period, statistic: 'Sum', label: `${label} ${i + 1} succeeded` }),
        m.metricFailed({ period, statistic: 'Sum', label: `${label} ${i + 1} failed` }),
        m.metricTimedOut({ period, statistic: 'Sum', label: `${label} ${i + 1} timed out` }),
      ]);
      const durations = machines.flatMap((m, i) => [
        m.metricTime({ period, statistic: 'Average', label: `${label} ${i + 1} average (ms)` }),
        m.metricTime({ period, statistic: 'Maximum', label: `${label} ${i + 1} longest (ms)` }),
      ]);
      this.dashboard.addWidgets(graph(`${label}: runs`, runs, { stacked: true }), graph(`${label}: duration`, durations));
    };
    const workflows = props.trainingWorkflows ?? [];
    stateMachineRow('Training', [...(props.trainingStateMachines ?? []), ...workflows.map((w) => w.stateMachine)]);
    if (workflows.length > 0) {
      const label = (i: number, what: string) => (workflows.length > 1 ? `${i + 1}: ${what}` : what);
      // Not stacked: the series overlap (a candidate trained on spot may be evaluated on demand, or fail).
      const candidates = graph('Training: candidates', workflows.flatMap((w, i) => [
        w.metricCandidatesOnSpot({ period, label: label(i, 'trained on spot') }),
        w.metricCandidatesOnDemand({ period, label: label(i, 'on-demand fallbacks') }),
        w.metricEvaluationsOnDemand({ period, label: label(i, 'evaluations on demand') }),
        w.metricCacheHits({ period, label: label(i, 'cache hits') }),
        w.metricCandidatesFailed({ period, label: label(i, 'failed') }),
      ]), { width: 16 });
      // Stacked: spot and on-demand hours are apart, and their sum is the training's GPU time.
      const gpuHours = graph('Training: GPU hours', workflows.flatMap((w, i) => [
        w.metricGpuHoursOnSpot({ period, label: label(i, 'spot') }),
        w.metricGpuHoursOnDemand({ period, label: label(i, 'on demand') }),
      ]), { stacked: true, leftYAxis: { min: 0, label: 'GPU hours', showUnits: false } });
      this.dashboard.addWidgets(candidates, gpuHours);
    }
    stateMachineRow('Stages', props.stageStateMachines ?? []);

    for (const endpoint of props.endpoints ?? []) {
      const name = endpoint.endpointName;
      this.dashboard.addWidgets(
        graph(`${name}: invocations and errors`, [
          endpoint.metricInvocations({ period, label: 'invocations' }),
          endpoint.metricInvocation4XXErrors({ period, label: '4XX' }),
          endpoint.metricInvocation5XXErrors({ period, label: '5XX' }),
        ]),
        graph(`${name}: model latency (µs)`, ['p50', 'p90', 'p99'].map((p) => endpoint.metricModelLatency({ period, statistic: p, label: p }))),
      );
      const rollback = (endpoint as { rollbackAlarms?: cloudwatch.IAlarm[] }).rollbackAlarms;
      if (rollback) alarms.push(...rollback);
    }
    for (const drift of props.driftMonitors ?? []) {
      const name = drift.endpointName;
      this.dashboard.addWidgets(
        graph(`${name}: drift (largest feature PSI)`, [drift.metricDriftScore({ period, label: 'drift score' })], {
          leftAnnotations: [{ value: drift.driftThreshold, label: 'alarm threshold', color: '#d62728' }],
        }),
        graph(`${name}: missing features`, [drift.metricMissingFeatureRate({ period, label: 'largest missing share' })]),
        graph(`${name}: captured instances`, [drift.metricCapturedInstances({ period, label: 'instances' })]),
      );
      alarms.push(drift.driftAlarm, drift.missingFeaturesAlarm, drift.deadLetterAlarm);
    }
    for (const quality of props.qualityMonitors ?? []) {
      this.dashboard.addWidgets(
        graph(`${quality.endpointName}: quality of labelled predictions`, [
          quality.metricAccuracy({ period, label: 'accuracy' }),
          quality.metricAuc({ period, label: 'AUC' }),
        ], { leftYAxis: { min: 0, max: 1 } }),
        graph(`${quality.endpointName}: labelled predictions`, [quality.metricLabelledPredictions({ period, label: 'joined labels' })]),
      );
      alarms.push(quality.accuracyAlarm, ...(quality.aucAlarm ? [quality.aucAlarm] : []), quality.deadLetterAlarm);
    }
    alarms.push(...(props.alarms ?? []));
    if (alarms.length > 0) {
      this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: Math.min(12, 2 + Math.ceil(alarms.length / 4) * 2) }));
    }
  }

  private validate(props: MlOpsDashboardProps, period: Duration): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'MlOpsDashboard', prop, value, fix);
    };
    const parts = [props.pipeline, ...(props.trainingStateMachines ?? []), ...(props.trainingWorkflows ?? []),
      ...(props.stageStateMachines ?? []), ...(props.endpoints ?? []),
      ...(props.driftMonitors ?? []), ...(props.qualityMonitors ?? []), ...(props.alarms ?? [])].filter((p) => p !== undefined);
    if (parts.length === 0) fail('pipeline', 'nothing to show', 'Give at least a pipeline, state machines, endpoints, monitors or alarms.');
    const name = props.dashboardName;
    if (name !== undefined && isConcrete(name) && !/^[A-Za-z0-9_-]{1,255}$/.test(name)) {
      fail('dashboardName', name, 'Use 1-255 letters, digits, "-" and "_" (CloudWatch dashboard names).');
    }
    const seconds = period.toSeconds();
    if (isConcrete(seconds) && (seconds < 60 || seconds % 60 !== 0)) fail('period', period.toHumanString(), 'Give whole minutes.');
  }
}

