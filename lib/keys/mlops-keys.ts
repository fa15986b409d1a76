import { Stack } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct, IConstruct } from 'constructs';
import { newCustomerManagedKey } from '../private/customer-managed-key';
import { MlOpsValidationError } from '../private/validation';

/** Where a stack keeps its MlOpsKeys (Symbol.for: two copies of the library in one app find the same one). */
const REGISTRY = Symbol.for('cdk-mlops.MlOpsKeys');
const DEFAULT_ID = 'MlOpsKeys';

/** Props for {@link MlOpsKeys}. */
export interface MlOpsKeysProps {
  /**
   * One key for each purpose (each bucket, image repository, build and endpoint, the stack's log groups and its
   * alerts topic) instead of one key for the stack. Each key costs $1 a month while idle (plus up to $2 a month for
   * its first two rotations): choose it when policy requires separate keys, for example to disable or audit one
   * bucket's key alone. The keys then have the construct ids of earlier versions of this library (no replacement).
   * @default - the context value `cdk-mlops:perPurposeKeys` (true or false) when it is set, else false: one key
   */
  readonly perPurposeKeys?: boolean;
  /**
   * Your key, for every purpose in the stack: the constructs encrypt their buckets, log groups, alerts topic, image
   * repositories, build artifacts, data capture and endpoint volumes with it, and create no key. A key made in this
   * app gets the key policy statements the library needs (CloudWatch Logs by encryption context, CloudWatch alarms
   * and AWS Budgets by source); an imported key's policy is not changed by CDK, so it must already allow those
   * services (and its rotation and deletion are yours).
   * @default - the library creates the stack's key on first use (or one per purpose, with `perPurposeKeys`)
   */
  readonly key?: kms.IKey;
}

/**
 * The customer-managed KMS keys that the constructs of this library create in one stack, when you give them no key
 * of your own (every `encryptionKey` prop still takes your key). By default the stack has ONE key for its buckets,
 * log groups, alerts topic, image repositories, build artifacts and endpoint volumes: $1 a month idle instead of $1
 * per purpose. It is created on first use; rotation is on, it is retained on `cdk destroy`, and only AWS services
 * may create grants on it. Each use is scoped: services that use the key on their own get a key policy statement
 * limited to that use (CloudWatch Logs to this account's log groups by encryption context, CloudWatch alarms and
 * AWS Budgets of this account by source), and the library's grants to roles are limited to requests made through
 * S3 or ECR (`kms:ViaService`), so a role that may read one bucket cannot decrypt with the key directly.
 *
 * To choose per-purpose keys, or to give your own key, create it first in the stack, before any construct of this
 * library; per-purpose keys can also be chosen for every stack of the app with the context value
 * `cdk-mlops:perPurposeKeys` (for example in cdk.json).
 *
 * @example
 * // One key per purpose in this stack
 * new MlOpsKeys(this, 'Keys', { perPurposeKeys: true });
 * const data = new VersionedBucket(this, 'Data');
 *
 * // Or, in another stack, your key for everything:
 * // new MlOpsKeys(this, 'Keys', { key: kms.Key.fromKeyArn(this, 'OrgKey', 'arn:aws:kms:...') });
 */
export class MlOpsKeys extends Construct {
  /** The context key that sets `perPurposeKeys` for every stack that does not set it itself. */
  public static readonly PER_PURPOSE_KEYS_CONTEXT: string = 'cdk-mlops:perPurposeKeys';

  /** The keys of the stack of `scope`: the MlOpsKeys created in it, or one with the defaults, created now. */
  public static of(scope: IConstruct): MlOpsKeys {
    const stack = Stack.of(scope);
    return registered(stack) ?? new MlOpsKeys(stack, DEFAULT_ID);
  }

  /** Whether each purpose gets a key of its own. */
  public readonly perPurposeKeys: boolean;
  private key?: kms.IKey;

  constructor(scope: Construct, id: string, props: MlOpsKeysProps = {}) {
    super(scope, id);
    const stack = Stack.of(this);
    const existing = registered(stack);
    if (existing) {
      throw new MlOpsValidationError(this, 'MlOpsKeys', 'scope', stack.node.path,
        `The stack has an MlOpsKeys already (${existing.node.path}${existing.node.id === DEFAULT_ID
          ? ', made with the defaults when a construct of this library first needed a key' : ''}): create one per ` +
        'stack, before any construct of this library, or set the context value cdk-mlops:perPurposeKeys.');
    }
    if (props.key && props.perPurposeKeys) {
      throw new MlOpsValidationError(this, 'MlOpsKeys', 'perPurposeKeys', true,
        'One key of yours serves every purpose: give key or perPurposeKeys, not both.');
    }
    this.perPurposeKeys = props.key ? false : props.perPurposeKeys ?? this.fromContext();
    this.key = props.key;
    Object.defineProperty(stack, REGISTRY, { value: this, configurable: false, enumerable: false });
  }

  /**
   * The stack's key, once a construct of this library has used it; undefined with per-purpose keys (each
   * construct's `encryptionKey` is its own key then).
   */
  public get stackKey(): kms.IKey | undefined {
    return this.key;
  }

  /**
   * The key for one purpose: the stack's key, or with per-purpose keys a new key at (scope, id).
   * @internal
   */
  public _keyFor(scope: Construct, id: string, description: string): kms.IKey {
    if (this.perPurposeKeys) return newCustomerManagedKey(scope, id, description);
    this.key ??= newCustomerManagedKey(this, 'Key',
      'cdk-mlops: encrypts the buckets, log groups, alerts topic, image repositories, build artifacts and endpoint ' +
      `volumes of the stack ${Stack.of(this).stackName}`);
    return this.key;
  }

  private fromContext(): boolean {
    const value: unknown = this.node.tryGetContext(MlOpsKeys.PER_PURPOSE_KEYS_CONTEXT);
    if (value === undefined || value === false || value === 'false') return false;
    if (value === true || value === 'true') return true;
    throw new MlOpsValidationError(this, 'MlOpsKeys', `context ${MlOpsKeys.PER_PURPOSE_KEYS_CONTEXT}`, String(value),
      'Set it to true (one key per purpose) or false (one key for the stack).');
  }
}

function registered(stack: Stack): MlOpsKeys | undefined {
  return (stack as unknown as Record<symbol, MlOpsKeys | undefined>)[REGISTRY];
}
