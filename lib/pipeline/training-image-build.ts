import { Duration } from 'aws-cdk-lib';
import * as codebuild from 'aws-cdk-lib/aws-codebuild';
import * as codepipeline from 'aws-cdk-lib/aws-codepipeline';
import * as actions from 'aws-cdk-lib/aws-codepipeline-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { ImageSpec, TRAINING_BUILD_VARIABLES, trainingBuildSpec } from './private/training-image-buildspec';
import { DEFAULT_BASE_IMAGE, grantImagePush, imageBuildProject, sourcePath, validateBaseImage } from '../private/image-build-project';
import { blockingSeverities } from '../private/image-buildspec';
import { IModelImageRepository } from '../registry/model-image-repository';
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
    validateBaseImage(this, 'TrainingImageBuild', baseImage);
    const path = (prop: string, value: string) => sourcePath(this, 'TrainingImageBuild', prop, value, 'training/Dockerfile');
    const trainingDirectory = path('trainingDirectory', props.trainingDirectory ?? 'training');
    const training: ImageSpec = {
      context: trainingDirectory,
      dockerfile: path('dockerfile', props.dockerfile ?? `${trainingDirectory}/Dockerfile`),
    };
    let evaluation: ImageSpec | undefined;
    if (props.evaluationDirectory !== undefined || props.evaluationDockerfile !== undefined) {
      const context = path('evaluationDirectory', props.evaluationDirectory ?? trainingDirectory);
      const dockerfile = path('evaluationDockerfile', props.evaluationDockerfile ?? `${context}/Dockerfile`);
      // The same context and Dockerfile build the same image: no second build.
      if (context !== training.context || dockerfile !== training.dockerfile) evaluation = { context, dockerfile };
    }
    this.trainingDirectory = training.context;
    this.trainingDockerfile = training.dockerfile;
    this.evaluationDirectory = evaluation?.context;
    this.evaluationDockerfile = evaluation?.dockerfile;

    this.repository = props.repository;
    const build = imageBuildProject(this, {
      constructName: 'TrainingImageBuild',
      description: 'cdk-mlops: builds the training image from the commit, or reuses the one of the same content',
      what: 'the training image build',
      buildSpec: trainingBuildSpec({
        baseImage,
        training,
        evaluation,
        blockingSeverities: blockingSeverities(props.failOnSeverity ?? ScanSeverity.HIGH),
      }),
      repository: this.repository,
      computeType: props.computeType,
      timeout: props.timeout ?? Duration.minutes(60),
      dockerUse: 'docker build',
      repositoryVariables: { uri: TRAINING_BUILD_VARIABLES.REPOSITORY_URI, name: TRAINING_BUILD_VARIABLES.REPOSITORY_NAME },
    });
    this.project = build.project;
    this.role = build.role;
    this.grantPrincipal = build.project.grantPrincipal;
    this.encryptionKey = build.encryptionKey;
    this.logGroup = build.logGroup;
    build.acknowledgePolicy();
  }

  /**
   * Permits the grantee what this build does with the repository: push (pull included), and read the image details
   * and scan findings (the tag check, the digest, the scan gate). The project has it already.
   */
  public grantRepository(grantee: iam.IGrantable): iam.Grant {
    return grantImagePush(this.repository, grantee);
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
}
