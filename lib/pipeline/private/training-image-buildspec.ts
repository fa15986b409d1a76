/**
 * The buildspec of the training image build, generated as a plain object (no CDK types): the same options always give
 * the same buildspec, so it can be read, tested and run on its own.
 *
 * Every multi-line command starts with `set -euo pipefail`, and every phase has `on-failure: ABORT`: a failing build
 * never reaches the push, and a failing push never reaches the scan gate or the exported variables.
 *
 * The tag is the content of what goes into the image, so an unchanged training tree reuses its image (no build):
 *
 *   tag    = "<prefix>-" + the SHA-256 (hex) of the manifest
 *   prefix = "train" (training image) or "eval" (a separate evaluation image)
 *   manifest, line by line:
 *     "cdk-mlops-image-content v1"
 *     "base-image <the BASE_IMAGE build argument>"
 *     "context <the build context directory>"
 *     "dockerfile <the Dockerfile path>"
 *     then one `sha256sum` line ("<SHA-256 of the content>  <path>") per file: every regular file under the context
 *     directory (`.git` directories left out) and the Dockerfile, paths relative to the source root without a leading
 *     "./", each once, sorted bytewise (LC_ALL=C).
 *
 * So a change to a file's content, a file added, removed or renamed in the context, another Dockerfile or another
 * base image gives another tag; a change outside the context (serving code, tests) does not. File modes and symlinks
 * are not part of it (only regular files' content and paths).
 */

import { ImageVariables, lookUpTag, pushAndReadDigest, REGISTRY_FROM_REPOSITORY_URI, scanGate, script } from '../../private/image-buildspec';

/** The variables the build exports (CodePipeline reads them as `#{<namespace>.<NAME>}`). */
export const TRAINING_BUILD_VARIABLES = {
  /** The training image by digest, `repositoryUri@sha256:...`. */
  TRAINING_IMAGE_URI: 'TRAINING_IMAGE_URI',
  /** `train-<content hash>`. */
  TRAINING_IMAGE_TAG: 'TRAINING_IMAGE_TAG',
  /** `true` when the tag existed and no image was built. */
  TRAINING_IMAGE_REUSED: 'TRAINING_IMAGE_REUSED',
  /** The evaluation image by digest: the training image's unless a separate evaluation image is built. */
  EVALUATION_IMAGE_URI: 'EVALUATION_IMAGE_URI',
  /** `eval-<content hash>`, or the training tag when there is no separate evaluation image. */
  EVALUATION_IMAGE_TAG: 'EVALUATION_IMAGE_TAG',
  /** Set by the construct on the project: the repository's URI, `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`. */
  REPOSITORY_URI: 'REPOSITORY_URI',
  /** Set by the construct on the project: the repository's name. */
  REPOSITORY_NAME: 'REPOSITORY_NAME',
  /** Set by the pipeline action (optional): the commit, recorded as a label of an image it builds. */
  SOURCE_VERSION: 'SOURCE_VERSION',
} as const;

/** The first line of the content manifest: a new way of hashing gets a new version, and with it new tags. */
export const CONTENT_HASH_SCHEME = 'cdk-mlops-image-content v1';

/** One image the build makes (or reuses). */
export interface ImageSpec {
  /** The build context, relative to the source root, without a trailing `/`. */
  readonly context: string;
  /** The Dockerfile, relative to the source root. */
  readonly dockerfile: string;
}

/** What varies between training image builds. */
export interface TrainingBuildSpecOptions {
  /** The `BASE_IMAGE` build argument. */
  readonly baseImage: string;
  readonly training: ImageSpec;
  /** A separate evaluation image; none when evaluation runs the training image. */
  readonly evaluation?: ImageSpec;
  /** The scan severities that fail the build; empty for no scan gate. */
  readonly blockingSeverities: string[];
}

/** The variable names of one image: TRAINING_* or EVALUATION_*. */
interface Names extends ImageVariables {
  readonly prefix: 'TRAINING' | 'EVALUATION';
  readonly tagPrefix: 'train' | 'eval';
}

function names(prefix: Names['prefix'], tagPrefix: Names['tagPrefix'], what: string): Names {
  return { prefix, tagPrefix, what, tag: `${prefix}_IMAGE_TAG`, digest: `${prefix}_DIGEST`, exists: `${prefix}_IMAGE_REUSED` };
}

const TRAINING = names('TRAINING', 'train', 'training image');
const EVALUATION = names('EVALUATION', 'eval', 'evaluation image');

const SETUP = script('BUILD_TMP="$(mktemp -d)"', 'export BUILD_TMP', ...REGISTRY_FROM_REPOSITORY_URI);

/** The content tag (see the file comment), then whether ECR has it already. */
function resolveTag(n: Names): string {
  const context = `"$${n.prefix}_CONTEXT"`;
  const dockerfile = `"$${n.prefix}_DOCKERFILE"`;
  return script(
    `if [ ! -d ${context} ]; then echo "ERROR: no directory '$${n.prefix}_CONTEXT' in the source for the ${n.what}."; exit 1; fi`,
    `if [ ! -f ${dockerfile} ]; then echo "ERROR: no Dockerfile at '$${n.prefix}_DOCKERFILE' in the source for the ${n.what}."; exit 1; fi`,
    '{',
    `  echo "${CONTENT_HASH_SCHEME}"`,
    '  echo "base-image $BASE_IMAGE"',
    `  echo "context $${n.prefix}_CONTEXT"`,
    `  echo "dockerfile $${n.prefix}_DOCKERFILE"`,
    `  { find ${context} -type d -name .git -prune -o -type f -print0; printf '%s\\0' ${dockerfile}; } \\`,
    '    | sed -z \'s#^\\./##\' | LC_ALL=C sort -z -u | xargs -0 sha256sum --',
    `} > "$BUILD_TMP"/${n.tagPrefix}-manifest.txt`,
    `${n.prefix}_IMAGE_TAG="${n.tagPrefix}-$(sha256sum "$BUILD_TMP"/${n.tagPrefix}-manifest.txt | cut -c1-64)"`,
    `echo "The ${n.what} is tagged $${n.prefix}_IMAGE_TAG, the hash of:"`,
    `cat "$BUILD_TMP"/${n.tagPrefix}-manifest.txt`,
    ...lookUpTag(n, `${n.tagPrefix}-describe.err`, `the ${n.what} is reused, not built.`),
    `export ${n.prefix}_IMAGE_TAG`,
  );
}

/** `docker login` only when something is built: a reused image needs no Docker at all. */
function login(images: Names[]): string {
  const needed = images.map((n) => `[ "$${n.prefix}_IMAGE_REUSED" != true ]`).join(' || ');
  return script(
    `if ${needed}; then`,
    '  aws ecr get-login-password --region "$ECR_REGION" | docker login --username AWS --password-stdin "$REGISTRY"',
    'fi',
  );
}

/** Build and push; a concurrent build of the same content may push the tag first: then its image is used. */
function buildAndPush(n: Names): string {
  const tag = `"$REPOSITORY_URI:$${n.prefix}_IMAGE_TAG"`;
  return script(
    `if [ "$${n.prefix}_IMAGE_REUSED" != true ]; then`,
    `  docker build --file "$${n.prefix}_DOCKERFILE" \\`,
    '    --build-arg BASE_IMAGE="$BASE_IMAGE" \\',
    '    --label org.opencontainers.image.revision="${SOURCE_VERSION:-unknown}" \\',
    `    --label cdk-mlops.content-tag="$${n.prefix}_IMAGE_TAG" \\`,
    `    --tag ${tag} "$${n.prefix}_CONTEXT"`,
    'fi',
    ...pushAndReadDigest(n),
  );
}

function outputs(separateEvaluation: boolean): string {
  return script(
    'TRAINING_IMAGE_URI="$REPOSITORY_URI@$TRAINING_DIGEST"',
    separateEvaluation ? 'EVALUATION_IMAGE_URI="$REPOSITORY_URI@$EVALUATION_DIGEST"' : 'EVALUATION_IMAGE_URI="$TRAINING_IMAGE_URI"',
    ...(separateEvaluation ? [] : ['EVALUATION_IMAGE_TAG="$TRAINING_IMAGE_TAG"']),
    'export TRAINING_IMAGE_URI EVALUATION_IMAGE_URI EVALUATION_IMAGE_TAG',
    'echo "TRAINING_IMAGE_URI=$TRAINING_IMAGE_URI"',
    'echo "EVALUATION_IMAGE_URI=$EVALUATION_IMAGE_URI"',
  );
}

/** The buildspec (version 0.2) of a training image build. */
export function trainingBuildSpec(options: TrainingBuildSpecOptions): Record<string, unknown> {
  const images: Names[] = options.evaluation ? [TRAINING, EVALUATION] : [TRAINING];
  const gate = options.blockingSeverities.length > 0 ? images.map((n) => scanGate(n, options.blockingSeverities)) : [];
  const variables: Record<string, string> = {
    BASE_IMAGE: options.baseImage,
    TRAINING_CONTEXT: options.training.context,
    TRAINING_DOCKERFILE: options.training.dockerfile,
  };
  if (options.evaluation) {
    variables.EVALUATION_CONTEXT = options.evaluation.context;
    variables.EVALUATION_DOCKERFILE = options.evaluation.dockerfile;
  }
  return {
    version: '0.2',
    env: {
      'shell': 'bash',
      variables,
      'exported-variables': [
        TRAINING_BUILD_VARIABLES.TRAINING_IMAGE_URI,
        TRAINING_BUILD_VARIABLES.TRAINING_IMAGE_TAG,
        TRAINING_BUILD_VARIABLES.TRAINING_IMAGE_REUSED,
        TRAINING_BUILD_VARIABLES.EVALUATION_IMAGE_URI,
        TRAINING_BUILD_VARIABLES.EVALUATION_IMAGE_TAG,
      ],
    },
    phases: {
      pre_build: {
        'on-failure': 'ABORT',
        'commands': [SETUP, ...images.map(resolveTag), login(images)],
      },
      build: {
        'on-failure': 'ABORT',
        'commands': images.map(buildAndPush),
      },
      post_build: {
        'on-failure': 'ABORT',
        'commands': [...gate, outputs(options.evaluation !== undefined)],
      },
    },
  };
}
