import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';

/** How the Check stage's build runs (see `MlPipelineProps.checkCommands` for what it runs). */
export interface CheckStageOptions {
  /**
   * The build image.
   * @default codebuild.LinuxBuildImage.STANDARD_8_0, the image of the library's other builds
   */
  readonly buildImage?: codebuild.IBuildImage;
  /**
   * The build's compute type.
   * @default codebuild.ComputeType.SMALL
   */
  readonly computeType?: codebuild.ComputeType;
  /**
   * The longest the build may run, 5 minutes to 36 hours.
   * @default Duration.minutes(30)
   */
  readonly timeout?: Duration;
  /**
   * Environment variables of the build. Secrets are given as references, never as plain text:
   * `{ type: codebuild.BuildEnvironmentVariableType.SECRETS_MANAGER, value: 'name-or-arn:json-key' }` or
   * `{ type: codebuild.BuildEnvironmentVariableType.PARAMETER_STORE, value: '/parameter/name' }`; the build's role is
   * granted to read exactly those.
   * @default - none
   */
  readonly environmentVariables?: Record<string, codebuild.BuildEnvironmentVariable>;
}
