import { Duration, Token } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct } from 'constructs';
import { IModelEndpoint } from './model-endpoint';
import { EndpointTestFunction } from '../handlers/endpoint-test-function';
import { acknowledge } from '../private/acknowledge';
import { INLINE_ROLE_POLICY } from '../private/common-findings';
import {
  DEFAULT_CONCURRENCY, DEFAULT_INVOCATIONS, EndpointTestEvent, EndpointTestSample, isJsonContentType, MAX_CONCURRENCY,
  MAX_INVOCATIONS, MAX_TIMEOUT_MS, SAGEMAKER_NAME, schemaProblems,
} from '../private/contract/endpoint-test';
import { acknowledgeHandler, handlerOptions } from '../private/handler-options';
import { encryptedLogGroup } from '../private/log-group';
import { REASONS } from '../private/nag-reasons';
import { nagResourceId } from '../private/nag-resource';
import { retryTransient } from '../private/task-retries';
import { isConcrete, MlOpsValidationError } from '../private/validation';

/** One request the test sends, round-robin with the others, and what its response must be. */
export interface EndpointSample {
  /** A name, unique among the samples: the report's figures and problems are per sample. */
  readonly name: string;
  /**
   * The request body as JSON text, for example `'{"amount": 12.5}'`. It is parsed at synthesis (it must be valid
   * JSON) and sent serialized with a JSON content type; with another content type it must be a JSON string, sent as it is.
   */
  readonly body: string;
  /**
   * The request's content type.
   * @default 'application/json'
   */
  readonly contentType?: string;
  /**
   * The response type asked of the model container (InvokeEndpoint's `Accept`). A JSON type makes the response
   * parsed as JSON for `expectedJson` and `expectedSchema` when the response names no content type of its own.
   * @default - the sample's content type
   */
  readonly accept?: string;
  /**
   * The response must equal this JSON text exactly (parsed, compared value by value).
   * @default - any successful response
   */
  readonly expectedJson?: string;
  /**
   * The response must match this JSON Schema, given as JSON text, for example
   * `'{"type": "object", "required": ["score"], "properties": {"score": {"type": "number", "minimum": 0, "maximum": 1}}}'`:
   * a contract that still holds when a new model's scores change. The keywords checked are `type`, `properties`,
   * `required`, `items`, `enum`, `minimum`, `maximum`, `minItems` and `maxItems` (annotations such as `title` and
   * `description` are allowed and ignored); any other keyword fails at synthesis rather than being ignored.
   * @default - the response's shape is not checked
   */
  readonly expectedSchema?: string;
}

/** Latency budgets of the successful calls (nearest-rank percentiles). */
export interface LatencyBudgetOptions {
  /**
   * The median may not exceed this.
   * @default - no budget
   */
  readonly p50?: Duration;
  /**
   * The 95th percentile may not exceed this.
   * @default - no budget
   */
  readonly p95?: Duration;
  /**
   * The 99th percentile may not exceed this.
   * @default - no budget
   */
  readonly p99?: Duration;
}

/** Props for {@link EndpointTestRunner}. */
export interface EndpointTestRunnerProps {
  /** The endpoint under test (typically the staging endpoint). */
  readonly endpoint: IModelEndpoint;
  /** The requests to send: at least one, with distinct names. */
  readonly samples: EndpointSample[];
  /**
   * Total calls, 1 to 10000; the samples are sent round-robin, so at least as many calls as samples.
   * @default 100
   */
  readonly invocations?: number;
  /**
   * Calls in flight at most, 1 to 50.
   * @default 4
   */
  readonly concurrency?: number;
  /**
   * Latency budgets the successful calls must meet.
   * @default - none: only the responses and the error rate are checked
   */
  readonly latencyBudget?: LatencyBudgetOptions;
  /**
   * The fraction of calls that may fail, 0 to 1.
   * @default 0
   */
  readonly maxErrorRate?: number;
  /**
   * The longest one call may take, the SDK's retries of a throttled call included; a slower call counts as a failed
   * call. SageMaker gives a model container 60 seconds to respond to an InvokeEndpoint request.
   * @default Duration.seconds(10)
   */
  readonly callTimeout?: Duration;
  /**
   * The production variant every call goes to (InvokeEndpoint's `TargetVariant`), to test one variant of an endpoint
   * that runs several.
   * @default - SageMaker spreads the calls over the variants by their weights
   */
  readonly targetVariant?: string;
  /**
   * The longest the test may run, at most 15 minutes (the test runs in one Lambda invocation, whose maximum is 900
   * seconds); the state machine allows 5 minutes more, for the retries of Lambda's throttling and service errors.
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;
  /**
   * A VPC for the test function. It needs a route to the SageMaker Runtime API (NAT, or a `runtime.sagemaker`
   * interface endpoint).
   * @default - not in a VPC: the function only calls the SageMaker Runtime API
   */
  readonly vpc?: ec2.IVpc;
  /**
   * Subnets for the test function, when `vpc` is set.
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * How long the function's and the executions' logs are kept.
   * @default logs.RetentionDays.ONE_YEAR
   */
  readonly logRetention?: logs.RetentionDays;
}

const MAX_LAMBDA_TIMEOUT = Duration.minutes(15);

/**
 * The staging test a pipeline runs after a deployment: a Step Functions standard state machine that invokes the
 * endpoint-test function once with the test defined here (the execution input is ignored). The function calls the
 * endpoint `invocations` times, checks each response and the latency budget, and fails with `EndpointTestFailed`
 * (the report for people in the cause) when the endpoint did not pass; the execution then fails with that error, and a
 * CodePipeline `StepFunctionInvokeAction` fails its stage.
 *
 * All execution events are logged to an encrypted log group, with X-Ray tracing.
 *
 * @example
 * const test = new EndpointTestRunner(this, 'StagingTest', {
 *   endpoint: staging,
 *   samples: [{ name: 'typical', body: '{"amount": 12.5}' }],
 *   latencyBudget: { p99: Duration.millis(300) },
 * });
 * // new codepipeline_actions.StepFunctionInvokeAction({ actionName: 'Test', stateMachine: test.stateMachine })
 */
export class EndpointTestRunner extends Construct {
  /** The state machine; an execution fails when the endpoint does not pass. */
  public readonly stateMachine: sfn.StateMachine;
  /** The function that runs the test. */
  public readonly function: lambda.IFunction;
  /** The endpoint under test. */
  public readonly endpoint: IModelEndpoint;
  /** The longest one test run may take (the function's timeout). */
  public readonly timeout: Duration;

  constructor(scope: Construct, id: string, props: EndpointTestRunnerProps) {
    super(scope, id);
    this.endpoint = props.endpoint;
    const event = this.renderEvent(props);
    const timeout = props.timeout ?? MAX_LAMBDA_TIMEOUT;
    this.timeout = timeout;
    const functionTimeout = timeout;

    const fn = new EndpointTestFunction(this, 'Function', handlerOptions(this, {
      description: 'cdk-mlops: the staging test of a SageMaker endpoint (responses, error rate, latency budget)',
      memorySize: 512,
      timeout: functionTimeout,
      environment: { ENDPOINT_NAME: props.endpoint.endpointName },
      logRetention: props.logRetention,
      logGroupId: 'FunctionLogs',
      vpc: props.vpc,
      vpcSubnets: props.vpcSubnets,
    }));
    props.endpoint.grantInvoke(fn);
    acknowledgeHandler(fn, props.vpc !== undefined, {});
    this.function = fn;

    // Lambda's throttling (TooManyRequestsException) and service errors are retried; the test's own verdict is not.
    const test = retryTransient(new tasks.LambdaInvoke(this, 'Test the endpoint', {
      lambdaFunction: fn,
      payload: sfn.TaskInput.fromObject({ ...event }),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
    }), 'lambda');

    this.stateMachine = new sfn.StateMachine(this, 'Resource', {
      definitionBody: sfn.DefinitionBody.fromChainable(test),
      stateMachineType: sfn.StateMachineType.STANDARD,
      timeout: timeout.plus(Duration.minutes(5)),
      tracingEnabled: true,
      logs: {
        destination: encryptedLogGroup(this, 'Logs', { retention: props.logRetention }),
        level: sfn.LogLevel.ALL,
        includeExecutionData: true,
      },
    });
    const policy = this.stateMachine.role.node.tryFindChild('DefaultPolicy');
    if (policy) {
      acknowledge(policy, {
        [`AwsSolutions-IAM5[Resource::${nagResourceId(this, `${fn.functionArn}:*`)}]`]:
          REASONS.lambda.invokedFunctionVersions,
        'AwsSolutions-IAM5[Resource::*]': REASONS.stepFunctions.logsAndTracing,
        ...INLINE_ROLE_POLICY,
      });
    }
  }

  /** Permits the grantee to start executions (a CodePipeline StepFunctionInvokeAction's role, for example). */
  public grantStartExecution(grantee: iam.IGrantable): iam.Grant {
    return this.stateMachine.grantStartExecution(grantee);
  }

  /** The handler's event, validated. */
  private renderEvent(props: EndpointTestRunnerProps): EndpointTestEvent {
    const fail = (prop: string, value: unknown, fix: string): never => {
      throw new MlOpsValidationError(this, 'EndpointTestRunner', prop, value, fix);
    };
    if (props.samples.length === 0) fail('samples', [], 'Give at least one sample: the test sends them round-robin.');
    const names = new Set<string>();
    const samples = props.samples.map((s, i) => {
      if (s.name.trim() === '') fail(`samples[${i}].name`, s.name, 'Give each sample a name.');
      if (names.has(s.name)) fail(`samples[${i}].name`, s.name, 'Sample names must be distinct: the report is per sample.');
      names.add(s.name);
      // JSON text with tokens inside its strings parses (the tokens resolve at deploy time); text that is one token
      // cannot be parsed at synth.
      const known = (prop: string, text: string) => {
        if (Token.isUnresolved(text)) {
          fail(prop, 'a token', 'The text is parsed at synth into the test\'s requests: give the JSON text in the app (tokens may be inside its strings).');
        }
      };
      const body = parseJson(s.body, (message) => {
        known(`samples[${i}].body`, s.body);
        return fail(`samples[${i}].body`, s.body, `Give JSON text, for example '{"amount": 12.5}' (${message}).`);
      });
      checkKeys(body, (key) => fail(`samples[${i}].body`, s.body, `Step Functions reads a key ending in ".$" ("${key}") as a path: rename it.`));
      if (s.contentType !== undefined && s.contentType.trim() === '') fail(`samples[${i}].contentType`, s.contentType, 'Give a content type like "text/csv".');
      if (s.accept !== undefined && s.accept.trim() === '') fail(`samples[${i}].accept`, s.accept, 'Give a content type like "application/json".');
      if (s.contentType !== undefined && isConcrete(s.contentType) && !isJsonContentType(s.contentType) && typeof body !== 'string') {
        fail(`samples[${i}].body`, s.body, `With contentType "${s.contentType}" the body is sent as it is: give a JSON string, for example '"1,2,3"'.`);
      }
      let expected: unknown;
      if (s.expectedJson !== undefined) {
        const text = s.expectedJson;
        expected = parseJson(text, (message) => {
          known(`samples[${i}].expectedJson`, text);
          return fail(`samples[${i}].expectedJson`, text, `Give JSON text (${message}).`);
        });
        checkKeys(expected, (key) => fail(`samples[${i}].expectedJson`, s.expectedJson, `Step Functions reads a key ending in ".$" ("${key}") as a path.`));
      }
      let schema: unknown;
      if (s.expectedSchema !== undefined) {
        const prop = `samples[${i}].expectedSchema`;
        schema = parseJson(s.expectedSchema, (message) => fail(prop, s.expectedSchema, `Give a JSON Schema as JSON text (${message}).`));
        checkKeys(schema, (key) => fail(prop, s.expectedSchema, `Step Functions reads a key ending in ".$" ("${key}") as a path.`));
        const problems = schemaProblems(schema, '$');
        if (problems.length > 0) fail(prop, s.expectedSchema, `The schema is not one the test can check: ${problems.join('; ')}.`);
      }
      const sample: EndpointTestSample = {
        name: s.name,
        body,
        ...(s.contentType !== undefined ? { contentType: s.contentType } : {}),
        ...(s.accept !== undefined ? { accept: s.accept } : {}),
        ...(expected !== undefined || schema !== undefined ? {
          expect: {
            ...(s.expectedJson !== undefined ? { equals: expected } : {}),
            ...(schema !== undefined ? { jsonSchema: schema as object } : {}),
          },
        } : {}),
      };
      return sample;
    });

    const invocations = props.invocations ?? DEFAULT_INVOCATIONS;
    if (isConcrete(invocations) && (!Number.isInteger(invocations) || invocations < 1 || invocations > MAX_INVOCATIONS)) {
      fail('invocations', invocations, `Give a whole number of calls from 1 to ${MAX_INVOCATIONS}.`);
    }
    if (isConcrete(invocations) && invocations < samples.length) {
      fail('invocations', invocations, `Give at least one call per sample (${samples.length}): the samples are sent round-robin.`);
    }
    const concurrency = props.concurrency ?? DEFAULT_CONCURRENCY;
    if (isConcrete(concurrency) && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_CONCURRENCY)) {
      fail('concurrency', concurrency, `Give a whole number of calls in flight from 1 to ${MAX_CONCURRENCY}.`);
    }
    const maxErrorRate = props.maxErrorRate ?? 0;
    if (isConcrete(maxErrorRate) && (!Number.isFinite(maxErrorRate) || maxErrorRate < 0 || maxErrorRate > 1)) {
      fail('maxErrorRate', maxErrorRate, 'Give a fraction of the calls from 0 to 1, for example 0.01.');
    }
    const timeout = props.timeout;
    if (timeout && !Token.isUnresolved(timeout.toSeconds()) && timeout.toSeconds() < 1) {
      fail('timeout', timeout.toHumanString(), 'Give at least 1 second.');
    }
    if (timeout && isConcrete(timeout.toSeconds()) && timeout.toSeconds() > MAX_LAMBDA_TIMEOUT.toSeconds()) {
      fail('timeout', timeout.toHumanString(), 'The test runs in one Lambda invocation, which lasts at most 15 minutes (900 seconds): ' +
        'give 15 minutes or less (fewer invocations make the test shorter).');
    }

    const callTimeoutMs = props.callTimeout?.toMilliseconds({ integral: false });
    if (props.callTimeout && callTimeoutMs !== undefined && isConcrete(callTimeoutMs)) {
      if (!Number.isInteger(callTimeoutMs) || callTimeoutMs < 1 || callTimeoutMs > MAX_TIMEOUT_MS) {
        fail('callTimeout', props.callTimeout.toHumanString(), 'Give whole milliseconds from 1 ms to 15 minutes, for example Duration.seconds(10).');
      }
      const testSeconds = (timeout ?? MAX_LAMBDA_TIMEOUT).toSeconds();
      if (isConcrete(testSeconds) && callTimeoutMs > testSeconds * 1000) {
        fail('callTimeout', props.callTimeout.toHumanString(),
          `One call may not outlast the whole test (timeout ${(timeout ?? MAX_LAMBDA_TIMEOUT).toHumanString()}): give a shorter callTimeout or a longer timeout.`);
      }
    }
    const targetVariant = props.targetVariant;
    if (targetVariant !== undefined && isConcrete(targetVariant)) {
      if (!SAGEMAKER_NAME.test(targetVariant)) {
        fail('targetVariant', targetVariant, 'Give a production variant name: 1-63 letters, digits and hyphens, starting and ending with a letter or digit.');
      }
      // An endpoint made by this library has one variant, whose name it knows: another name would fail every call.
      const own = (props.endpoint as { readonly variantName?: unknown }).variantName;
      if (typeof own === 'string' && isConcrete(own) && own !== targetVariant) {
        fail('targetVariant', targetVariant, `The endpoint has one variant, '${own}': give that name, or leave targetVariant out.`);
      }
    }

    const latencyBudget: Record<string, number> = {};
    for (const p of ['p50', 'p95', 'p99'] as const) {
      const budget = props.latencyBudget?.[p];
      if (budget === undefined) continue;
      const ms = budget.toMilliseconds();
      if (isConcrete(ms) && ms <= 0) fail(`latencyBudget.${p}`, budget.toHumanString(), 'Give a latency above 0, for example Duration.millis(300).');
      latencyBudget[`${p}Ms`] = ms;
    }

    return {
      endpointName: props.endpoint.endpointName,
      samples,
      invocations,
      concurrency,
      ...(Object.keys(latencyBudget).length > 0 ? { latencyBudget } : {}),
      ...(callTimeoutMs !== undefined ? { timeoutMs: callTimeoutMs } : {}),
      maxErrorRate,
      ...(targetVariant !== undefined ? { targetVariant } : {}),
    };
  }
}

function parseJson(text: string, fail: (message: string) => never): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    return fail((error as Error).message);
  }
}

/** Step Functions treats a key ending in ".$" anywhere in a task's parameters as a path, not as a literal. */
function checkKeys(value: unknown, fail: (key: string) => never): void {
  if (Array.isArray(value)) {
    value.forEach((v) => checkKeys(v, fail));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      if (key.endsWith('.$')) fail(key);
      checkKeys(v, fail);
    }
  }
}
