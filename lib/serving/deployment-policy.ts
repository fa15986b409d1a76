import { Duration, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { RenderedDeploymentPolicy } from './private/rendered-deployment-policy';
import { MlOpsValidationError } from '../private/validation';

/** Options shared by every traffic-shifting mode. */
export interface DeploymentPolicyOptions {
  /**
   * How long the new fleet takes all the traffic, watched by the rollback alarms, before the old fleet is
   * terminated (the final baking period). SageMaker accepts 0 to 60 minutes.
   * @default Duration.minutes(10)
   */
  readonly bakeTime?: Duration;
  /**
   * The longest the whole deployment may take before SageMaker rolls it back (10 minutes to 8 hours).
   * @default Duration.hours(1)
   */
  readonly maximumDuration?: Duration;
}

/** Canary: a small share first, then the rest. */
export interface CanaryOptions extends DeploymentPolicyOptions {
  /** The share of capacity that gets traffic first, in percent (SageMaker: at most 50). */
  readonly canaryPercent: number;
  /**
   * How long the canary is watched before the rest of the traffic moves (0 to 60 minutes).
   * @default Duration.minutes(10)
   */
  readonly canaryBakeTime?: Duration;
}

/** Linear: traffic moves in equal steps. */
export interface LinearOptions extends DeploymentPolicyOptions {
  /** The share of capacity moved per step, in percent (SageMaker: 10 to 50). */
  readonly stepPercent: number;
  /**
   * How long each step is watched before the next one (0 to 60 minutes).
   * @default Duration.minutes(5)
   */
  readonly stepBakeTime?: Duration;
}

const MAX_BAKE_SECONDS = 3600;

/**
 * How an endpoint moves from its old model to the new one: a blue/green deployment with canary or linear traffic
 * shifting, watched by alarms that roll it back, or all at once (the only mode serverless endpoints support).
 */
export class DeploymentPolicy {
  /** Shift a canary share first. */
  public static canary(options: CanaryOptions): DeploymentPolicy {
    return new DeploymentPolicy('CANARY', options, options.canaryPercent, options.canaryBakeTime ?? Duration.minutes(10));
  }

  /** Shift in equal steps. */
  public static linear(options: LinearOptions): DeploymentPolicy {
    return new DeploymentPolicy('LINEAR', options, options.stepPercent, options.stepBakeTime ?? Duration.minutes(5));
  }

  /** Shift all traffic at once, then bake. */
  public static allAtOnce(options: DeploymentPolicyOptions = {}): DeploymentPolicy {
    return new DeploymentPolicy('ALL_AT_ONCE', options, undefined, undefined);
  }

  private constructor(
    /** CANARY, LINEAR or ALL_AT_ONCE. */
    private readonly type: string,
    private readonly options: DeploymentPolicyOptions,
    private readonly percent: number | undefined,
    private readonly stepWait: Duration | undefined,
  ) {}

  /** @internal */
  public _render(scope: Construct): RenderedDeploymentPolicy {
    const fail = (prop: string, value: unknown, fix: string) => {
      throw new MlOpsValidationError(scope, 'ModelEndpoint', `deploymentPolicy.${prop}`, value, fix);
    };
    const percent = this.percent;
    if (this.type === 'CANARY' && percent !== undefined && !Token.isUnresolved(percent) && (percent <= 0 || percent > 50)) {
      fail('canaryPercent', percent, 'SageMaker accepts a canary of more than 0 and at most 50 percent of the capacity.');
    }
    if (this.type === 'LINEAR' && percent !== undefined && !Token.isUnresolved(percent) && (percent < 10 || percent > 50)) {
      fail('stepPercent', percent, 'SageMaker accepts linear steps of 10 to 50 percent of the capacity.');
    }
    const seconds = (prop: string, d: Duration | undefined, min: number, max: number, fallback: number) => {
      if (d === undefined) return fallback;
      const s = d.toSeconds({ integral: false });
      if (!Token.isUnresolved(s) && (s < min || s > max || !Number.isInteger(s))) {
        fail(prop, d.toHumanString(), `SageMaker accepts whole seconds from ${min} to ${max} (${Math.round(max / 60)} minutes).`);
      }
      return s;
    };
    const bake = seconds('bakeTime', this.options.bakeTime, 0, MAX_BAKE_SECONDS, 600);
    const maximum = seconds('maximumDuration', this.options.maximumDuration, 600, 28800, 3600);
    // SageMaker requires WaitIntervalInSeconds for every type (API Reference, TrafficRoutingConfig); all at once has one
    // step, so nothing to wait between steps: the bake time (TerminationWaitInSeconds) is its watch.
    const wait = this.stepWait
      ? seconds(this.type === 'CANARY' ? 'canaryBakeTime' : 'stepBakeTime', this.stepWait, 0, MAX_BAKE_SECONDS, 0)
      : 0;

    const size = percent !== undefined ? { Type: 'CAPACITY_PERCENT', Value: percent } : undefined;
    const routing = {
      Type: this.type,
      ...(this.type === 'CANARY' ? { CanarySize: size } : {}),
      ...(this.type === 'LINEAR' ? { LinearStepSize: size } : {}),
      WaitIntervalInSeconds: wait,
    };
    return {
      type: this.type,
      blueGreenUpdatePolicy: {
        TrafficRoutingConfiguration: routing,
        TerminationWaitInSeconds: bake,
        MaximumExecutionTimeoutInSeconds: maximum,
      },
      maximumSeconds: maximum,
    };
  }
}
