/**
 * The buildspec commands every image build of the library shares (training images, serving images), as plain strings:
 * strict bash, ECR calls against the repository's own registry and region, the tag lookup, the push that tolerates a
 * concurrent build of the same tag, and the gate on the ECR scan on push.
 */

/** ECR's finding severities, most severe first (DescribeImageScanFindings, findingSeverityCounts). */
export const SEVERITY_ORDER = ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'INFORMATIONAL'];

/** The severities that fail a build whose threshold is `threshold`: it and every more severe one; none for 'NONE'. */
export function blockingSeverities(threshold: string): string[] {
  const index = SEVERITY_ORDER.indexOf(threshold);
  return index < 0 ? [] : SEVERITY_ORDER.slice(0, index + 1);
}

const STRICT = 'set -euo pipefail';

/** One buildspec command: a bash script that stops at the first failing line. */
export function script(...lines: string[]): string {
  return [STRICT, ...lines].join('\n');
}

/** An ECR call with the repository's registry and region: the repository may be in another account or region. */
export function ecr(operation: string): string {
  return `aws ecr ${operation} --registry-id "$REGISTRY_ID" --region "$ECR_REGION"`;
}

/** Sets REGISTRY, REGISTRY_ID and ECR_REGION from REPOSITORY_URI (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`). */
export const REGISTRY_FROM_REPOSITORY_URI = [
  'REGISTRY="${REPOSITORY_URI%%/*}"',
  'REGISTRY_ID="${REGISTRY%%.*}"',
  'ECR_REGION="$(echo "$REGISTRY" | cut -d. -f4)"',
  'export REGISTRY REGISTRY_ID ECR_REGION',
];

/** The shell variables of one image in a build. */
export interface ImageVariables {
  /** Holds the tag to push. */
  readonly tag: string;
  /** Receives the digest (`sha256:...`), empty while the image does not exist. */
  readonly digest: string;
  /** `true` when the tag exists already (the image is reused), `false` otherwise. */
  readonly exists: string;
  /** What the messages call the image ("training image", "image"). */
  readonly what: string;
}

/**
 * Whether ECR has the tag already: sets `exists` and `digest`. Only ImageNotFoundException means "not there"; any
 * other error (access denied, throttled after the CLI's own retries) fails the build.
 */
export function lookUpTag(image: ImageVariables, errorFile: string, reusedMessage: string): string[] {
  return [
    `if ${image.digest}="$(${ecr('describe-images')} --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$${image.tag}" \\`,
    `    --query 'imageDetails[0].imageDigest' --output text 2>"$BUILD_TMP"/${errorFile})"; then`,
    `  ${image.exists}=true`,
    `  echo "$REPOSITORY_URI:$${image.tag} exists ($${image.digest}): ${reusedMessage}"`,
    `elif grep -q ImageNotFoundException "$BUILD_TMP"/${errorFile}; then`,
    `  ${image.exists}=false`,
    `  ${image.digest}=""`,
    'else',
    `  cat "$BUILD_TMP"/${errorFile}`,
    '  exit 1',
    'fi',
    `export ${image.exists} ${image.digest}`,
  ];
}

/**
 * Pushes the built image unless it exists, then reads its digest from ECR. A concurrent build of the same tag may push
 * first (tags are immutable, so the push fails): its image is then the one used.
 */
export function pushAndReadDigest(image: ImageVariables): string[] {
  const tag = `"$REPOSITORY_URI:$${image.tag}"`;
  return [
    `if [ "$${image.exists}" != true ]; then`,
    `  if ! docker push ${tag}; then`,
    `    echo "docker push failed: checking whether another build pushed $${image.tag} meanwhile."`,
    '  fi',
    `  ${image.digest}="$(${ecr('describe-images')} --repository-name "$REPOSITORY_NAME" --image-ids imageTag="$${image.tag}" \\`,
    '    --query \'imageDetails[0].imageDigest\' --output text)"',
    `  export ${image.digest}`,
    'fi',
    `if ! [[ "$${image.digest}" =~ ^sha256:[a-f0-9]{64}$ ]]; then`,
    `  echo "ERROR: no digest for $REPOSITORY_URI:$${image.tag} (got '$${image.digest}')."`,
    '  exit 1',
    'fi',
    `echo "The ${image.what} is $REPOSITORY_URI@$${image.digest}"`,
  ];
}

/**
 * Waits for the scan on push and fails on findings at or above the threshold (a reused image is gated too). Basic
 * scanning ends COMPLETE (what `aws ecr wait image-scan-complete` waits for); enhanced scanning (Amazon Inspector)
 * reports ACTIVE once its findings are available.
 */
export function scanGate(image: ImageVariables, blocking: string[]): string {
  const threshold = blocking[blocking.length - 1];
  const digest = `imageDigest="$${image.digest}"`;
  return script(
    'scanned=false',
    'for attempt in 1 2 3; do',
    `  if ${ecr('wait image-scan-complete')} --repository-name "$REPOSITORY_NAME" --image-id ${digest}; then`,
    '    scanned=true; break',
    '  fi',
    `  status="$(${ecr('describe-image-scan-findings')} --repository-name "$REPOSITORY_NAME" --image-id ${digest} \\`,
    '    --query imageScanStatus.status --output text 2>/dev/null || echo UNKNOWN)"',
    '  if [ "$status" = ACTIVE ]; then scanned=true; break; fi',
    '  if [ "$status" = FAILED ]; then break; fi',
    '  sleep 15',
    'done',
    'if [ "$scanned" != true ]; then',
    `  echo "ERROR: the ECR scan of the ${image.what} $${image.digest} did not complete (status \${status:-unknown}): it cannot be gated."`,
    '  exit 1',
    'fi',
    `counts="$(${ecr('describe-image-scan-findings')} --repository-name "$REPOSITORY_NAME" --image-id ${digest} \\`,
    '  --query imageScanFindings.findingSeverityCounts --output json)"',
    `echo "Scan findings of the ${image.what} by severity: $counts"`,
    'blocking=0',
    `for level in ${blocking.join(' ')}; do`,
    '  count="$(echo "$counts" | jq -r --arg level "$level" \'.[$level] // 0\')"',
    '  blocking=$((blocking + count))',
    'done',
    'if [ "$blocking" -gt 0 ]; then',
    `  echo "ERROR: the ${image.what} has $blocking scan finding(s) at or above ${threshold}: see the ECR console for $${image.digest}."`,
    '  exit 1',
    'fi',
    `echo "Scan gate passed for the ${image.what}: no finding at or above ${threshold}."`,
  );
}
