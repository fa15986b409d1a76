import { Token } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * A prop that would produce a template AWS rejects, or infrastructure that silently misbehaves.
 * The message names the construct, the prop, the bad value and the fix.
 */
export class MlOpsValidationError extends Error {
  constructor(scope: IConstruct, construct: string, prop: string, value: unknown, fix: string) {
    super(`${construct} '${scope.node.path}': invalid ${prop} ${render(value)}. ${fix}`);
    this.name = 'MlOpsValidationError';
  }
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
