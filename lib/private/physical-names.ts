import { Stack } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';
import { isConcrete, MlOpsValidationError } from './validation';

/** Per app: the physical names taken, by resource kind, account and region, with the construct that took each. */
const TAKEN = new WeakMap<IConstruct, Map<string, string>>();

/**
 * Claims a physical name that AWS keeps unique in an account and region: a second resource of the same kind and
 * name in the same environment of one app would fail to create, so it fails at synth instead. Stacks without an
 * explicit environment count as one environment (they deploy wherever the CLI points). Tokens are not compared.
 */
export function claimPhysicalName(scope: IConstruct, construct: string, prop: string, kind: string, name: string): void {
  if (!isConcrete(name)) return;
  const stack = Stack.of(scope);
  const key = [kind, stack.account, stack.region, name].join('\u0000');
  const app = scope.node.root;
  const taken = TAKEN.get(app) ?? new Map<string, string>();
  TAKEN.set(app, taken);
  const owner = taken.get(key);
  if (owner !== undefined && owner !== scope.node.path) {
    throw new MlOpsValidationError(scope, construct, prop, name, `${owner} already creates the ${kind} '${name}' in this account and ` +
      'region: AWS keeps these names unique, so the second would fail to deploy. Give each its own name.');
  }
  taken.set(key, scope.node.path);
}
