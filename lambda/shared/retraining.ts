/**
 * Pure logic of the `retrain-on-drift` handler: why an event asks for a run (a CloudWatch alarm entering ALARM, or a
 * scheduled rule), whether the cool-down lets it start one, and the run's idempotency token. No SDK calls here.
 *
 * The cool-down has two parts. ListPipelineExecutions shows whether a run started less than the cool-down ago (any
 * run: a push or a new data version also retrains); if so, nothing starts. The start's clientRequestToken is the same
 * for every event of one cool-down window, so two alarms firing together (both seeing no recent run) start one run.
 */
import { createHash } from 'node:crypto';
import { RETRAIN_ENV } from '../../lib/private/contract/monitoring';

export interface RetrainConfig {
  readonly pipelineName: string;
  readonly triggerVariable: string;
  readonly dataPrefixVariable?: string;
  readonly dataPrefix?: string;
  readonly coolDownSeconds: number;
}

/** Why a run is asked for. */
export interface RetrainReason {
  /** `drift:<alarm name>` or `schedule:<rule name>`: the value of the trigger variable. */
  readonly trigger: string;
  /** When the event happened (ISO 8601). */
  readonly time: string;
}

/** An event this function must not act on (reported, never retried). */
export class IgnoredEventError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IgnoredEvent';
  }
}

export function retrainConfig(env: Record<string, string | undefined>): RetrainConfig {
  const missing = [RETRAIN_ENV.pipelineName, RETRAIN_ENV.triggerVariable, RETRAIN_ENV.coolDownSeconds].filter((n) => !env[n]);
  const coolDownSeconds = Number(env[RETRAIN_ENV.coolDownSeconds]);
  if (missing.length > 0 || !Number.isFinite(coolDownSeconds) || coolDownSeconds < 0) {
    throw new Error(`retrain-on-drift: the environment variable(s) ${missing.join(', ') || RETRAIN_ENV.coolDownSeconds} are not set ` +
      'or not valid. Create the function with the RetrainingTrigger construct, which sets them.');
  }
  return {
    pipelineName: env[RETRAIN_ENV.pipelineName]!,
    triggerVariable: env[RETRAIN_ENV.triggerVariable]!,
    dataPrefixVariable: env[RETRAIN_ENV.dataPrefixVariable] || undefined,
    dataPrefix: env[RETRAIN_ENV.dataPrefix] || undefined,
    coolDownSeconds,
  };
}

/**
 * The reason of an EventBridge event: a "CloudWatch Alarm State Change" into ALARM, or a "Scheduled Event" of a rule.
 * Anything else (another state, another source) is an `IgnoredEvent`.
 */
export function reasonOf(event: unknown): RetrainReason {
  const e = (typeof event === 'object' && event !== null ? event : {}) as Record<string, any>;
  const time = typeof e.time === 'string' ? e.time : new Date().toISOString();
  if (e.source === 'aws.cloudwatch' && e['detail-type'] === 'CloudWatch Alarm State Change') {
    const state = e.detail?.state?.value;
    const alarm = e.detail?.alarmName;
    if (state !== 'ALARM') throw new IgnoredEventError(`retrain-on-drift: alarm ${String(alarm)} entered ${String(state)}, not ALARM.`);
    if (typeof alarm !== 'string' || alarm === '') throw new IgnoredEventError('retrain-on-drift: the alarm event names no alarm.');
    return { trigger: clip(`drift:${alarm}`), time };
  }
  if (e.source === 'aws.events' && e['detail-type'] === 'Scheduled Event') {
    const rule = Array.isArray(e.resources) && typeof e.resources[0] === 'string' ? e.resources[0].split('/').pop() : 'rule';
    return { trigger: clip(`schedule:${rule}`), time };
  }
  throw new IgnoredEventError(`retrain-on-drift: the event is ${JSON.stringify(e['detail-type'])} from ${JSON.stringify(e.source)}, ` +
    'not a CloudWatch alarm state change or a scheduled event.');
}

/** A pipeline variable holds at most 1000 characters. */
function clip(value: string): string {
  return value.length > 1000 ? value.slice(0, 1000) : value;
}

/** The newest start time among the executions, or undefined when there is none. */
export function newestStart(executions: readonly { startTime?: Date }[]): Date | undefined {
  let newest: Date | undefined;
  for (const e of executions) if (e.startTime && (!newest || e.startTime > newest)) newest = e.startTime;
  return newest;
}

/** Whether a run that started at `lastStart` still holds the cool-down at `now`. */
export function inCoolDown(lastStart: Date | undefined, now: Date, coolDownSeconds: number): boolean {
  return lastStart !== undefined && now.getTime() - lastStart.getTime() < coolDownSeconds * 1000;
}

/** The same token for every event of one cool-down window of this pipeline (64 hex characters). */
export function windowToken(pipelineName: string, now: Date, coolDownSeconds: number): string {
  const window = coolDownSeconds > 0 ? Math.floor(now.getTime() / (coolDownSeconds * 1000)) : now.getTime();
  return createHash('sha256').update(`${pipelineName}\n${coolDownSeconds}\n${window}`).digest('hex');
}
