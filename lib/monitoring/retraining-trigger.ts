import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { EventHandlerOptions } from '../event-handler-options';
import { deadLetterAlarm, deadLetterQueue } from './private/async-target';
import { RetrainOnDriftFunction } from '../handlers/retrain-on-drift-function';
import { alertsTopic } from '../private/alerts-topic';
import { DATA_PREFIX_VARIABLE, TRIGGER_VARIABLE } from '../private/contract/data-trigger';
import { RETRAIN_ENV } from '../private/contract/monitoring';
import { LONGEST_EVENT_RETRY } from '../private/dead-letter-queue';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** Props for {@link RetrainingTrigger}. */
export interface RetrainingTriggerProps extends EventHandlerOptions {
  /** The pipeline to start. It must declare the trigger variable (and the data prefix variable, when `dataPrefix` is given). */
  readonly pipeline: codepipeline.IPipeline;
  /**
   * The alarms whose entering ALARM asks for a run (a DriftMonitor's `driftAlarm`, a ModelQualityMonitor's `accuracyAlarm`).
   * @default - none (then give a schedule)
   */
  readonly alarms?: cloudwatch.IAlarm[];
  /**
   * Also ask for a run on a schedule, e.g. `events.Schedule.rate(Duration.days(7))`.
   * @default - no schedule
   */
  readonly schedule?: events.Schedule;
  /**
   * No run starts when one (of any trigger) started less than this ago: a flapping alarm starts one run per cool-down.
   * @default Duration.hours(12)
   */
  readonly coolDown?: Duration;
  /**
   * The pipeline variable that records why the run started: `drift:<alarm name>` or `schedule:<rule name>`.
   * @default 'TRIGGER'
   */
  readonly triggerVariableName?: string;
  /**
   * The data prefix to train on (the pipeline's data prefix variable).
   * @default - the variable's default in the pipeline: its data prefix, snapshotted when the run starts (the latest data)
   */
  readonly dataPrefix?: string;
  /**
   * The pipeline variable that receives `dataPrefix`.
   * @default 'DATA_PREFIX'
   */
  readonly dataPrefixVariableName?: string;
}

const VARIABLE_NAME = /^[A-Za-z0-9@\-_]{1,128}$/;

/**
 * Drift -> retraining: starts the pipeline when one of the alarms enters ALARM (and, optionally, on a schedule), with
 * a cool-down, and records why in a pipeline variable (`TRIGGER` = `drift:<alarm name>`), which the run's lineage
 * carries.
 *
 * An EventBridge rule on the alarms' "CloudWatch Alarm State Change" events into ALARM invokes a small function. It
 * lists the pipeline's recent executions and starts nothing when one started less than `coolDown` ago (a push or a
 * new data version counts: they retrain too); otherwise it calls StartPipelineExecution with an idempotency token
 * that is the same for the whole cool-down window, so alarms firing together, and Lambda's retries, start one run.
 * Events that still fail land in a dead-letter queue, with an alarm.
 *
 * @example
 * new RetrainingTrigger(this, 'Retrain', {
 *   pipeline: mlPipeline.pipeline,
 *   alarms: [drift.driftAlarm],
 *   coolDown: Duration.hours(24),
 * });
 */
export class RetrainingTrigger extends Construct {
  /** The rule on the alarms' state changes (absent without alarms). */
  public readonly alarmRule?: events.Rule;
  /** The scheduled rule (absent without a schedule). */
  public readonly scheduleRule?: events.Rule;
  public readonly function: lambda.IFunction;
  public readonly deadLetterQueue: sqs.IQueue;
  public readonly deadLetterAlarm: cloudwatch.Alarm;
  /** The pipeline variable that records why a run started. */
  public readonly triggerVariableName: string;

  constructor(scope: Construct, id: string, props: RetrainingTriggerProps) {
    super(scope, id);
    const coolDown = props.coolDown ?? Duration.hours(12);
    this.triggerVariableName = props.triggerVariableName ?? TRIGGER_VARIABLE;
    const dataPrefixVariable = props.dataPrefixVariableName ?? DATA_PREFIX_VARIABLE;
    const alarms = props.alarms ?? [];
    this.validate(props, alarms, coolDown, dataPrefixVariable);
    const topic = props.alarmTopic ?? alertsTopic(this);

    this.deadLetterQueue = props.deadLetterQueue ?? deadLetterQueue(this);
    const environment: Record<string, string> = {
      [RETRAIN_ENV.pipelineName]: props.pipeline.pipelineName,
      [RETRAIN_ENV.triggerVariable]: this.triggerVariableName,
      [RETRAIN_ENV.coolDownSeconds]: String(coolDown.toSeconds()),
    };
    if (props.dataPrefix !== undefined) {
      environment[RETRAIN_ENV.dataPrefixVariable] = dataPrefixVariable;
      environment[RETRAIN_ENV.dataPrefix] = props.dataPrefix;
    }
    const fn = new RetrainOnDriftFunction(this, 'Function', {
      ...handlerOptions(this, {
        description: 'cdk-mlops: starts the ML pipeline on a drift alarm or a schedule, once per cool-down',
        memorySize: 256,
        timeout: Duration.seconds(30),
        environment,
        logRetention: props.logRetention,
        vpc: props.vpc,
        vpcSubnets: props.vpcSubnets,
      }),
      deadLetterQueue: this.deadLetterQueue,
    });
    fn.addToRolePolicy(new iam.PolicyStatement({
      actions: ['codepipeline:ListPipelineExecutions', 'codepipeline:StartPipelineExecution'],
      resources: [props.pipeline.pipelineArn],
    }));
    acknowledgeHandler(fn, props.vpc !== undefined, {}, true);
    this.function = fn;

    const target = () => new targets.LambdaFunction(fn, {
      deadLetterQueue: this.deadLetterQueue, ...LONGEST_EVENT_RETRY,
    });
    if (alarms.length > 0) {
      this.alarmRule = new events.Rule(this, 'AlarmRule', {
        description: 'cdk-mlops: a drift or quality alarm entering ALARM retrains the model',
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          resources: alarms.map((a) => a.alarmArn),
          detail: { state: { value: ['ALARM'] } },
        },
        targets: [target()],
      });
    }
    if (props.schedule) {
      this.scheduleRule = new events.Rule(this, 'ScheduleRule', {
        description: 'cdk-mlops: retrains the model on a schedule (with the same cool-down)',
        schedule: props.schedule,
        targets: [target()],
      });
    }
    this.deadLetterAlarm = deadLetterAlarm(this, this.deadLetterQueue, topic,
      `Drift alarms or schedules did not start ${props.pipeline.pipelineName}: see the dead-letter queue and the function's logs, then start it by hand.`);
  }

  private validate(props: RetrainingTriggerProps, alarms: cloudwatch.IAlarm[], coolDown: Duration, dataPrefixVariable: string): void {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(this, 'RetrainingTrigger', prop, value, fix);
    };
    if (alarms.length === 0 && !props.schedule) fail('alarms', '[]', 'Give the alarms that should retrain (e.g. a DriftMonitor\'s driftAlarm), or a schedule.');
    for (const [prop, name] of [['triggerVariableName', this.triggerVariableName], ['dataPrefixVariableName', dataPrefixVariable]] as const) {
      if (isConcrete(name) && !VARIABLE_NAME.test(name)) {
        fail(prop, JSON.stringify(name), 'Give the name of a variable the pipeline declares: 1-128 letters, digits, "@", "-" or "_".');
      }
    }
    const seconds = coolDown.toSeconds();
    if (isConcrete(seconds) && seconds < 3600) {
      fail('coolDown', coolDown.toHumanString(), 'Give at least one hour: a training run takes longer, and a shorter cool-down lets a ' +
        'flapping alarm start runs back to back.');
    }
    if (props.dataPrefix !== undefined && isConcrete(props.dataPrefix) && props.dataPrefix.length > 1000) {
      fail('dataPrefix', `${props.dataPrefix.length} characters`, 'A pipeline variable holds at most 1000 characters.');
    }
    const region = Stack.of(this).region;
    const pipelineRegion = props.pipeline.env.region;
    if (isConcrete(region) && isConcrete(pipelineRegion) && region !== pipelineRegion) {
      fail('pipeline', pipelineRegion, `Put the trigger in the pipeline's region (${pipelineRegion}), not ${region}: it starts the pipeline by name.`);
    }
  }
}
