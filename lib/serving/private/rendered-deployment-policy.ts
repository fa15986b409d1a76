/**
 * What a policy renders to: UpdateEndpoint's `DeploymentConfig.BlueGreenUpdatePolicy` in the API's form.
 */
export interface RenderedDeploymentPolicy {
  /** CANARY, LINEAR or ALL_AT_ONCE. */
  readonly type: string;
  /** BlueGreenUpdatePolicy (SageMaker API Reference, BlueGreenUpdatePolicy). */
  readonly blueGreenUpdatePolicy: Record<string, unknown>;
  /** MaximumExecutionTimeoutInSeconds (may be a token). */
  readonly maximumSeconds: number;
}

