/**
 * The starter repository (starter/), run for real: its training, evaluation and serving code as python3 processes
 * against the container contract, with local directories standing in for the S3 buckets, and its results judged by
 * this library's own aggregation, quality gate, serving image contract test and endpoint test.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { GetObjectCommand, NoSuchKey, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { InvokeEndpointCommand, ModelError, SageMakerRuntimeClient } from '@aws-sdk/client-sagemaker-runtime';
import { BATCH_JOB_ENVIRONMENT, MODEL_ERROR, NO_SUCH_KEY, SAGEMAKER_SERVING_CONTAINER } from './aws-behaviour';
import { aggregateMetrics, AggregateMetricsResult } from '../../lambda/aggregate-metrics.lambda';
import { runEndpointTest } from '../../lambda/endpoint-test.lambda';
import { EndpointTestError, EndpointTestSample, JsonSchema } from '../../lambda/shared/endpoint-test';
import { evaluateGate, parseGateRules } from '../../lambda/shared/quality-gate';
import { ContainerContract } from '../../lib/compute/container-contract';
import { CONTRACT_TEST_CONTAINER, servingBuildSpec } from '../../lib/serving/buildspec';

const STARTER = path.resolve(__dirname, '..', '..', 'starter');
const TRAINING_DIR = path.join(STARTER, 'training');

// The starter needs python3 and nothing else (its code uses the standard library only); the contract test curls.
// .ci/run installs both: a machine without them fails here, it does not skip.
for (const [tool, why] of [['python3', 'runs the starter'], ['curl', 'runs the serving buildspec\'s contract test with the real curl']]) {
  if (spawnSync(tool, ['--version']).status !== 0) {
    throw new Error(`The starter test ${why}: install ${tool} (apt-get install ${tool}), as .ci/run does.`);
  }
}

/** Jest's per-test limit; each process also has its own, shorter one. */
const TEST_TIMEOUT_MS = 120_000;
const PROCESS_TIMEOUT_MS = 60_000;

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'starter-'));
/** s3://<bucket>/<key> is <s3Root>/<bucket>/<key>. */
const s3Root = path.join(root, 's3');
const local = (bucket: string, key: string) => path.join(s3Root, bucket, key) + (key.endsWith('/') ? '/' : '');
const s3 = (bucket: string, key: string) => `s3://${bucket}/${key}`;

const CANDIDATE = 'logreg';
const EXECUTION = 'exec-1';
const DATA_PREFIX = 'datasets/credit/';
const TRAINING_PREFIX = `runs/${EXECUTION}/${CANDIDATE}/`;
const EVALUATION_PREFIX = `evaluations/${EXECUTION}/${CANDIDATE}/`;
const SHARDS = 2;
// Enough epochs (a few seconds) for the test to kill the job between its first checkpoint and its end.
const HYPERPARAMETERS = { epochs: '400' };
const CODE_VERSION = 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678';
const DATA_VERSION = 'd'.repeat(64);
/** The data version's manifest, as DataVersionSnapshot writes it (one JSON line per object: key, versionId, etag, size). */
const MANIFEST_KEY = `data-versions/${DATA_VERSION}.jsonl`;

/**
 * A job's environment with its S3 URIs pointed at the local directories that stand in for the buckets: the
 * contract builds real `s3://` URIs (it refuses anything else), the starter reads local paths as well.
 */
function onLocalDisk(environment: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(environment).map(([name, value]) => {
    const uri = /^s3:\/\/([^/]+)\/(.*)$/.exec(value);
    return [name, uri ? local(uri[1], uri[2]) : value];
  }));
}

/** The environment of a training job, as the TrainingWorkflow passes it, plus what Batch sets. */
function trainingEnvironment(execution: string, attempt: number): Record<string, string> {
  const prefix = `runs/${execution}/${CANDIDATE}/`;
  return {
    ...onLocalDisk(ContainerContract.trainingEnvironment({
      dataUri: s3('data', DATA_PREFIX),
      dataVersion: DATA_VERSION,
      dataManifestUri: s3('data', MANIFEST_KEY),
      outputUri: s3('models', prefix),
      checkpointUri: s3('checkpoints', prefix),
      candidate: CANDIDATE,
      hyperparameters: HYPERPARAMETERS,
      codeVersion: CODE_VERSION,
    })),
    [BATCH_JOB_ENVIRONMENT.value.attempt]: String(attempt),
  };
}

// --- processes: every one bounded in time, and killed in afterAll if still running --------------------------------

interface Finished {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

const running = new Set<ChildProcess>();
const fakeContainers = path.join(root, 'docker-state', 'containers');

afterAll(() => {
  for (const child of running) child.kill('SIGKILL');
  // A container the fake docker started and the buildspec did not remove (a failed run).
  if (fs.existsSync(fakeContainers)) {
    for (const file of fs.readdirSync(fakeContainers).filter((f) => f.endsWith('.json'))) {
      const { pid } = JSON.parse(fs.readFileSync(path.join(fakeContainers, file), 'utf-8'));
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  fs.rmSync(root, { recursive: true, force: true });
});

function start(command: string, args: string[], options: { cwd: string; env: Record<string, string>; timeoutMs?: number }) {
  const child = spawn(command, args, {
    cwd: options.cwd,
    // Nothing inherited but PATH: the contract is all the job gets. No __pycache__ written into starter/.
    env: { PATH: process.env.PATH!, HOME: root, PYTHONDONTWRITEBYTECODE: '1', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  child.stderr!.on('data', (chunk) => (stderr += chunk));
  const done = new Promise<Finished>((resolve, reject) => {
    const limit = options.timeoutMs ?? PROCESS_TIMEOUT_MS;
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} did not finish within ${limit} ms:\n${stderr}`));
    }, limit);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done };
}

/** A python3 process in the directory its image runs it from; resolves when it exits 0, rejects otherwise. */
async function python(args: string[], env: Record<string, string>, cwd = TRAINING_DIR): Promise<Finished> {
  const finished = await start('python3', args, { cwd, env }).done;
  if (finished.code !== 0) throw new Error(`python3 ${args.join(' ')} exited ${finished.code ?? finished.signal}:\n${finished.stderr}`);
  return finished;
}

async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, everyMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

function readJson(file: string): any {
  return JSON.parse(fs.readFileSync(file, 'utf-8'));
}

function checkpointEpoch(execution: string): number | undefined {
  const file = path.join(local('checkpoints', `runs/${execution}/${CANDIDATE}/`), 'checkpoint.json');
  // Written whole (temporary file, then rename): it is absent or complete.
  return fs.existsSync(file) ? readJson(file).epoch : undefined;
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

// --- S3 and the SageMaker runtime, over the local stand-ins ---------------------------------------------------------

/** An S3 client whose buckets are the directories under s3Root: enough of GetObject and PutObject for the aggregation. */
function localS3(): S3Client {
  const send = async (command: unknown) => {
    if (command instanceof GetObjectCommand) {
      const file = path.join(s3Root, command.input.Bucket!, command.input.Key!);
      if (!fs.existsSync(file)) {
        throw new NoSuchKey({ message: NO_SUCH_KEY.value.message, $metadata: { httpStatusCode: NO_SUCH_KEY.value.httpStatusCode } });
      }
      const text = fs.readFileSync(file, 'utf-8');
      return { Body: { transformToString: async () => text }, $metadata: {} };
    }
    if (command instanceof PutObjectCommand) {
      const file = path.join(s3Root, command.input.Bucket!, command.input.Key!);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, command.input.Body as string);
      return { $metadata: {} };
    }
    throw new Error(`the local S3 does not do ${(command as object).constructor.name}`);
  };
  return { send } as unknown as S3Client;
}

/**
 * A SageMaker runtime client whose endpoint is the serving process on `port`: InvokeEndpoint is POST /invocations;
 * an answer other than 200 is a ModelError with the container's status and message, as SageMaker reports it.
 */
function localRuntime(port: number): SageMakerRuntimeClient {
  const send = async (command: unknown, options?: { abortSignal?: AbortSignal }) => {
    if (!(command instanceof InvokeEndpointCommand)) throw new Error('the local runtime only invokes endpoints');
    const response = await fetch(`http://127.0.0.1:${port}${SAGEMAKER_SERVING_CONTAINER.value.invocations}`, {
      method: 'POST',
      body: command.input.Body as string,
      headers: { 'Content-Type': command.input.ContentType!, 'Accept': command.input.Accept! },
      signal: options?.abortSignal,
    });
    const body = await response.text();
    if (response.status !== 200) {
      throw new ModelError({
        message: `Received client error (${response.status}) from primary with message "${body}"`,
        $metadata: { httpStatusCode: MODEL_ERROR.value.httpStatusCode },
        OriginalStatusCode: response.status,
        OriginalMessage: body,
      });
    }
    return { Body: new TextEncoder().encode(body), ContentType: response.headers.get('content-type') ?? undefined, $metadata: {} };
  };
  return { send } as unknown as SageMakerRuntimeClient;
}

// --- the golden requests of the starter ---------------------------------------------------------------------------

const GOLDEN = path.join(STARTER, 'tests', 'golden');
const PREDICTIONS: JsonSchema = {
  type: 'object',
  required: ['predictions'],
  properties: {
    predictions: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['probability', 'label'],
        properties: { probability: { type: 'number', minimum: 0, maximum: 1 }, label: { enum: [0, 1] } },
      },
    },
  },
};

/** Each golden request as an endpoint test sample: its expected response when it has one, else the response schema. */
function goldenSamples(): EndpointTestSample[] {
  return fs.readdirSync(GOLDEN).filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json')).sort().map((file) => {
    const name = file.slice(0, -'.json'.length);
    const expected = path.join(GOLDEN, `${name}.expected.json`);
    return {
      name,
      body: readJson(path.join(GOLDEN, file)),
      expect: fs.existsSync(expected) ? { equals: readJson(expected) } : { jsonSchema: PREDICTIONS },
    };
  });
}

// --- the run --------------------------------------------------------------------------------------------------------

/** The gate the starter's README proposes, as the construct renders it for the gate function. */
const GATE = {
  primaryMetric: 'auc',
  higherIsBetter: true,
  thresholds: [{ metric: 'auc', min: 0.75 }, { metric: 'accuracy', min: 0.7 }],
  fairness: [{ metric: 'auc', maxGap: 0.1 }, { metric: 'true_positive_rate', maxGap: 0.1 }],
  latency: { percentile: 'p99', maxMs: 50 },
};

describe('the starter, run for real against the container contract', () => {
  let killedAtEpoch = 0;
  let aggregate: AggregateMetricsResult;

  beforeAll(() => {
    // The data bucket holds the starter's committed data set under the data prefix.
    fs.mkdirSync(local('data', DATA_PREFIX), { recursive: true });
    const manifest: string[] = [];
    for (const file of ['train.csv', 'evaluation.csv']) {
      fs.copyFileSync(path.join(STARTER, 'data', file), path.join(local('data', DATA_PREFIX), file));
      const size = fs.statSync(path.join(STARTER, 'data', file)).size;
      manifest.push(JSON.stringify({ key: `${DATA_PREFIX}${file}`, versionId: `v-${file}`, etag: 'e', size }));
    }
    // The jobs read the files the data version pinned (locally: checked by size, a directory has no versions).
    fs.mkdirSync(path.dirname(local('data', MANIFEST_KEY)), { recursive: true });
    fs.writeFileSync(local('data', MANIFEST_KEY), manifest.join('\n') + '\n');
  });

  test('the starter\'s own Python tests pass', async () => {
    const result = await start('python3', ['-m', 'unittest', 'discover', '-s', '.', '-p', 'test_*.py'], { cwd: STARTER, env: {} }).done;
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/Ran \d+ tests/);
  }, TEST_TIMEOUT_MS);

  test('a job fails, naming the file, when the data changed after its data version was taken', async () => {
    const env = { ...trainingEnvironment('exec-changed', 1), [ContainerContract.DATA_MANIFEST_URI]: local('data', 'changed.jsonl') };
    fs.writeFileSync(local('data', 'changed.jsonl'), JSON.stringify({ key: `${DATA_PREFIX}train.csv`, versionId: 'v1', etag: 'e', size: 7 }) + '\n');
    const result = await start('python3', ['-m', 'train'], { cwd: TRAINING_DIR, env }).done;
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/train\.csv has \d+ bytes, but the data version .* recorded 7/);
  }, TEST_TIMEOUT_MS);

  test('training killed after its first checkpoint resumes from it as attempt 2, and ends where an uninterrupted run ends', async () => {
    // The same training, uninterrupted, in its own run (prefixes) to compare with.
    const uninterrupted = python(['-m', 'train'], trainingEnvironment('exec-0', BATCH_JOB_ENVIRONMENT.value.firstAttempt));

    const attempt1 = start('python3', ['-m', 'train'], { cwd: TRAINING_DIR, env: trainingEnvironment(EXECUTION, 1) });
    await waitFor('the first checkpoint', () => ((checkpointEpoch(EXECUTION) ?? 0) >= 1 ? true : undefined), PROCESS_TIMEOUT_MS, 5);
    // A reclaimed spot instance may give no time to save anything: SIGKILL, not SIGTERM.
    attempt1.child.kill('SIGKILL');
    const killed = await attempt1.done;
    expect(killed.signal).toBe('SIGKILL');
    const output = local('models', TRAINING_PREFIX);
    expect(fs.existsSync(path.join(output, ContainerContract.MODEL_FILE))).toBe(false);
    killedAtEpoch = checkpointEpoch(EXECUTION)!;
    expect(killedAtEpoch).toBeGreaterThanOrEqual(1);
    expect(killedAtEpoch).toBeLessThan(Number(HYPERPARAMETERS.epochs)); // killed mid-run, not after the end

    // Batch's retry: the same container, the same environment, the next attempt number.
    const attempt2 = await python(['-m', 'train'], trainingEnvironment(EXECUTION, 2));
    expect(attempt2.stderr).toContain(`attempt 2: resuming from the checkpoint of epoch ${killedAtEpoch}`);
    const metrics = readJson(path.join(output, ContainerContract.METRICS_FILE));
    expect(metrics.training).toMatchObject({ attempt: 2, startEpoch: killedAtEpoch, epochs: 400 });
    expect(metrics.training.lossByEpoch).toHaveLength(400);

    // Resuming loses nothing: the model is the uninterrupted run's, byte for byte.
    expect((await uninterrupted).stderr).toContain('attempt 1: no checkpoint, starting at epoch 0');
    expect(fs.readFileSync(path.join(output, ContainerContract.MODEL_FILE)))
      .toEqual(fs.readFileSync(path.join(local('models', `runs/exec-0/${CANDIDATE}/`), ContainerContract.MODEL_FILE)));
  }, TEST_TIMEOUT_MS);

  test('evaluation in 2 shards writes one metrics file per shard, aggregated by the library\'s own aggregation', async () => {
    await Promise.all(Array.from({ length: SHARDS }, (_, index) => python(['-m', 'evaluate'], {
      ...onLocalDisk(ContainerContract.evaluationEnvironment({
        dataUri: s3('data', DATA_PREFIX),
        dataVersion: DATA_VERSION,
        dataManifestUri: s3('data', MANIFEST_KEY),
        modelUri: s3('models', `${TRAINING_PREFIX}${ContainerContract.MODEL_FILE}`),
        outputUri: s3('models', EVALUATION_PREFIX),
        candidate: CANDIDATE,
        codeVersion: CODE_VERSION,
      })),
      // The evaluation job definition sets the shard count; Batch sets the index in each child of the array job.
      [ContainerContract.SHARD_COUNT]: String(SHARDS),
      [BATCH_JOB_ENVIRONMENT.value.arrayIndex]: String(BATCH_JOB_ENVIRONMENT.value.firstIndex + index),
      [BATCH_JOB_ENVIRONMENT.value.attempt]: String(BATCH_JOB_ENVIRONMENT.value.firstAttempt),
    })));

    aggregate = await aggregateMetrics(localS3(), {
      candidate: CANDIDATE,
      trainingOutputUri: s3('models', TRAINING_PREFIX),
      evaluationOutputUri: s3('models', EVALUATION_PREFIX),
      shards: SHARDS,
    });

    expect(aggregate.shards).toBe(SHARDS);
    expect(aggregate.metricsUri).toBe(s3('models', `${EVALUATION_PREFIX}metrics.json`));
    expect(Object.keys(aggregate.metrics)).toEqual(expect.arrayContaining(['auc', 'accuracy', 'logloss']));
    expect(Object.keys(aggregate.slices).sort()).toEqual(['group=a', 'group=b']);
    expect(Object.keys(aggregate.latencyMs).sort()).toEqual(['p50', 'p95', 'p99']);
    expect(Object.keys(aggregate.trainingMetrics).sort()).toEqual(['train_accuracy', 'train_auc', 'train_logloss']);
    // The shards are the evaluation rows split in two: 100 each, so the aggregate is their plain mean.
    const shards = [0, 1].map((i) => readJson(path.join(local('models', EVALUATION_PREFIX), ContainerContract.shardMetricsFile(i))));
    expect(shards.map((s) => s.count)).toEqual([100, 100]);
    expect(aggregate.metrics.accuracy).toBeCloseTo((shards[0].metrics.accuracy + shards[1].metrics.accuracy) / 2, 12);
    expect(readJson(path.join(local('models', EVALUATION_PREFIX), 'metrics.json')).metrics).toEqual(aggregate.metrics);
  }, TEST_TIMEOUT_MS);

  test('the library\'s quality gate passes the candidate on performance, fairness and latency, and would stop an unfair one', () => {
    const outcome = {
      candidate: CANDIDATE,
      configHash: 'starter',
      status: 'EVALUATED' as const,
      metrics: aggregate.metrics,
      slices: aggregate.slices,
      latencyMs: aggregate.latencyMs,
      metricsUri: aggregate.metricsUri,
    };
    const decision = evaluateGate([outcome], parseGateRules(JSON.stringify(GATE)));
    expect(decision.rejections).toEqual([]);
    expect(decision.summary).toMatch(/^logreg wins with auc 0\.[7-9]\d*; 0 rejected$/);

    // The slices carry real differences between the groups: a strict enough fairness rule rejects the model.
    const strict = evaluateGate([outcome], parseGateRules(JSON.stringify({ ...GATE, fairness: [{ metric: 'auc', maxGap: 0.001 }] })));
    expect(strict.winner).toBeUndefined();
    expect(strict.rejections[0].reasons).toEqual([expect.stringMatching(/^auc gap 0\.\d+ between slices group=[ab] \(.*\) and group=[ab] .* above max 0\.001$/)]);
  });

  test('the serving process passes the library\'s endpoint test over HTTP, golden requests and latency budget included', async () => {
    // The model as the Package stage bakes it in: model.tar.gz unpacked into the model directory.
    const modelDir = path.join(root, 'serving-model');
    fs.mkdirSync(modelDir);
    const unpack = spawnSync('tar', ['-xzf', path.join(local('models', TRAINING_PREFIX), ContainerContract.MODEL_FILE), '-C', modelDir, '--no-same-owner']);
    expect(unpack.status).toBe(0);
    const port = await freePort();
    const server = start('python3', [path.join(STARTER, 'serving', 'serve.py'), SAGEMAKER_SERVING_CONTAINER.value.argument], {
      cwd: STARTER,
      // In the image, model.py sits beside serve.py; here it is in training/.
      env: { MODEL_DIR: modelDir, PORT: String(port), HOST: '127.0.0.1', PYTHONPATH: TRAINING_DIR },
    });
    await waitFor('GET /ping to answer 200', async () => {
      const ping = await fetch(`http://127.0.0.1:${port}${SAGEMAKER_SERVING_CONTAINER.value.ping}`, { signal: AbortSignal.timeout(1000) })
        .then((r) => r.status, () => undefined);
      return ping === 200 ? true : undefined;
    }, 30_000, 50);

    const samples = goldenSamples();
    expect(samples.map((s) => s.name)).toEqual(['clear-cases', 'feature-lists', 'typical']);
    const report = await runEndpointTest(localRuntime(port), {
      endpointName: 'starter-local', samples, invocations: 60, concurrency: 4, latencyBudget: { p95Ms: 2000 }, timeoutMs: 10_000,
    }, { env: {} });
    expect(report).toMatchObject({ passed: true, invocations: 60, errors: 0, schemaFailures: [], reasons: [] });

    // A request the serving code refuses: the endpoint test reports SageMaker's ModelError with the container's 400.
    const refused = runEndpointTest(localRuntime(port), {
      endpointName: 'starter-local', samples: [{ name: 'no-instances', body: { rows: [] } }], invocations: 1,
    }, { env: {} });
    await expect(refused).rejects.toThrow(EndpointTestError);
    await expect(refused).rejects.toThrow(/ModelError \(HTTP 424\).*original status 400; original message: \{"error": "the body must be/);

    // SageMaker stops a container with SIGTERM: the server stops and exits 0.
    server.child.kill(SAGEMAKER_SERVING_CONTAINER.value.stopSignal as NodeJS.Signals);
    expect(await server.done).toMatchObject({ code: 0 });
  }, TEST_TIMEOUT_MS);

  test('the serving image build\'s contract test passes on the starter\'s Dockerfile and golden requests', async () => {
    // The source artifact is the starter; the build unpacks the model into its model/ and builds its Dockerfile.
    const source = path.join(root, 'source');
    fs.cpSync(STARTER, source, { recursive: true, filter: (file) => !file.includes('__pycache__') });
    const bin = path.join(root, 'bin');
    fs.mkdirSync(bin);
    const realCurl = spawnSync('bash', ['-c', 'command -v curl'], { encoding: 'utf-8' }).stdout.trim();
    fs.writeFileSync(path.join(bin, 'docker'), `#!/usr/bin/env bash\nexec node ${JSON.stringify(path.join(__dirname, 'fake-docker.js'))} "$@"\n`, { mode: 0o755 });
    // `docker run -p 8080:8080`: the container's port 8080 is FAKE_DOCKER_PORT here, the machine being shared.
    fs.writeFileSync(path.join(bin, 'curl'), [
      '#!/usr/bin/env bash',
      'args=()',
      'for arg in "$@"; do args+=("${arg//localhost:8080/127.0.0.1:$FAKE_DOCKER_PORT}"); done',
      `exec ${JSON.stringify(realCurl)} "\${args[@]}"`,
      '',
    ].join('\n'), { mode: 0o755 });
    fs.writeFileSync(path.join(bin, 'aws'), [
      '#!/usr/bin/env bash',
      'echo "aws $*" >> "$FAKE_LOG"',
      'if [ "$1 $2" = "s3 cp" ]; then src="${@: -2:1}"; cp "$FAKE_S3_ROOT/${src#s3://}" "${@: -1}"; exit; fi',
      'echo "unexpected aws call: $*" >&2; exit 2',
      '',
    ].join('\n'), { mode: 0o755 });

    const spec = servingBuildSpec({
      baseImage: 'public.ecr.aws/docker/library/python:3.12-slim',
      dockerfile: 'Dockerfile',
      goldenDirectory: 'tests/golden',
      startupTimeoutSeconds: 60,
      blockingSeverities: [],
    }) as any;
    const pick = (commands: string[], marker: string) => {
      const found = commands.filter((c) => c.includes(marker));
      expect(found).toHaveLength(1);
      return found[0];
    };
    const { pre_build: pre, build } = spec.phases;
    // The scratch directory, the model download, the build and the contract test; not ECR, the push or the scan.
    const script = [pick(pre.commands, 'mktemp -d'), pick(pre.commands, 'mkdir model'), pick(build.commands, 'docker build'),
      pick(build.commands, 'docker run')].join('\n');
    const log = path.join(root, 'calls.log');
    const run = await start('bash', ['-c', script], {
      cwd: source,
      env: {
        PATH: `${bin}:${process.env.PATH}`,
        TMPDIR: root,
        ...spec.env.variables,
        IMAGE_EXISTS: 'false',
        MODEL_DATA_URL: s3('models', `${TRAINING_PREFIX}${ContainerContract.MODEL_FILE}`),
        MODEL_VERSION: '1',
        COMMIT: CODE_VERSION,
        IMAGE_TAG: `1-${CODE_VERSION.slice(0, 12)}`,
        REPOSITORY_URI: '111122223333.dkr.ecr.eu-west-1.amazonaws.com/credit/serving',
        FAKE_LOG: log,
        FAKE_STATE: path.join(root, 'docker-state'),
        FAKE_S3_ROOT: s3Root,
        FAKE_DOCKER_PORT: String(await freePort()),
      },
      timeoutMs: 90_000,
    }).done;
    const output = `${run.stdout}\n${run.stderr}`;
    if (run.code !== 0) throw new Error(`the build's commands exited ${run.code ?? run.signal}:\n${output}`);
    expect(output).toContain('GET /ping: 200');
    expect(output).toContain('POST /invocations with tests/golden/clear-cases.json: 200, equal to tests/golden/clear-cases.expected.json');
    expect(output).toContain('POST /invocations with tests/golden/typical.json: 200, JSON (no typical.expected.json to compare with)');
    expect(output).toContain('Contract test passed: 3 golden request(s).');
    expect(fs.readFileSync(log, 'utf-8')).toContain(
      `docker run -d --name ${CONTRACT_TEST_CONTAINER} -p 8080:8080 111122223333.dkr.ecr.eu-west-1.amazonaws.com/credit/serving:1-a1b2c3d4e5f6 serve`);
    // The build removed its container: the server is gone.
    expect(fs.existsSync(path.join(fakeContainers, `${CONTRACT_TEST_CONTAINER}.json`))).toBe(false);
  }, TEST_TIMEOUT_MS);
});
