import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ImageSpec, TRAINING_BUILD_VARIABLES, trainingBuildSpec } from './private/training-image-buildspec';
import { acknowledge, exemptFromControlTower } from '../private/acknowledge';
import { BUILD_IMAGE } from '../private/build-image';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import { createKey, keyViaService } from '../private/kms-key';
import { encryptedLogGroup } from '../private/log-group';
import { codeBuildDefaultGrantIds } from '../private/nag-resource';
import { isConcrete, MlOpsValidationError } from '../private/validation';
import { IModelImageRepository } from '../registry/model-image-repository';
import { SEVERITY_ORDER } from '../serving/buildspec';
import { ScanSeverity } from '../serving/serving-image-build';

/** Props for {@link TrainingImageBuild}. */
export interface TrainingImageBuildProps {
  /** Receives the training (and evaluation) images; its tags are immutable, which the content tags rely on. */
  readonly repository: IModelImageRepository;
  /**
   * The training code's directory, relative to the source root: the build context, and what the tag is the hash of.
   * @default 'training'
   */
  readonly trainingDirectory?: string;
  /**
   * The training Dockerfile, relative to the source root.
   * @default '<trainingDirectory>/Dockerfile'
   */
  readonly dockerfile?: string;
  /**
   * A separate evaluation image's directory (its build context), relative to the source root.
   * @default - no separate evaluation image unless `evaluationDockerfile` is given: evaluation runs the training image
   */
  readonly evaluationDirectory?: string;
  /**
   * A separate evaluation image's Dockerfile, relative to the source root.
   * @default '<evaluationDirectory>/Dockerfile' when `evaluationDirectory` is given
   */
  readonly evaluationDockerfile?: string;
  /**
   * The image the Dockerfiles build from, passed as the build argument `BASE_IMAGE` (`ARG BASE_IMAGE` /
   * `FROM ${BASE_IMAGE}`); part of the content tag. Not a Docker Hub image: anonymous Docker Hub pulls are rate limited.
   * @default 'public.ecr.aws/docker/library/python:3.12-slim'
   */
  readonly baseImage?: string;
  /**
   * Fail the build when the ECR scan on push reports a finding at or above this severity; `ScanSeverity.NONE` for no
   * scan gate. A reused image is gated too.
   * @default ScanSeverity.HIGH
   */
  readonly failOnSeverity?: ScanSeverity;
  /**
   * The CodeBuild compute type (ML images with CUDA and PyTorch take several GB).
   * @default codebuild.ComputeType.MEDIUM
   */
  readonly computeType?: codebuild.ComputeType;
  /**
   * The longest a build may run: 5 minutes to 36 hours, in whole minutes.
   * @default Duration.minutes(60)
   */
  readonly timeout?: Duration;
}

/** Options for {@link TrainingImageBuild.buildAction}. */
export interface TrainingImageBuildActionOptions {
  /** The source artifact (the committed code). */
  readonly input: codepipeline.Artifact;
  /**
   * The namespace of the exported variables: later actions read `#{<namespace>.TRAINING_IMAGE_URI}`.
   * @default 'Build'
   */
  readonly variablesNamespace?: string;
  /**
   * The action's name.
   * @default 'BuildTrainingImage'
   */
  readonly actionName?: string;
  /**
   * The commit, recorded as the `org.opencontainers.image.revision` label of an image this run builds (for example
   * `#{Source.CommitId}`): CodePipeline does not always set CODEBUILD_RESOLVED_SOURCE_VERSION.
   * @default - the label says 'unknown'
   */
  readonly sourceVersion?: string;
}

const DEFAULT_BASE_IMAGE = 'public.ecr.aws/docker/library/python:3.12-slim';
const DOCKER_HUB_HOSTS = ['docker.io', 'index.docker.io', 'registry-1.docker.io', 'registry.hub.docker.com'];
/** CodeBuild's build timeout (timeoutInMinutes): 5 to 2160 minutes. */
const MIN_TIMEOUT_MINUTES = 5;
const MAX_TIMEOUT_MINUTES = 2160;

/**
 * A CodeBuild project that builds the training image (and a separate evaluation image, when one is configured) from
 * the committed source, pushes it to a {@link ModelImageRepository} under a content tag, gates it on the ECR scan
 * and exports it by digest for the Train stage. A `PipelineProject`: run it from a CodePipeline CodeBuild action with
 * the source artifact as input ({@link buildAction}).
 *
 * The tag is `train-` followed by the SHA-256 of the training directory's files, the Dockerfile and the base image
 * (the exact recipe is in the buildspec generator's documentation, lib/pipeline/private/training-image-buildspec.ts):
 * a commit that changes only the serving code, the tests or anything else outside the training directory gives the
 * same tag, so the existing image is reused (no build, no push) and its digest, unchanged, keeps the training cache
 * valid. Otherwise the build runs `docker build --build-arg BASE_IMAGE` with the training directory as context, pushes,
 * waits for the ECR scan on push, fails on findings at or above `failOnSeverity` and reads the digest from ECR.
 *
 * Exported variables: `TRAINING_IMAGE_URI` and `EVALUATION_IMAGE_URI` (by digest, `repositoryUri@sha256:...`; the
 * same image when there is no separate evaluation image), `TRAINING_IMAGE_TAG`, `EVALUATION_IMAGE_TAG`, and
 * `TRAINING_IMAGE_REUSED` (`true` or `false`).
 *
 * The build runs in privileged mode (Docker needs it): only this project, only this generated buildspec.
 *
 * @example
 * const trainingImage = new TrainingImageBuild(this, 'TrainingImage', { repository: trainingImages });
 * // In the pipeline, between Check and Train:
 * const build = trainingImage.buildAction({ input: source, sourceVersion: '#{Source.CommitId}' });
 * // The Train action's input: { trainingImageUri: '#{Build.TRAINING_IMAGE_URI}', evaluationImageUri: '#{Build.EVALUATION_IMAGE_URI}' }
 */
export class TrainingImageBuild extends Construct implements iam.IGrantable {
  /** Exported variable: the training image by digest. */
  public static readonly TRAINING_IMAGE_URI_VARIABLE: string = TRAINING_BUILD_VARIABLES.TRAINING_IMAGE_URI;
  /** Exported variable: the training image's content tag. */
  public static readonly TRAINING_IMAGE_TAG_VARIABLE: string = TRAINING_BUILD_VARIABLES.TRAINING_IMAGE_TAG;
  /** Exported variable: `true` when the training image was reused, not built. */
  public static readonly TRAINING_IMAGE_REUSED_VARIABLE: string = TRAINING_BUILD_VARIABLES.TRAINING_IMAGE_REUSED;
  /** Exported variable: the evaluation image by digest (the training image's when there is no separate one). */
  public static readonly EVALUATION_IMAGE_URI_VARIABLE: string = TRAINING_BUILD_VARIABLES.EVALUATION_IMAGE_URI;
  /** Exported variable: the evaluation image's tag. */
  public static readonly EVALUATION_IMAGE_TAG_VARIABLE: string = TRAINING_BUILD_VARIABLES.EVALUATION_IMAGE_TAG;

  /** The CodeBuild project. */
  public readonly project: codebuild.IProject;
  /** The repository the images are pushed to. */
  public readonly repository: IModelImageRepository;
  /** The project's role. */
  public readonly role: iam.IRole;
  /** The project's role, to grant it more (a base image in an ECR pull-through cache, for example). */
  public readonly grantPrincipal: iam.IPrincipal;
  /** The key that encrypts the build artifacts. */
  public readonly encryptionKey: kms.IKey;
  /** The build logs. */
  public readonly logGroup: logs.ILogGroup;
  /** The training image's build context (a directory relative to the source root). */
  public readonly trainingDirectory: string;
  /** The training image's Dockerfile. */
  public readonly trainingDockerfile: string;
  /** The separate evaluation image's build context; undefined when evaluation runs the training image. */
  public readonly evaluationDirectory?: string;
  /** The separate evaluation image's Dockerfile; undefined when evaluation runs the training image. */
  public readonly evaluationDockerfile?: string;

  constructor(scope: Construct, id: string, props: TrainingImageBuildProps) {
    super(scope, id);
    const baseImage = props.baseImage ?? DEFAULT_BASE_IMAGE;
    this.validateBaseImage(baseImage);
    const trainingDirectory = this.relativePath('trainingDirectory', props.trainingDirectory ?? 'training');
    const training: ImageSpec = {
      context: trainingDirectory,
      dockerfile: this.relativePath('dockerfile', props.dockerfile ?? `${trainingDirectory}/Dockerfile`),
    };
    let evaluation: ImageSpec | undefined;
    if (props.evaluationDirectory !== undefined || props.evaluationDockerfile !== undefined) {
      const context = this.relativePath('evaluationDirectory', props.evaluationDirectory ?? trainingDirectory);
      const dockerfile = this.relativePath('evaluationDockerfile', props.evaluationDockerfile ?? `${context}/Dockerfile`);
      // The same context and Dockerfile build the same image: no second build.
      if (context !== training.context || dockerfile !== training.dockerfile) evaluation = { context, dockerfile };
    }
    this.trainingDirectory = training.context;
    this.trainingDockerfile = training.dockerfile;
    this.evaluationDirectory = evaluation?.context;
    this.evaluationDockerfile = evaluation?.dockerfile;
    const timeout = props.timeout ?? Duration.minutes(60);
    this.validateTimeout(timeout);

    this.repository = props.repository;
    // CodeBuild stores the artifacts in S3 with this key (SSE-KMS): the project's use of the key goes through S3 only.
    this.encryptionKey = keyViaService(this, 'KeyViaS3',
      createKey(this, 'Key', `cdk-mlops: encrypts the artifacts of the training image build ${this.node.path}`), 's3');
    this.logGroup = encryptedLogGroup(this, 'Logs');

    const project = new codebuild.PipelineProject(this, 'Resource', {
      description: 'cdk-mlops: builds the training image from the commit, or reuses the one of the same content',
      buildSpec: codebuild.BuildSpec.fromObject(trainingBuildSpec({
        baseImage,
        training,
        evaluation,
        blockingSeverities: blockingSeverities(props.failOnSeverity ?? ScanSeverity.HIGH),
      })),
      environment: {
        buildImage: BUILD_IMAGE,
        computeType: props.computeType ?? codebuild.ComputeType.MEDIUM,
        privileged: true,
        environmentVariables: {
          [TRAINING_BUILD_VARIABLES.REPOSITORY_URI]: { value: this.repository.repositoryUri },
          [TRAINING_BUILD_VARIABLES.REPOSITORY_NAME]: { value: this.repository.repositoryName },
        },
      },
      cache: codebuild.Cache.local(codebuild.LocalCacheMode.DOCKER_LAYER),
      encryptionKey: this.encryptionKey,
      timeout,
      logging: { cloudWatch: { logGroup: this.logGroup } },
    });
    this.project = project;
    this.role = project.role!;
    this.grantPrincipal = project.grantPrincipal;

    this.grantRepository(this.project);
    this.acknowledgeFindings(project);
  }

  /**
   * Permits the grantee what this build does with the repository: push (pull included), and read the image details
   * and scan findings (the tag check, the digest, the scan gate). The project has it already.
   */
  public grantRepository(grantee: iam.IGrantable): iam.Grant {
    return this.repository.grantPush(grantee)
      .combine(this.repository.repository.grant(grantee, 'ecr:DescribeImages', 'ecr:DescribeImageScanFindings'));
  }

  /** The CodePipeline action that runs this build on the source artifact and exports the images' variables. */
  public buildAction(options: TrainingImageBuildActionOptions): actions.CodeBuildAction {
    return new actions.CodeBuildAction({
      actionName: options.actionName ?? 'BuildTrainingImage',
      project: this.project,
      input: options.input,
      variablesNamespace: options.variablesNamespace ?? 'Build',
      environmentVariables: options.sourceVersion !== undefined
        ? { [TRAINING_BUILD_VARIABLES.SOURCE_VERSION]: { value: options.sourceVersion } }
        : undefined,
    });
  }

  private acknowledgeFindings(project: codebuild.PipelineProject): void {
    const cfnProject = project.node.defaultChild as codebuild.CfnProject;
    exemptFromControlTower(cfnProject, {
      codebuild_project_environment_privileged_check:
        'docker build needs the Docker daemon, which CodeBuild runs only in privileged mode. Only this project has it, and it ' +
        'runs only its own generated buildspec on the pipeline\'s source artifact.',
    });
    const sourceReason = 'The source is the pipeline\'s artifact (source type CODEPIPELINE): the project has no repository URL, ' +
      'so there is no OAuth to set; the pipeline\'s source action holds the connection.';
    acknowledge(cfnProject, {
      'HIPAA.Security-CodeBuildProjectSourceRepoUrl': sourceReason,
      'PCI.DSS.321-CodeBuildProjectSourceRepoUrl': sourceReason,
    });

    const policy = this.role.node.tryFindChild('DefaultPolicy');
    if (!policy) return;
    const defaultGrants = codeBuildDefaultGrantIds(this, cfnProject.ref);
    acknowledge(policy, {
      'AwsSolutions-IAM5[Resource::*]': 'ecr:GetAuthorizationToken (docker login) has no resource-level permissions: IAM accepts only "*".',
      [defaultGrants.logGroup]:
        'aws-cdk-lib grants every CodeBuild project its default log group\'s streams; this project logs to its own group.',
      [defaultGrants.reportGroups]:
        'aws-cdk-lib grants every CodeBuild project the test report groups named after it, and no other.',
      'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]': 'Encrypts the build artifacts with this build\'s own key only.',
      'AwsSolutions-IAM5[Action::kms:ReEncrypt*]': 'Granted with kms:Encrypt by aws-cdk-lib, on this build\'s own key only.',
      ...INLINE_ROLE_POLICY,
    });
  }

  private validateBaseImage(image: string): void {
    if (!isConcrete(image)) return;
    if (image.trim() === '' || /\s/.test(image)) {
      throw new MlOpsValidationError(this, 'TrainingImageBuild', 'baseImage', image,
        'Give an image reference like public.ecr.aws/docker/library/python:3.12-slim.');
    }
    if (isDockerHub(image)) {
      throw new MlOpsValidationError(this, 'TrainingImageBuild', 'baseImage', image,
        'Docker Hub limits anonymous pulls, which breaks builds: use ECR Public (public.ecr.aws/...) or an ECR pull-through ' +
        'cache (<account>.dkr.ecr.<region>.amazonaws.com/<prefix>/...).');
    }
  }

  private relativePath(prop: string, value: string): string {
    if (!isConcrete(value)) return value;
    const segments = value.split('/');
    if (value === '' || value.startsWith('/') || value.startsWith('~') || value.includes('\\') || segments.includes('..') ||
      /[\r\n\0"$`]/.test(value)) {
      throw new MlOpsValidationError(this, 'TrainingImageBuild', prop, value,
        'Give a path relative to the root of the source artifact, without ".." or shell characters (for example "training/Dockerfile").');
    }
    return value.replace(/^(\.\/)+/, '').replace(/\/+$/, '') || '.';
  }

  private validateTimeout(timeout: Duration): void {
    if (timeout.isUnresolved()) return;
    const minutes = timeout.toMinutes({ integral: false });
    if (!Number.isInteger(minutes) || minutes < MIN_TIMEOUT_MINUTES || minutes > MAX_TIMEOUT_MINUTES) {
      throw new MlOpsValidationError(this, 'TrainingImageBuild', 'timeout', timeout.toHumanString(),
        'CodeBuild accepts whole minutes from 5 to 2160 (36 hours): for example Duration.minutes(60).');
    }
  }
}

/** The severities that fail the build: the threshold and every more severe one. */
function blockingSeverities(threshold: ScanSeverity): string[] {
  if (threshold === ScanSeverity.NONE) return [];
  return SEVERITY_ORDER.slice(0, SEVERITY_ORDER.indexOf(threshold) + 1);
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
