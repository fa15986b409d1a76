import * as batch from 'aws-cdk-lib/aws-batch';
import { IConstruct } from 'constructs';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** Batch accepts 1 to 10 attempts per job. */
const MAX_ATTEMPTS = 10;
/** Batch accepts at most 5 `evaluateOnExit` entries, the catch-all included. */
const MAX_RULES = 5;
/** Batch accepts glob patterns of up to 512 characters. */
const MAX_PATTERN_LENGTH = 512;
/** Letters, digits, `.`, `:`, spaces and tabs, with an optional trailing `*` (RetryStrategy, EvaluateOnExit). */
const REASON_PATTERN = /^[A-Za-z0-9.: \t]*\*?$/;
/** Digits with an optional trailing `*`. */
const EXIT_CODE_PATTERN = /^[0-9]*\*?$/;

/**
 * A failure a {@link RetryPolicy} matches. All the fields given must match (Batch's `evaluateOnExit`); give at
 * least one. Each is a glob of up to 512 characters where only a trailing `*` is a wildcard.
 */
export interface RetryCondition {
  /**
   * Matches the job attempt's status reason, for example `'Host EC2*'` (the spot instance was reclaimed).
   * Letters, digits, `.`, `:`, spaces and tabs, with an optional trailing `*`.
   * @default - the status reason is not matched
   */
  readonly onStatusReason?: string;
  /**
   * Matches the container's reason, for example `'CannotPullContainerError*'`, or `'OutOfMemoryError*'`.
   * Letters, digits, `.`, `:`, spaces and tabs, with an optional trailing `*`.
   * @default - the reason is not matched
   */
  readonly onReason?: string;
  /**
   * Matches the container's exit code, for example `'137'`, or `'13*'`. Digits, with an optional trailing `*`.
   * @default - the exit code is not matched
   */
  readonly onExitCode?: string;
}

/** One `evaluateOnExit` entry of a {@link RetryPolicy}: what to do when a failed attempt matches. */
export interface RetryRule extends RetryCondition {
  /** RETRY (if attempts are left) or EXIT (the job fails now). */
  readonly action: batch.Action;
}

/** Options for {@link RetryPolicy.spotAware}. */
export interface SpotAwareRetryOptions {
  /**
   * How many times a job may run in all, the first attempt included (1-10). Each retry of a spot reclaim resumes
   * from the last checkpoint, so 3 attempts survive two reclaims.
   * @default 3
   */
  readonly attempts?: number;
  /**
   * More failures to retry, checked after the default rules and before the final EXIT. Batch allows 5 rules in
   * all: with the 3 default rules, at most 2 here.
   * @default - none
   */
  readonly extraRetryOn?: RetryCondition[];
}

/**
 * The retry strategy of a Batch job definition, aware of spot: retry what the infrastructure broke, fail fast on
 * what the code broke.
 *
 * Batch checks the `evaluateOnExit` rules in order and applies the first that matches; a failure NO rule matches
 * is RETRIED. So every policy here ends with a catch-all `EXIT` on `onReason: '*'`: a bug in the training code
 * fails the job at once instead of burning the remaining attempts (and GPU hours) on the same error.
 *
 * The default rules, in order:
 * 1. RETRY on `onStatusReason: 'Host EC2*'`: the spot instance was reclaimed (`batch.Reason.SPOT_INSTANCE_RECLAIMED`).
 * 2. RETRY on `onReason: 'CannotPullContainerError*'`: the image could not be pulled (registry throttling, network).
 * 3. the rules of `extraRetryOn`, if any.
 * 4. EXIT on `onReason: '*'`: anything else.
 *
 * The spot rule matches EC2 spot reclaims. Batch reports Fargate Spot interruptions with other reasons: if a Fargate
 * Spot queue runs the jobs, add the reason `DescribeJobs` shows for them with `extraRetryOn`.
 *
 * @example
 * RetryPolicy.spotAware({ attempts: 5, extraRetryOn: [{ onStatusReason: 'ResourceInitializationError*' }] });
 * RetryPolicy.none();
 */
export class RetryPolicy {
  /**
   * Retries spot reclaims and image pull failures, and nothing else.
   */
  public static spotAware(options: SpotAwareRetryOptions = {}): RetryPolicy {
    const extra = (options.extraRetryOn ?? []).map((condition) => ({ action: batch.Action.RETRY, ...condition }));
    return new RetryPolicy(options.attempts ?? 3, [...SPOT_AWARE_RULES, ...extra, CATCH_ALL_EXIT], extra.length);
  }

  /**
   * One attempt: the job is never retried, whatever the failure (for jobs that are not idempotent, or that a
   * workflow retries itself). The rules hold only the catch-all EXIT.
   */
  public static none(): RetryPolicy {
    return new RetryPolicy(1, [CATCH_ALL_EXIT], 0);
  }

  /** How many times a job may run in all, the first attempt included. */
  public readonly attempts: number;
  /** The `evaluateOnExit` rules, in the order Batch checks them; the last is always the catch-all EXIT. */
  public readonly rules: RetryRule[];
  private readonly extraRules: number;

  private constructor(attempts: number, rules: RetryRule[], extraRules: number) {
    this.attempts = attempts;
    this.rules = rules;
    this.extraRules = extraRules;
  }

  /**
   * Validates the policy for the job definition `scope` and renders it for aws-cdk-lib.
   * @internal
   */
  public _bind(scope: IConstruct): { attempts: number; strategies: batch.RetryStrategy[] } {
    this.validate(scope);
    return {
      attempts: this.attempts,
      strategies: this.rules.map((rule) =>
        batch.RetryStrategy.of(rule.action, batch.Reason.custom({
          onStatusReason: rule.onStatusReason,
          onReason: rule.onReason,
          onExitCode: rule.onExitCode,
        })),
      ),
    };
  }

  private validate(scope: IConstruct): void {
    const attempts = this.attempts;
    if (isConcrete(attempts) && (!Number.isInteger(attempts) || attempts < 1 || attempts > MAX_ATTEMPTS)) {
      throw new MlOpsValidationError(scope, 'RetryPolicy', 'attempts', attempts,
        `Batch runs a job 1 to ${MAX_ATTEMPTS} times: give a whole number in that range (3 survives two spot reclaims).`);
    }
    if (this.rules.length > MAX_RULES) {
      throw new MlOpsValidationError(scope, 'RetryPolicy', 'extraRetryOn', `${this.extraRules} rules`,
        `Batch accepts at most ${MAX_RULES} evaluateOnExit rules and ${this.rules.length - this.extraRules} are taken by the ` +
        `spot reclaim, image pull and catch-all EXIT rules: give at most ${MAX_RULES - (this.rules.length - this.extraRules)}.`);
    }
    const firstExtra = this.rules.length - 1 - this.extraRules;
    this.rules.forEach((rule, index) => {
      const prop = index >= firstExtra && index < this.rules.length - 1 ? `extraRetryOn[${index - firstExtra}]` : `rules[${index}]`;
      validateCondition(scope, prop, rule);
    });
  }
}

const SPOT_AWARE_RULES: RetryRule[] = [
  // The spot instance was reclaimed: "Host EC2 (instance i-...) terminated." (batch.Reason.SPOT_INSTANCE_RECLAIMED)
  { action: batch.Action.RETRY, onStatusReason: 'Host EC2*' },
  // The image could not be pulled: "CannotPullContainerError: ..." (registry throttling, a network blip).
  { action: batch.Action.RETRY, onReason: 'CannotPullContainerError*' },
];

const CATCH_ALL_EXIT: RetryRule = { action: batch.Action.EXIT, onReason: '*' };

function validateCondition(scope: IConstruct, prop: string, condition: RetryCondition): void {
  const fields: Array<[keyof RetryCondition, RegExp, string]> = [
    ['onStatusReason', REASON_PATTERN, 'letters, digits, ".", ":", spaces and tabs'],
    ['onReason', REASON_PATTERN, 'letters, digits, ".", ":", spaces and tabs'],
    ['onExitCode', EXIT_CODE_PATTERN, 'digits'],
  ];
  if (fields.every(([field]) => condition[field] === undefined)) {
    throw new MlOpsValidationError(scope, 'RetryPolicy', prop, '{}',
      'A condition that matches nothing in particular: give at least one of onStatusReason, onReason and onExitCode.');
  }
  for (const [field, pattern, allowed] of fields) {
    const value = condition[field];
    if (!isConcrete(value)) continue;
    if (value.length === 0 || value.length > MAX_PATTERN_LENGTH || !pattern.test(value)) {
      throw new MlOpsValidationError(scope, 'RetryPolicy', `${prop}.${field}`, value,
        `Batch accepts 1-${MAX_PATTERN_LENGTH} characters of ${allowed}, with "*" only as the last character ` +
        '(a prefix match), for example "Host EC2*".');
    }
  }
}
