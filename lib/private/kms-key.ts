import { RemovalPolicy, Resource, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';
import { MlOpsKeys } from '../keys/mlops-keys';

/**
 * The key a construct of this library encrypts with when the user gave none: the stack's one key by default, or a
 * key of its own at (scope, id) with per-purpose keys (`MlOpsKeys`). Either way: rotation on, retained on
 * `cdk destroy`, grants only for AWS services (CT.KMS.PR.3).
 */
export function createKey(scope: Construct, id: string, description: string): kms.IKey {
  return MlOpsKeys.of(scope)._keyFor(scope, id, description);
}

const PREPARED = new WeakMap<kms.IKey, Set<string>>();

/**
 * Runs `addStatements` once per key and use: with one key for the stack, the statements a use needs (CloudWatch
 * Logs', the alarms') are written once however many constructs ask for that use.
 */
export function prepareKeyOnce(key: kms.IKey, use: string, addStatements: () => void): void {
  const uses = PREPARED.get(key) ?? new Set<string>();
  PREPARED.set(key, uses);
  if (uses.has(use)) return;
  uses.add(use);
  addStatements();
}

/** A service whose calls to KMS on a principal's behalf carry `kms:ViaService`. */
export type KeyService = 's3' | 'ecr';

/**
 * The condition that limits a grant to the requests `service` makes to KMS for the principal in this region: the
 * principal can use the key through S3 (or ECR) but cannot call KMS with it directly (AWS KMS developer guide,
 * "kms:ViaService": the request must come from the named service on behalf of the principal).
 */
export function viaService(region: string, service: KeyService): Record<string, Record<string, string>> {
  return { StringEquals: { 'kms:ViaService': `${service}.${region}.amazonaws.com` } };
}

/** The region of a resource (an imported bucket's own), else of its stack. */
function regionOf(scope: Construct): string {
  return scope instanceof Resource ? scope.env.region : Stack.of(scope).region;
}

/** Grants `actions` on `key`, only through `service` in the region of `scope` (see {@link viaService}). */
export function grantKeyViaService(scope: Construct, grantee: iam.IGrantable, key: kms.IKey, actions: string[], service: KeyService): iam.Grant {
  return iam.Grant.addToPrincipalOrResource({
    grantee,
    actions,
    resourceArns: [key.keyArn],
    resourceSelfArns: ['*'],
    resource: key,
    conditions: viaService(regionOf(scope), service),
  });
}

const DECRYPT = ['kms:Decrypt'];
const ENCRYPT = ['kms:Encrypt', 'kms:ReEncrypt*', 'kms:GenerateDataKey*'];

/**
 * A view of `key` whose grants are limited to requests made through one service: what a bucket (or a CodeBuild
 * project, whose artifacts S3 encrypts) hands to aws-cdk-lib, so that the grants aws-cdk-lib writes for it
 * (`bucket.grantRead`, the pipeline's artifact access, the project's own) do not give direct use of a key the
 * stack shares. Everything else (ARN, policy, aliases, removal) is the key's.
 */
export function keyViaService(scope: Construct, id: string, key: kms.IKey, service: KeyService): kms.IKey {
  if (key instanceof ServiceScopedKey) return key;
  return new ServiceScopedKey(scope, id, key, service, regionOf(scope));
}

class ServiceScopedKey extends Resource implements kms.IKey {
  public readonly keyArn: string;
  public readonly keyId: string;

  constructor(scope: Construct, id: string, private readonly key: kms.IKey, private readonly service: KeyService,
    private readonly serviceRegion: string) {
    super(scope, id, { account: key.env.account, region: key.env.region });
    this.keyArn = key.keyArn;
    this.keyId = key.keyId;
  }

  public get keyRef(): kms.KeyReference {
    return this.key.keyRef;
  }

  public addAlias(alias: string): kms.Alias {
    return this.key.addAlias(alias);
  }

  public addToResourcePolicy(statement: iam.PolicyStatement, allowNoOp?: boolean): iam.AddToResourcePolicyResult {
    return this.key.addToResourcePolicy(statement, allowNoOp);
  }

  public applyRemovalPolicy(policy: RemovalPolicy): void {
    this.key.applyRemovalPolicy(policy);
  }

  public grant(grantee: iam.IGrantable, ...actions: string[]): iam.Grant {
    return iam.Grant.addToPrincipalOrResource({
      grantee,
      actions,
      resourceArns: [this.key.keyArn],
      resourceSelfArns: ['*'],
      resource: this.key,
      conditions: viaService(this.serviceRegion, this.service),
    });
  }

  public grantDecrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ...DECRYPT);
  }

  public grantEncrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ...ENCRYPT);
  }

  public grantEncryptDecrypt(grantee: iam.IGrantable): iam.Grant {
    return this.grant(grantee, ...DECRYPT, ...ENCRYPT);
  }

  // Signing and MACs are not for symmetric encryption keys, and no service signs on a principal's behalf: the key's own.
  public grantSign(grantee: iam.IGrantable): iam.Grant {
    return this.key.grantSign(grantee);
  }

  public grantVerify(grantee: iam.IGrantable): iam.Grant {
    return this.key.grantVerify(grantee);
  }

  public grantSignVerify(grantee: iam.IGrantable): iam.Grant {
    return this.key.grantSignVerify(grantee);
  }

  public grantGenerateMac(grantee: iam.IGrantable): iam.Grant {
    return this.key.grantGenerateMac(grantee);
  }

  public grantVerifyMac(grantee: iam.IGrantable): iam.Grant {
    return this.key.grantVerifyMac(grantee);
  }
}
