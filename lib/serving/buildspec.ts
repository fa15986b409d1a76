/**
 * The buildspec of the serving image build, generated as a plain object (no CDK types): given the same options it
 * always returns the same buildspec, so it can be read, tested and reviewed on its own.
 *
 * Every multi-line command starts with `set -euo pipefail`: a failing step fails the command, and with it the phase.
 * Each phase has `on-failure: ABORT`, so a failed contract test (build phase) never reaches the push or the scan gate.
 */

import { ImageVariables, lookUpTag, pushAndReadDigest, REGISTRY_FROM_REPOSITORY_URI, scanGate, script } from '../private/image-buildspec';

/** The environment variables the build reads (set per run by the pipeline) and exports (read by the pipeline). */
export const BUILD_VARIABLES = {
  /** Input: the ARN of a registered model package; its ModelDataUrl and version are read from SageMaker. */
  MODEL_PACKAGE_ARN: 'MODEL_PACKAGE_ARN',
  /**
   * Input, when MODEL_PACKAGE_ARN is not set: the ARN of a TrainingWorkflow execution; the model package it
   * registered (or reused) is read from its output (`.registration.modelPackageArn`).
   */
  TRAINING_EXECUTION_ARN: 'TRAINING_EXECUTION_ARN',
  /** Output: the data version the model was trained on (lineage metadata of the package; "unknown" without one). */
  DATA_VERSION_ID: 'DATA_VERSION_ID',
  /** Input (with MODEL_VERSION, when there is no model package): the S3 URL of `model.tar.gz`. */
  MODEL_DATA_URL: 'MODEL_DATA_URL',
  /** Input (with MODEL_DATA_URL) and output: the model version, the first part of the image tag. */
  MODEL_VERSION: 'MODEL_VERSION',
  /** Output: `repositoryUri@sha256:...`. */
  IMAGE_URI: 'IMAGE_URI',
  /**
   * Input: the commit (or, for an S3 source, the object version) the image is built from. The pipeline passes
   * `#{Source.CommitId}`: CodeBuild documents `CODEBUILD_RESOLVED_SOURCE_VERSION` as not always available under
   * CodePipeline, so that is only the fallback.
   */
  COMMIT_ID: 'COMMIT_ID',
  /** Output: `<model version>-<first 12 characters of the commit>`. */
  IMAGE_TAG: 'IMAGE_TAG',
  /** Output: `sha256:...`. */
  IMAGE_DIGEST: 'IMAGE_DIGEST',
  /** Set by the construct on the project: the repository's URI, `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`. */
  REPOSITORY_URI: 'REPOSITORY_URI',
  /** Set by the construct on the project: the repository's name. */
  REPOSITORY_NAME: 'REPOSITORY_NAME',
} as const;

/** The file the build writes as its output artifact. */
export const IMAGE_DETAIL_FILE = 'imageDetail.json';

/** The name of the container the contract test runs. */
export const CONTRACT_TEST_CONTAINER = 'mlops-contract-test';

/** What varies between serving image builds. */
export interface ServingBuildSpecOptions {
  /** The `BASE_IMAGE` build argument. */
  readonly baseImage: string;
  /** The Dockerfile, relative to the source root (the build context). */
  readonly dockerfile: string;
  /** The directory of golden requests, relative to the source root, without a trailing `/`. */
  readonly goldenDirectory: string;
  /** How long the container may take to answer `GET /ping` with 200. */
  readonly startupTimeoutSeconds: number;
  /** The scan severities that fail the build; empty for no scan gate. */
  readonly blockingSeverities: string[];
}

/** The serving image's shell variables. */
const IMAGE: ImageVariables = { tag: 'IMAGE_TAG', digest: 'IMAGE_DIGEST', exists: 'IMAGE_EXISTS', what: 'image' };

const TAG_PATTERN = '^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$';

/** A scratch directory outside the build context, for this build only. */
const SCRATCH = script('BUILD_TMP="$(mktemp -d)"', 'export BUILD_TMP');

/** The model package (or MODEL_DATA_URL + MODEL_VERSION) to bake in. */
const RESOLVE_MODEL = script(
  'if [ -z "${MODEL_PACKAGE_ARN:-}" ] && [ -n "${TRAINING_EXECUTION_ARN:-}" ]; then',
  '  echo "Reading the model package registered by $TRAINING_EXECUTION_ARN"',
  '  MODEL_PACKAGE_ARN="$(aws stepfunctions describe-execution --execution-arn "$TRAINING_EXECUTION_ARN" --query output --output text' +
    ' | jq -r \'.registration.modelPackageArn // empty\')"',
  '  if [ -z "$MODEL_PACKAGE_ARN" ]; then echo "ERROR: $TRAINING_EXECUTION_ARN registered no model package."; exit 1; fi',
  'fi',
  'if [ -n "${MODEL_PACKAGE_ARN:-}" ]; then',
  '  echo "Resolving the model package $MODEL_PACKAGE_ARN"',
  '  aws sagemaker describe-model-package --model-package-name "$MODEL_PACKAGE_ARN" --output json > "$BUILD_TMP"/model-package.json',
  '  MODEL_DATA_URL="$(jq -r \'.InferenceSpecification.Containers[0].ModelDataUrl // empty\' "$BUILD_TMP"/model-package.json)"',
  '  MODEL_VERSION="$(jq -r \'.ModelPackageVersion // empty\' "$BUILD_TMP"/model-package.json)"',
  '  DATA_VERSION_ID="$(jq -r \'.CustomerMetadataProperties["mlops:data-version"] // "unknown"\' "$BUILD_TMP"/model-package.json)"',
  'elif [ -z "${MODEL_DATA_URL:-}" ] || [ -z "${MODEL_VERSION:-}" ]; then',
  '  echo "ERROR: no model to package. Set MODEL_PACKAGE_ARN (a registered model package), or both MODEL_DATA_URL' +
    ' (s3://.../model.tar.gz) and MODEL_VERSION, as environment variables of the build."',
  '  exit 1',
  'fi',
  'case "$MODEL_DATA_URL" in',
  '  s3://*) ;;',
  '  *) echo "ERROR: the model data URL must be the s3:// URL of model.tar.gz, got \'$MODEL_DATA_URL\'."; exit 1 ;;',
  'esac',
  'if ! [[ "$MODEL_VERSION" =~ ^[A-Za-z0-9_][A-Za-z0-9_.-]{0,114}$ ]]; then',
  '  echo "ERROR: the model version \'$MODEL_VERSION\' cannot start an image tag: use up to 115 letters, digits, _ . -."',
  '  exit 1',
  'fi',
  'DATA_VERSION_ID="${DATA_VERSION_ID:-unknown}"',
  'MODEL_PACKAGE_ARN="${MODEL_PACKAGE_ARN:-none}"',
  'export MODEL_DATA_URL MODEL_VERSION DATA_VERSION_ID MODEL_PACKAGE_ARN',
  'echo "Model version $MODEL_VERSION from $MODEL_DATA_URL"',
);

/**
 * The image tag, from the content: model version and commit. Never `latest`, never mutable. Characters a tag may not
 * hold (an S3 version id has `+` and `/`) become `_`.
 */
const IMAGE_TAG = script(
  'COMMIT="${COMMIT_ID:-${CODEBUILD_RESOLVED_SOURCE_VERSION:-}}"',
  'if [ -z "$COMMIT" ]; then',
  '  echo "ERROR: no commit to tag the image with: COMMIT_ID is not set (a pipeline action passes it, e.g. #{Source.CommitId})' +
    ' and CodeBuild left CODEBUILD_RESOLVED_SOURCE_VERSION empty."',
  '  exit 1',
  'fi',
  'IMAGE_TAG="${MODEL_VERSION}-$(printf \'%s\' "${COMMIT:0:12}" | tr -c \'A-Za-z0-9_.-\' \'_\')"',
  `if ! [[ "$IMAGE_TAG" =~ ${TAG_PATTERN} ]]; then`,
  '  echo "ERROR: \'$IMAGE_TAG\' is not a valid image tag (the source version is \'$COMMIT\')."',
  '  exit 1',
  'fi',
  'export COMMIT IMAGE_TAG',
  'echo "Image tag $IMAGE_TAG (source version $COMMIT)"',
);

/** A retried build finds the tag pushed: it reuses the image, since the repository's tags are immutable. */
const REUSE_EXISTING = script(
  ...REGISTRY_FROM_REPOSITORY_URI,
  ...lookUpTag(IMAGE, 'describe-images.err', 'reusing it, skipping the build, test and push.'),
);

const LOGIN = script('aws ecr get-login-password --region "$ECR_REGION" | docker login --username AWS --password-stdin "$REGISTRY"');

/** The model goes into the build context, unpacked as SageMaker would unpack it into /opt/ml/model. */
const DOWNLOAD_MODEL = script(
  'if [ "$IMAGE_EXISTS" = true ]; then',
  '  echo "Image exists: no model download."',
  'else',
  '  if [ -e model ]; then',
  '    echo "ERROR: the source already has a model/ path: the build puts the model there. Rename it in the serving code."',
  '    exit 1',
  '  fi',
  '  mkdir model',
  '  aws s3 cp --no-progress "$MODEL_DATA_URL" "$BUILD_TMP"/model.tar.gz',
  '  tar -xzf "$BUILD_TMP"/model.tar.gz -C model --no-same-owner',
  '  rm -f "$BUILD_TMP"/model.tar.gz',
  '  echo "Model unpacked into model/:"',
  '  ls -la model',
  'fi',
);

const DOCKER_BUILD = script(
  'if [ "$IMAGE_EXISTS" = true ]; then',
  '  echo "Image exists: no build."',
  'else',
  '  if [ ! -f "$DOCKERFILE" ]; then',
  '    echo "ERROR: no Dockerfile at \'$DOCKERFILE\' in the source."',
  '    exit 1',
  '  fi',
  '  docker build --file "$DOCKERFILE" \\',
  '    --build-arg BASE_IMAGE="$BASE_IMAGE" \\',
  '    --build-arg MODEL_VERSION="$MODEL_VERSION" \\',
  '    --label org.opencontainers.image.revision="$COMMIT" \\',
  '    --label cdk-mlops.model-version="$MODEL_VERSION" \\',
  '    --label cdk-mlops.model-data-url="$MODEL_DATA_URL" \\',
  '    --tag "$REPOSITORY_URI:$IMAGE_TAG" .',
  'fi',
);

/**
 * The SageMaker serving contract, before anything is pushed: `serve` starts the server on port 8080, `GET /ping`
 * answers 200, and every golden request gets 200 and JSON from `POST /invocations` (and the expected body, when a
 * `<name>.expected.json` is given: it is optional).
 */
const CONTRACT_TEST = script(
  'if [ "$IMAGE_EXISTS" = true ]; then',
  '  echo "Image exists: it passed the contract test before it was pushed."',
  'else',
  `  docker rm -f ${CONTRACT_TEST_CONTAINER} >/dev/null 2>&1 || true`,
  '  fail() {',
  '    echo "CONTRACT TEST FAILED: $1"',
  `    echo "--- container logs ---"; docker logs ${CONTRACT_TEST_CONTAINER} 2>&1 || true`,
  `    docker rm -f ${CONTRACT_TEST_CONTAINER} >/dev/null 2>&1 || true`,
  '    exit 1',
  '  }',
  `  docker run -d --name ${CONTRACT_TEST_CONTAINER} -p 8080:8080 "$REPOSITORY_URI:$IMAGE_TAG" serve`,
  '  deadline=$((SECONDS + STARTUP_TIMEOUT_SECONDS))',
  '  until [ "$(curl -s -o /dev/null -w \'%{http_code}\' --max-time 5 http://localhost:8080/ping || true)" = 200 ]; do',
  `    if [ "$(docker inspect -f '{{.State.Running}}' ${CONTRACT_TEST_CONTAINER})" != true ]; then fail "the container exited"; fi`,
  '    if [ "$SECONDS" -ge "$deadline" ]; then fail "GET /ping did not answer 200 within ${STARTUP_TIMEOUT_SECONDS}s"; fi',
  '    sleep 2',
  '  done',
  '  echo "GET /ping: 200"',
  '  shopt -s nullglob',
  '  requests=0',
  '  for request in "$GOLDEN_DIRECTORY"/*.json; do',
  '    case "$request" in *.expected.json) continue ;; esac',
  '    requests=$((requests + 1))',
  '    status="$(curl -s -o "$BUILD_TMP"/response.json -w \'%{http_code}\' --max-time 60 -X POST \\',
  '      -H \'Content-Type: application/json\' --data-binary "@$request" http://localhost:8080/invocations || true)"',
  '    if [ "$status" != 200 ]; then fail "POST /invocations with $request answered HTTP $status"; fi',
  '    jq -S . "$BUILD_TMP"/response.json > "$BUILD_TMP"/actual.json || fail "the response to $request is not JSON"',
  '    expected="${request%.json}.expected.json"',
  '    result="200, JSON (no ${expected##*/} to compare with)"',
  '    if [ -f "$expected" ]; then',
  '      jq -S . "$expected" > "$BUILD_TMP"/expected.json || fail "$expected is not JSON"',
  '      diff -u "$BUILD_TMP"/expected.json "$BUILD_TMP"/actual.json || fail "the response to $request differs from $expected"',
  '      result="200, equal to $expected"',
  '    fi',
  '    echo "POST /invocations with $request: $result"',
  '  done',
  '  if [ "$requests" -eq 0 ]; then',
  '    fail "no golden request in $GOLDEN_DIRECTORY/: add at least one <name>.json request body (and, to compare the response, <name>.expected.json)"',
  '  fi',
  `  docker rm -f ${CONTRACT_TEST_CONTAINER} >/dev/null`,
  '  echo "Contract test passed: $requests golden request(s)."',
  'fi',
);

/** A concurrent build of the same model and commit may push the tag first: then its image is used. */
const PUSH = script(...pushAndReadDigest(IMAGE));

const OUTPUTS = script(
  'IMAGE_URI="$REPOSITORY_URI@$IMAGE_DIGEST"',
  'export IMAGE_URI',
  'jq -n --arg uri "$IMAGE_URI" --arg tag "$IMAGE_TAG" --arg digest "$IMAGE_DIGEST" --arg version "$MODEL_VERSION" \\',
  '  --arg data "$MODEL_DATA_URL" --arg package "${MODEL_PACKAGE_ARN:-}" --arg commit "$COMMIT" \\',
  '  \'{ImageURI: $uri, ImageTag: $tag, ImageDigest: $digest, ModelVersion: $version, ModelDataUrl: $data,' +
    ' ModelPackageArn: $package, SourceVersion: $commit}\' \\',
  `  > ${IMAGE_DETAIL_FILE}`,
  `cat ${IMAGE_DETAIL_FILE}`,
);

/** The buildspec (version 0.2) of a serving image build. */
export function servingBuildSpec(options: ServingBuildSpecOptions): Record<string, unknown> {
  const postBuild = options.blockingSeverities.length > 0 ? [scanGate(IMAGE, options.blockingSeverities), OUTPUTS] : [OUTPUTS];
  return {
    version: '0.2',
    env: {
      'shell': 'bash',
      'variables': {
        BASE_IMAGE: options.baseImage,
        DOCKERFILE: options.dockerfile,
        GOLDEN_DIRECTORY: options.goldenDirectory,
        STARTUP_TIMEOUT_SECONDS: String(options.startupTimeoutSeconds),
      },
      'exported-variables': [
        BUILD_VARIABLES.IMAGE_URI,
        BUILD_VARIABLES.IMAGE_TAG,
        BUILD_VARIABLES.IMAGE_DIGEST,
        BUILD_VARIABLES.MODEL_VERSION,
        BUILD_VARIABLES.MODEL_PACKAGE_ARN,
        BUILD_VARIABLES.DATA_VERSION_ID,
      ],
    },
    phases: {
      pre_build: {
        'on-failure': 'ABORT',
        'commands': [SCRATCH, RESOLVE_MODEL, IMAGE_TAG, REUSE_EXISTING, LOGIN, DOWNLOAD_MODEL],
      },
      build: {
        'on-failure': 'ABORT',
        'commands': [DOCKER_BUILD, CONTRACT_TEST, PUSH],
        'finally': [`docker rm -f ${CONTRACT_TEST_CONTAINER} >/dev/null 2>&1 || true`],
      },
      post_build: {
        'on-failure': 'ABORT',
        'commands': postBuild,
      },
    },
    artifacts: {
      files: [IMAGE_DETAIL_FILE],
    },
  };
}
