import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { ConnectionSourceAction } from './private/connection-use';
import { S3SourceLocation, validateVersionedSourceBucket } from './private/s3-source-trigger';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { VersionedBucket } from '../storage/versioned-bucket';

const CONNECTION_ARN = /^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:\d{12}:connection\/[a-f0-9-]+$/;
// Both ARN forms: `codeconnections` since the July 2024 rename, `codestar-connections` before (still valid).
// GitHub / GitLab / Bitbucket owner and repository names: letters, digits, '.', '_', '-' (GitLab groups may nest with '/').
const REPOSITORY_PART = /^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/;

/** A repository reached through an AWS CodeConnections connection (GitHub, GitLab, Bitbucket). */
export interface ConnectionSourceOptions {
  /** The connection's ARN (`arn:aws:codeconnections:...` or `arn:aws:codestar-connections:...`). */
  readonly connectionArn: string;
  /** The repository's owner (user or organization). */
  readonly owner: string;
  /** The repository's name. */
  readonly repository: string;
  /**
   * The branch that starts the pipeline.
   * @default 'main'
   */
  readonly branch?: string;
}

/** A zip of the code in S3 (versioned bucket). */
export interface S3SourceOptions {
  /**
   * The bucket; versioning must be on. A new version of the zip starts the pipeline through the bucket's EventBridge
   * notifications, turned on here for a bucket made in this app (a `VersionedBucket` has them on); turn them on
   * for an imported one. A `VersionedBucket`, an `s3.Bucket`, an imported `s3.IBucket` (with its key) or a `CfnBucket`.
   */
  readonly bucket: s3.IBucketRef;
  /** The key of the zip. */
  readonly objectKey: string;
}

/**
 * Where the pipeline takes the code from: a CodeConnections repository or S3. CodeCommit is not offered: it is
 * closed to new customers since July 2024.
 */
export class PipelineSource {
  /** A GitHub / GitLab / Bitbucket repository through a CodeConnections connection. */
  public static connection(options: ConnectionSourceOptions): PipelineSource {
    return new PipelineSource(options, undefined);
  }

  /** A zip in a versioned S3 bucket. */
  public static s3(options: S3SourceOptions): PipelineSource {
    return new PipelineSource(undefined, options);
  }

  private constructor(
    private readonly connectionOptions: ConnectionSourceOptions | undefined,
    private readonly s3Options: S3SourceOptions | undefined,
  ) {}

  /**
   * The source action, the pipeline variable that names the code version (the commit, or the S3 version), and the
   * connection the builds that clone the repository must be allowed to use.
   * @internal
   */
  public _bind(
    scope: Construct,
    output: codepipeline.Artifact,
    namespace: string,
  ): { action: codepipeline.IAction; codeVersion: string; connectionArn?: string; s3Source?: S3SourceLocation } {
    if (this.connectionOptions) {
      const o = this.connectionOptions;
      const fail = (prop: string, value: string, fix: string) => {
        throw new MlOpsValidationError(scope, 'MlPipeline', `source.${prop}`, value, fix);
      };
      if (isConcrete(o.connectionArn) && !CONNECTION_ARN.test(o.connectionArn)) {
        fail('connectionArn', o.connectionArn, 'Give the ARN of an AWS CodeConnections connection: ' +
          'arn:aws:codeconnections:<region>:<account>:connection/<id> (or arn:aws:codestar-connections:... for one created before July 2024).');
      }
      for (const [prop, value] of [['owner', o.owner], ['repository', o.repository]] as const) {
        // 'fraud-model.git' is a clone URL's last part, not the repository's name: the connection would find no repository.
        if (isConcrete(value) && (!REPOSITORY_PART.test(value) || value.endsWith('.git'))) {
          fail(prop, value, 'Give the name as the Git host shows it (letters, digits, ".", "_", "-"), without a URL or ".git".');
        }
      }
      if (o.branch !== undefined && isConcrete(o.branch) && (o.branch === '' || /\s|\.\.|[~^:?*\[\\]/.test(o.branch))) {
        fail('branch', o.branch, 'Give a Git branch name, for example "main".');
      }
      // The source action takes the short branch name: 'refs/heads/main' would watch a branch of that literal name.
      if (o.branch !== undefined && isConcrete(o.branch) && o.branch.startsWith('refs/')) {
        fail('branch', o.branch, `Give the branch's short name, without "refs/heads/": for example "${o.branch.replace(/^refs\/(heads\/)?/, '')}".`);
      }
      return {
        action: new ConnectionSourceAction({
          actionName: 'Code',
          connectionArn: o.connectionArn,
          owner: o.owner,
          repo: o.repository,
          branch: o.branch ?? 'main',
          output,
          variablesNamespace: namespace,
          // Full clone: the checks and the image build may need the history (tags, commit metadata).
          codeBuildCloneOutput: true,
        }),
        codeVersion: `#{${namespace}.CommitId}`,
        connectionArn: o.connectionArn,
      };
    }
    const o = this.s3Options!;
    const bucket = VersionedBucket.fromBucket(scope, 'SourceBucket', o.bucket).bucket;
    validateVersionedSourceBucket(scope, bucket);
    if (isConcrete(o.objectKey) && (o.objectKey === '' || o.objectKey.startsWith('/') || !o.objectKey.endsWith('.zip'))) {
      throw new MlOpsValidationError(scope, 'MlPipeline', 'source.objectKey', o.objectKey,
        'Give the key of a zip of the code, without a leading "/" (CodePipeline reads S3 sources as zips), e.g. "fraud-model.zip".');
    }
    return {
      action: new actions.S3SourceAction({
        actionName: 'Code',
        bucket,
        bucketKey: o.objectKey,
        output,
        variablesNamespace: namespace,
        // Started by S3's own EventBridge notifications (see startOnNewSourceZip), which need no CloudTrail trail.
        trigger: actions.S3Trigger.NONE,
      }),
      codeVersion: `#{${namespace}.VersionId}`,
      s3Source: { bucket, objectKey: o.objectKey },
    };
  }
}
