import { Token } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import { Construct } from 'constructs';
import { WildcardReason } from '../../private/grant-wildcards';
import { REASONS } from '../../private/nag-reasons';
import { MlOpsValidationError } from '../../private/validation';
import { CheckStageOptions } from '../check-stage-options';

// CodeBuild API Reference, CreateProject, timeoutInMinutes: "from 5 to 2160 (36 hours)".
const MIN_TIMEOUT_MINUTES = 5;
const MAX_TIMEOUT_MINUTES = 2160;

// AWS credentials in plain text would be readable by anyone who can read the project (and are what the
// CodeBuildProjectEnvVarAwsCred rules of the compliance packs look for).
const CREDENTIAL_NAMES = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'];

/** The Check stage's options: a timeout CodeBuild accepts, and no credential in plain text. */
export function validateCheckOptions(scope: Construct, options: CheckStageOptions | undefined): void {
  if (!options) return;
  const timeout = options.timeout;
  if (timeout && !Token.isUnresolved(timeout.toSeconds())) {
    const minutes = timeout.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < MIN_TIMEOUT_MINUTES || minutes > MAX_TIMEOUT_MINUTES) {
      throw new MlOpsValidationError(scope, 'MlPipeline', 'checkOptions.timeout', `${minutes} minutes`,
        'CodeBuild accepts whole minutes from 5 to 2160 (36 hours).');
    }
  }
  for (const [name, variable] of Object.entries(options.environmentVariables ?? {})) {
    const plain = (variable.type ?? codebuild.BuildEnvironmentVariableType.PLAINTEXT) === codebuild.BuildEnvironmentVariableType.PLAINTEXT;
    if (plain && CREDENTIAL_NAMES.includes(name)) {
      throw new MlOpsValidationError(scope, 'MlPipeline', `checkOptions.environmentVariables.${name}`, 'plain text',
        'The build runs with its own role: remove the credentials, or reference a secret with type SECRETS_MANAGER or PARAMETER_STORE.');
    }
  }
}

/**
 * The wildcards aws-cdk-lib writes when it grants the Check build its Secrets Manager variables: GetSecretValue on
 * each referenced secret with `*` after it (the six random characters Secrets Manager appends to a secret's name),
 * one reason per secret, so that any other wildcard still surfaces.
 */
export function checkSecretWildcards(options: CheckStageOptions | undefined): WildcardReason[] {
  return Object.values(options?.environmentVariables ?? {})
    .filter((v) => v.type === codebuild.BuildEnvironmentVariableType.SECRETS_MANAGER && !Token.isUnresolved(v.value))
    .map((v) => {
      const value = String(v.value);
      // `secret-id[:json-key[:version-stage[:version-id]]]`, the secret id a name or a full ARN (AWS CodeBuild User
      // Guide, buildspec reference, env/secrets-manager).
      const name = value.startsWith('arn:') ? value.split(':')[6] : value.split(':')[0];
      return {
        pattern: new RegExp(`:secretsmanager:[^:]*:[^:]*:secret:${escapeRegExp(name)}[^*:]*\\*$`),
        reason: REASONS.codebuild.checkSecret(name),
      };
    });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
