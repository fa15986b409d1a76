import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

// Symbol.for: two copies of the library in one app (two node_modules) still recognise each other's errors.
const MLOPS_VALIDATION_ERROR = Symbol.for('cdk-mlops.MlOpsValidationError');

// Private sentinels for the "missing" and "not allowed" messages: no value a caller passes can equal them.
const MISSING = Symbol('missing');
class NotAllowedWith {
  constructor(readonly conflict: string) {}
}

/**
 * A prop that would produce a template AWS rejects, or infrastructure that silently misbehaves.
 * The message names the construct, the prop, the bad value and the fix.
 *
 * Not exported: jsii refuses a public class that extends `Error` (JSII3004). Users test for it with
 * `MlOpsErrors.isMlOpsValidationError` (lib/errors.ts).
 */
export class MlOpsValidationError extends Error {
  /** `<Construct> '<path>': missing prop <prop>. <fix>`, for a prop this configuration needs. */
  static missing(scope: IConstruct, construct: string, prop: string, fix: string): MlOpsValidationError {
    return new MlOpsValidationError(scope, construct, prop, MISSING, fix);
  }

  /** `<Construct> '<path>': prop <prop> is not allowed with <conflict>. <fix>`, for a prop given where it has no meaning. */
  static notAllowed(scope: IConstruct, construct: string, prop: string, conflict: string, fix: string): MlOpsValidationError {
    return new MlOpsValidationError(scope, construct, prop, new NotAllowedWith(conflict), fix);
  }

  constructor(scope: IConstruct, construct: string, prop: string, value: unknown, fix: string) {
    super(`${construct} '${scope.node.path}': ${problem(prop, value)}. ${fix}`);
    this.name = 'MlOpsValidationError';
    Object.defineProperty(this, MLOPS_VALIDATION_ERROR, { value: true });
  }
}

/** Whether `x` is an {@link MlOpsValidationError}, from this copy of the library or another. */
export function isMlOpsValidationError(x: unknown): x is MlOpsValidationError {
  return x !== null && typeof x === 'object' && MLOPS_VALIDATION_ERROR in x;
}

function problem(prop: string, value: unknown): string {
  if (value === MISSING) return `missing prop ${prop}`;
  if (value instanceof NotAllowedWith) return `prop ${prop} is not allowed with ${value.conflict}`;
  return `invalid ${prop} ${render(value)}`;
}

function render(value: unknown): string {
  if (typeof value === 'string') return `'${value}'`;
  if (Array.isArray(value)) return `[${value.map(render).join(', ')}]`;
  return String(value);
}

/** Unresolved tokens are checked by CloudFormation, not by us. */
export function isConcrete(value: string | number | undefined): value is string | number {
  return value !== undefined && !Token.isUnresolved(value);
}
