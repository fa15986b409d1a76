import { Stack, Token } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { MlOpsValidationError } from '../../private/validation';

/**
 * The hyperparameters travel as one environment variable of the training job. Batch runs the job as an ECS task
 * whose overrides (the environment included) ECS caps at 8192 characters in total (ECS API Reference, RunTask,
 * `overrides`); half of it is left for the other contract variables (URIs, names, versions).
 */
export const MAX_HYPERPARAMETERS_CHARS = 4096;
/**
 * Every candidate's hyperparameters stay in the execution's state (the candidates list) beside the rest of the run:
 * an eighth of the 256 KiB a state's input or output may hold (Step Functions service quotas).
 */
export const MAX_ALL_HYPERPARAMETERS_CHARS = 32 * 1024;

/** Sorted keys at every depth: the same hyperparameters always give the same string, so the same cache keys. */
export function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]));
  }
  return value;
}

/**
 * The JSON object `MLOPS_HYPERPARAMETERS` carries: numbers stay numbers, and a token (a CfnParameter, say) resolves
 * at deploy time inside the JSON, as a JSON string or number.
 */
export function hyperparametersJson(scope: Construct, hyperparameters: Record<string, unknown> | undefined): string {
  return Stack.of(scope).toJsonString(sortKeys(hyperparameters ?? {}));
}

/** The hyperparameters as the configuration hash sees them: stable, tokens as their CloudFormation expression. */
export function hyperparametersForHash(scope: Construct, hyperparameters: Record<string, unknown> | undefined): unknown {
  return Stack.of(scope).resolve(sortKeys(hyperparameters ?? {}));
}

/** Whether any value is a token: its value is known at deploy time only, so the configuration hash is taken at run time. */
export function hasTokens(hyperparameters: Record<string, unknown> | undefined): boolean {
  const walk = (value: unknown): boolean => {
    if (Token.isUnresolved(value)) return true;
    if (Array.isArray(value)) return value.some(walk);
    if (typeof value === 'object' && value !== null) return Object.values(value).some(walk);
    return false;
  };
  return walk(hyperparameters ?? {});
}

/** Fails at synth on a value JSON cannot carry as given, and on hyperparameters larger than the job's environment takes. */
export function validateHyperparameters(
  scope: Construct, candidates: ReadonlyArray<{ name: string; hyperparameters?: Record<string, unknown> }>,
): void {
  let total = 0;
  candidates.forEach((candidate, index) => {
    const prop = `candidates[${index}].hyperparameters`;
    const problem = jsonProblem(candidate.hyperparameters ?? {}, '');
    if (problem) {
      throw new MlOpsValidationError(scope, 'TrainingWorkflow', `${prop}${problem.path}`, problem.value,
        `MLOPS_HYPERPARAMETERS is one JSON object: give strings, numbers, booleans, null, lists and plain objects (${problem.why}).`);
    }
    const size = JSON.stringify(sortKeys(candidate.hyperparameters ?? {})).length;
    total += size;
    if (size > MAX_HYPERPARAMETERS_CHARS) {
      throw new MlOpsValidationError(scope, 'TrainingWorkflow', prop, `${size} characters of JSON`,
        `The job's environment holds at most ${MAX_HYPERPARAMETERS_CHARS} characters of hyperparameters (ECS caps a task's overrides ` +
        'at 8192 characters): put larger configuration in a file in the data or model bucket and pass its key.');
    }
  });
  if (total > MAX_ALL_HYPERPARAMETERS_CHARS) {
    throw new MlOpsValidationError(scope, 'TrainingWorkflow', 'candidates', `${total} characters of hyperparameters in all`,
      `The candidates' hyperparameters stay in the execution's state (at most 256 KiB): keep them under ${MAX_ALL_HYPERPARAMETERS_CHARS} ` +
      'characters in all, or put larger configuration in a file in S3.');
  }
}

interface JsonProblem {
  readonly path: string;
  readonly value: unknown;
  readonly why: string;
}

function jsonProblem(value: unknown, path: string): JsonProblem | undefined {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (typeof value === 'number') {
    // A number token is a finite double: it passes here and resolves at deploy time.
    return Number.isFinite(value) ? undefined : { path, value: String(value), why: 'JSON has no NaN or Infinity' };
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = jsonProblem(value[i], `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (typeof value === 'object') {
    const prototype = Object.getPrototypeOf(value);
    if (prototype !== Object.prototype && prototype !== null) {
      return { path, value: `a ${prototype?.constructor?.name ?? 'class'} object`, why: 'give its plain value, for example Duration.seconds(30).toSeconds()' };
    }
    for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
      const problem = jsonProblem(item, `${path}.${key}`);
      if (problem) return problem;
    }
    return undefined;
  }
  return { path, value: typeof value, why: `JSON has no ${typeof value}` };
}
