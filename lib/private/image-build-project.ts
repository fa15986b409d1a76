import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { acknowledge, exemptFromControlTower } from './acknowledge';
import { BUILD_IMAGE } from './build-image';
import { CODEBUILD_SOURCE_IS_THE_PIPELINE, INLINE_ROLE_POLICY } from './common-findings';
import { createKey, keyViaService } from './kms-key';
import { encryptedLogGroup } from './log-group';
import { NagReason, REASONS } from './nag-reasons';
import { codeBuildDefaultGrantIds } from './nag-resource';
import { isConcrete, MlOpsValidationError } from './validation';
import { IModelImageRepository } from '../registry/model-image-repository';

/**
 * What the image builds of the library (TrainingImageBuild, ServingImageBuild) share: a privileged CodeBuild project
 * that pushes to one repository, with its own artifact key and log group, the repository grants every such build
 * needs, the findings those create, and the checks of the props they have in common.
 */

/** The base image both builds default to: ECR Public's copy of the official Python image, not Docker Hub. */
export const DEFAULT_BASE_IMAGE = 'public.ecr.aws/docker/library/python:3.12-slim';
const DOCKER_HUB_HOSTS = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];
/** CodeBuild's build timeout (timeoutInMinutes): 5 to 2160 minutes. */
const MIN_TIMEOUT_MINUTES = 5;
const MAX_TIMEOUT_MINUTES = 2160;

export interface ImageBuildProjectOptions {
  /** The construct's class name, for messages and descriptions. */
  readonly constructName: string;
  /** The project's description. */
  readonly description: string;
  /** What the artifact key encrypts ("the training image build"). */
  readonly what: string;
  readonly buildSpec: Record<string, unknown>;
  readonly repository: IModelImageRepository;
  readonly computeType?: codebuild.ComputeType;
  readonly timeout: Duration;
  /** What the build runs with Docker ("docker build"), for the privileged-mode exemption. */
  readonly dockerUse: string;
  /** The names of the project's environment variables that carry the repository's URI and name. */
  readonly repositoryVariables: { readonly uri: string; readonly name: string };
}

/** The project and what it owns. */
export interface ImageBuildProject {
  readonly project: codebuild.PipelineProject;
  readonly role: iam.IRole;
  readonly encryptionKey: kms.IKey;
  readonly logGroup: logs.ILogGroup;
  /**
   * Acknowledges the findings of the project's role policy: the ones every image build has, plus `extra` (the grants
   * a build adds). `wildcardReason` names the actions on `*` the role holds (docker login's at least).
   */
  acknowledgePolicy(extra?: Record<string, NagReason>, wildcardReason?: NagReason): void;
}

/** Creates the project in `scope` (id 'Resource'), with its key ('Key') and logs ('Logs'); grants it push and scan reads. */
export function imageBuildProject(scope: Construct, options: ImageBuildProjectOptions): ImageBuildProject {
  validateBuildTimeout(scope, options.constructName, options.timeout);
  // CodeBuild stores the artifacts in S3 with this key (SSE-KMS): the project's use of the key goes through S3 only.
  const encryptionKey = keyViaService(scope, 'KeyViaS3',
    createKey(scope, 'Key', `cdk-mlops: encrypts the artifacts of ${options.what} ${scope.node.path}`), 's3');
  const logGroup = encryptedLogGroup(scope, 'Logs');
  const project = new codebuild.PipelineProject(scope, 'Resource', {
    description: options.description,
    buildSpec: codebuild.BuildSpec.fromObject(options.buildSpec),
    environment: {
      buildImage: BUILD_IMAGE,
      computeType: options.computeType ?? codebuild.ComputeType.MEDIUM,
      privileged: true,
      environmentVariables: {
        [options.repositoryVariables.uri]: { value: options.repository.repositoryUri },
        [options.repositoryVariables.name]: { value: options.repository.repositoryName },
      },
    },
    cache: codebuild.Cache.local(codebuild.LocalCacheMode.DOCKER_LAYER),
    encryptionKey,
    timeout: options.timeout,
    logging: { cloudWatch: { logGroup } },
  });
  grantImagePush(options.repository, project);

  const cfnProject = project.node.defaultChild as codebuild.CfnProject;
  exemptFromControlTower(cfnProject, {
    codebuild_project_environment_privileged_check: REASONS.codebuild.privilegedForDocker(options.dockerUse),
  });
  acknowledge(cfnProject, CODEBUILD_SOURCE_IS_THE_PIPELINE);

  const role = project.role!;
  return {
    project,
    role,
    encryptionKey,
    logGroup,
    acknowledgePolicy(extra = {}, wildcardReason = REASONS.ecr.authorizationTokenForDocker) {
      const policy = role.node.tryFindChild('DefaultPolicy');
      if (!policy) return;
      const defaultGrants = codeBuildDefaultGrantIds(scope, cfnProject.ref);
      acknowledge(policy, {
        'AwsSolutions-IAM5[Resource::*]': wildcardReason,
        [defaultGrants.logGroup]: REASONS.codebuild.defaultLogGroupGrant,
        [defaultGrants.reportGroups]: REASONS.codebuild.defaultReportGroupsGrant,
        'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': REASONS.kms.buildArtifactDataKeys,
        'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': REASONS.kms.buildArtifactReEncrypt,
        ...INLINE_ROLE_POLICY,
        ...extra,
      });
    },
  };
}

/**
 * What an image build does with its repository: push (pull included), and read the image details and scan findings
 * (the tag lookup, the digest after the push, the scan gate: `aws ecr wait image-scan-complete` polls
 * DescribeImageScanFindings).
 */
export function grantImagePush(repository: IModelImageRepository, grantee: iam.IGrantable): iam.Grant {
  return repository.grantPush(grantee)
    .combine(repository.repository.grant(grantee, 'ecr:DescribeImages', 'ecr:DescribeImageScanFindings'));
}

/** A base image reference that is not on Docker Hub (anonymous pulls are rate limited there). */
export function validateBaseImage(scope: Construct, constructName: string, image: string): void {
  if (!isConcrete(image)) return;
  if (image.trim() === '' || /\s/.test(image)) {
    throw new MlOpsValidationError(scope, constructName, 'baseImage', image,
      'Give an image reference like public.ecr.aws/docker/library/python:3.12-slim.');
  }
  if (isDockerHub(image)) {
    throw new MlOpsValidationError(scope, constructName, 'baseImage', image,
      'Docker Hub limits anonymous pulls, which breaks builds: use ECR Public (public.ecr.aws/...) or an ECR pull-through ' +
      'cache (<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/...).');
  }
}

/**
 * A path inside the source artifact, as the buildspec uses it (in double-quoted shell variables): relative, without
 * "..", and without characters the shell would act on. Returned without a leading "./" or a trailing "/".
 */
export function sourcePath(scope: Construct, constructName: string, prop: string, value: string, example: string): string {
  if (!isConcrete(value)) return value;
  const segments = value.split('/');
  if (value === '' || value.startsWith('/') || value.startsWith('~') || value.includes('\\') || segments.includes('..') ||
    /[\r\n\0"$`]/.test(value)) {
    throw new MlOpsValidationError(scope, constructName, prop, value,
      `Give a path relative to the root of the source artifact, without ".." or shell characters (for example "${example}").`);
  }
  return value.replace(/^(\.\/)+/, '').replace(/\/+$/, '') || '.';
}

function validateBuildTimeout(scope: Construct, constructName: string, timeout: Duration): void {
  if (timeout.isUnresolved()) return;
  const minutes = timeout.toMinutes({ integral: false });
  if (!Number.isInteger(minutes) || minutes < MIN_TIMEOUT_MINUTES || minutes > MAX_TIMEOUT_MINUTES) {
    throw new MlOpsValidationError(scope, constructName, 'timeout', timeout.toHumanString(),
      'CodeBuild accepts whole minutes from 5 to 2160 (36 hours): for example Duration.minutes(60).');
  }
}

/**
 * Docker's rule: the first path component names a registry only when it has a "." or a ":" or is "localhost";
 * otherwise the reference is on Docker Hub (`python:3.12` is `docker.io/library/python:3.12`).
 */
function isDockerHub(image: string): boolean {
  const slash = image.indexOf('/');
  if (slash < 0) return true;
  const first = image.slice(0, slash).toLowerCase();
  if (!first.includes('.') && !first.includes(':') && first !== 'localhost') return true;
  return DOCKER_HUB_HOSTS.includes(first.replace(/:\d+$/, ''));
}
