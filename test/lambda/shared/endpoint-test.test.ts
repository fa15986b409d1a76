import {
  buildReport,
  CallOutcome,
  checkResponse,
  compareJson,
  describeCallError,
  EndpointTestError,
  formatFailure,
  isJsonContentType,
  MAX_FAILURE_MESSAGE_LENGTH,
  nearestRank,
  parseEndpointTest,
  PreparedSample,
  validateAgainstSchema,
} from '../../../lambda/shared/endpoint-test';

/** The error `call` throws; fails the test when it throws none. */
function errorOf(call: () => unknown): EndpointTestError {
  try {
    call();
  } catch (error) {
    return error as EndpointTestError;
  }
  throw new Error('expected an error, got none');
}

const SETTINGS = { endpointName: 'fraud-staging', maxErrorRate: 0, latencyBudget: {} };

/** `n` successful calls of sample "a" with the given latencies. */
function ok(...latencies: number[]): CallOutcome[] {
  return latencies.map((latencyMs) => ({ sample: 'a', latencyMs, problems: [] }));
}

describe('nearestRank', () => {
  test('takes the value at rank ceil(p/100 * n) of the sorted values', () => {
    // GIVEN 1..100 in a scrambled order
    const values = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1);

    // THEN
    expect(nearestRank(values, 50)).toBe(50);
    expect(nearestRank(values, 95)).toBe(95);
    expect(nearestRank(values, 99)).toBe(99);
    expect(nearestRank(values, 100)).toBe(100);
  });

  test('rounds the rank up, never interpolates', () => {
    // n = 7: p50 -> rank 4 (3.5 up), p95 -> rank 7 (6.65 up), p99 -> rank 7
    const values = [70, 10, 60, 20, 50, 30, 40];
    expect(nearestRank(values, 50)).toBe(40);
    expect(nearestRank(values, 95)).toBe(70);
    expect(nearestRank(values, 99)).toBe(70);
    // n = 20: p95 -> rank 19 exactly; n = 100: p7 -> rank 7, although 7 / 100 * 100 is 7.000000000000001 in floating point
    expect(nearestRank(Array.from({ length: 20 }, (_, i) => i + 1), 95)).toBe(19);
    expect(nearestRank(Array.from({ length: 100 }, (_, i) => i + 1), 7)).toBe(7);
  });

  test('gives the only value of one, and undefined for none', () => {
    expect(nearestRank([12.5], 50)).toBe(12.5);
    expect(nearestRank([12.5], 99)).toBe(12.5);
    expect(nearestRank([], 50)).toBeUndefined();
  });

  test('does not sort the values it is given', () => {
    const values = [3, 1, 2];
    nearestRank(values, 50);
    expect(values).toEqual([3, 1, 2]);
  });

  test('refuses a percentile outside (0, 100]', () => {
    expect(() => nearestRank([1], 0)).toThrow(RangeError);
    expect(() => nearestRank([1], 101)).toThrow(RangeError);
  });
});

describe('validateAgainstSchema', () => {
  test.each([
    ['string', 'a', 1, '$ is 1, expected string'],
    ['number', 1.5, '1.5', '$ is "1.5", expected number'],
    ['integer', 2, 2.5, '$ is 2.5, expected integer'],
    ['boolean', true, 'true', '$ is "true", expected boolean'],
    ['null', null, 0, '$ is 0, expected null'],
    ['object', {}, [], '$ is an array, expected object'],
    ['array', [], {}, '$ is an object, expected array'],
  ] as const)('type %s accepts its kind and names the other', (type, good, bad, problem) => {
    expect(validateAgainstSchema(good, { type })).toEqual([]);
    expect(validateAgainstSchema(bad, { type })).toEqual([problem]);
  });

  test('an integer is a number, a number with a fraction is not an integer', () => {
    expect(validateAgainstSchema(3, { type: 'number' })).toEqual([]);
    expect(validateAgainstSchema(3, { type: 'integer' })).toEqual([]);
    expect(validateAgainstSchema(3.0001, { type: 'integer' })).toHaveLength(1);
  });

  test('a type list accepts any of its types', () => {
    expect(validateAgainstSchema(null, { type: ['string', 'null'] })).toEqual([]);
    expect(validateAgainstSchema(1, { type: ['string', 'null'] })).toEqual(['$ is 1, expected string or null']);
  });

  test('required names each missing property with its path', () => {
    const problems = validateAgainstSchema({ score: 1 }, { type: 'object', required: ['score', 'label', 'risk level'] });
    expect(problems).toEqual(['$.label is missing (required)', '$["risk level"] is missing (required)']);
  });

  test('properties check the properties present only', () => {
    const schema = { properties: { score: { type: 'number' as const }, label: { type: 'string' as const } } };
    expect(validateAgainstSchema({ score: 0.4 }, schema)).toEqual([]);
    expect(validateAgainstSchema({ score: 'high', label: 2 }, schema)).toEqual(['$.score is "high", expected number', '$.label is 2, expected string']);
  });

  test('items check every item, with its index', () => {
    expect(validateAgainstSchema([1, 'two', 3, null], { items: { type: 'number' } })).toEqual([
      '$[1] is "two", expected number',
      '$[3] is null, expected number',
    ]);
  });

  test('enum accepts equal JSON values only', () => {
    const schema = { enum: ['fraud', 'legit', { code: 1 }] };
    expect(validateAgainstSchema('legit', schema)).toEqual([]);
    expect(validateAgainstSchema({ code: 1 }, schema)).toEqual([]);
    expect(validateAgainstSchema('maybe', schema)).toEqual(['$ is "maybe", expected one of "fraud", "legit", {"code":1}']);
    expect(validateAgainstSchema({ code: 2 }, schema)).toHaveLength(1);
  });

  test('minimum and maximum are inclusive and apply to numbers only', () => {
    const schema = { minimum: 0, maximum: 1 };
    expect(validateAgainstSchema(0, schema)).toEqual([]);
    expect(validateAgainstSchema(1, schema)).toEqual([]);
    expect(validateAgainstSchema(-0.1, schema)).toEqual(['$ is -0.1, expected at least 0']);
    expect(validateAgainstSchema(1.2, schema)).toEqual(['$ is 1.2, expected at most 1']);
    expect(validateAgainstSchema('5', schema)).toEqual([]);
  });

  test('minItems and maxItems are inclusive and apply to arrays only', () => {
    const schema = { minItems: 1, maxItems: 2 };
    expect(validateAgainstSchema([1], schema)).toEqual([]);
    expect(validateAgainstSchema([1, 2], schema)).toEqual([]);
    expect(validateAgainstSchema([], schema)).toEqual(['$ has 0 items, expected at least 1']);
    expect(validateAgainstSchema([1, 2, 3], schema)).toEqual(['$ has 3 items, expected at most 2']);
    expect(validateAgainstSchema('abc', schema)).toEqual([]);
  });

  test('reports every mismatch of a nested response with its JSON path', () => {
    // GIVEN a schema of {"predictions": [{"score": number 0-1, "label": "fraud"|"legit"}]}
    const schema = {
      type: 'object' as const,
      required: ['predictions', 'modelVersion'],
      properties: {
        predictions: {
          type: 'array' as const,
          minItems: 1,
          items: {
            type: 'object' as const,
            required: ['score', 'label'],
            properties: { score: { type: 'number' as const, minimum: 0, maximum: 1 }, label: { enum: ['fraud', 'legit'] } },
          },
        },
      },
    };

    // WHEN
    const problems = validateAgainstSchema({ predictions: [{ score: 'high', label: 'fraud' }, { score: 2 }, { score: 0.5, label: 'x' }] }, schema);

    // THEN
    expect(problems).toEqual([
      '$.modelVersion is missing (required)',
      '$.predictions[0].score is "high", expected number',
      '$.predictions[1].label is missing (required)',
      '$.predictions[1].score is 2, expected at most 1',
      '$.predictions[2].label is "x", expected one of "fraud", "legit"',
    ]);
  });

  test('does not look further into a value of the wrong type', () => {
    expect(validateAgainstSchema('oops', { type: 'object', required: ['a'], properties: { a: { type: 'string' } } })).toEqual([
      '$ is "oops", expected object',
    ]);
  });

  test('starts from the path it is given', () => {
    expect(validateAgainstSchema(1, { type: 'string' }, '$.body')).toEqual(['$.body is 1, expected string']);
  });
});

describe('compareJson', () => {
  test('is empty for equal values, key order aside', () => {
    expect(compareJson({ a: [1, { b: null }], c: 'x' }, { c: 'x', a: [1, { b: null }] })).toEqual([]);
    expect(compareJson('text', 'text')).toEqual([]);
  });

  test('names each difference with its path', () => {
    const problems = compareJson({ label: 'legit', scores: [0.1, 0.2], extra: true }, { label: 'fraud', scores: [0.1, 0.3, 0.5], model: 'v2' });
    expect(problems).toEqual([
      '$.label is "legit", expected "fraud"',
      '$.scores has 2 items, expected 3',
      '$.scores[1] is 0.2, expected 0.3',
      '$.model is missing, expected "v2"',
      '$.extra is true, expected no such property',
    ]);
  });

  test('names a difference of kind', () => {
    expect(compareJson({ a: 1 }, [1])).toEqual(['$ is an object, expected array']);
    expect(compareJson('1', 1)).toEqual(['$ is "1", expected 1']);
  });
});

describe('checkResponse', () => {
  const sample = (expect: PreparedSample['expect'], accept = 'application/json'): PreparedSample => ({
    name: 's',
    payload: '{}',
    contentType: 'application/json',
    accept,
    expect,
  });

  test('parses a JSON response and checks the schema and the value', () => {
    const s = sample({ jsonSchema: { type: 'object', required: ['score'] }, equals: { score: 1 } });
    expect(checkResponse(s, { body: '{"score": 1}', contentType: 'application/json; charset=utf-8' })).toEqual([]);
    expect(checkResponse(s, { body: '{"score": 2}', contentType: 'application/json' })).toEqual(['$.score is 2, expected 1']);
  });

  test('compares a response of another content type as text', () => {
    const s = sample({ jsonSchema: { type: 'string' }, equals: '0.93\n' }, 'text/csv');
    expect(checkResponse(s, { body: '0.93\n', contentType: 'text/csv' })).toEqual([]);
    expect(checkResponse(s, { body: '0.5\n' })).toEqual(['$ is "0.5\\n", expected "0.93\\n"']);
  });

  test('reports a JSON response that is not JSON', () => {
    const problems = checkResponse(sample({ jsonSchema: { type: 'object' } }), { body: 'Internal error', contentType: 'application/json' });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^\$ is not valid JSON \(.*\): "Internal error"$/);
  });

  test('checks nothing without an expectation beyond the status', () => {
    expect(checkResponse(sample(undefined), { body: 'not json' })).toEqual([]);
    expect(checkResponse(sample({ status: 'ok' }), { body: 'not json' })).toEqual([]);
  });

  test('checks equals null', () => {
    expect(checkResponse(sample({ equals: null }), { body: '{}' })).toEqual(['$ is an object, expected null']);
  });
});

test('isJsonContentType takes application/json with parameters and +json, not JSON lines', () => {
  expect(isJsonContentType('application/json')).toBe(true);
  expect(isJsonContentType('Application/JSON; charset=utf-8')).toBe(true);
  expect(isJsonContentType('application/vnd.api+json')).toBe(true);
  expect(isJsonContentType('application/jsonlines')).toBe(false);
  expect(isJsonContentType('text/csv')).toBe(false);
});

describe('buildReport', () => {
  test('passes with the figures when every call succeeded within the budget', () => {
    // GIVEN 10 calls of 10..100 ms and a budget they meet
    const outcomes = ok(100, 10, 90, 20, 80, 30, 70, 40, 60, 50);

    // WHEN
    const report = buildReport({ ...SETTINGS, latencyBudget: { p50Ms: 50, p99Ms: 100 } }, outcomes);

    // THEN the budget bounds are inclusive
    expect(report).toEqual({
      endpointName: 'fraud-staging',
      invocations: 10,
      errors: 0,
      errorRate: 0,
      latencyMs: { p50: 50, p95: 100, p99: 100, max: 100 },
      schemaFailures: [],
      errorSamples: [],
      budget: { p50Ms: 50, p99Ms: 100 },
      passed: true,
      reasons: [],
    });
  });

  test('fails on each percentile above its budget, one reason each', () => {
    const report = buildReport({ ...SETTINGS, latencyBudget: { p50Ms: 40, p95Ms: 500, p99Ms: 90 } }, ok(100, 10, 90, 20, 80, 30, 70, 40, 60, 50));

    expect(report.passed).toBe(false);
    expect(report.reasons).toEqual([
      'p50 latency 50 ms is above the budget of 40 ms',
      'p99 latency 100 ms is above the budget of 90 ms',
    ]);
  });

  test('rounds latencies to 0.1 ms and compares the rounded figures', () => {
    const report = buildReport({ ...SETTINGS, latencyBudget: { p50Ms: 12.3 } }, ok(12.34, 12.26, 12.31));

    expect(report.latencyMs).toEqual({ p50: 12.3, p95: 12.3, p99: 12.3, max: 12.3 });
    expect(report.passed).toBe(true);
  });

  test('ranks the successful calls only, and fails when the error rate is above the maximum', () => {
    // GIVEN 4 calls, one of which failed after 5000 ms
    const outcomes: CallOutcome[] = [
      ...ok(10, 20, 30),
      { sample: 'b', latencyMs: 5000, error: 'sample "b": ModelError (HTTP 424): boom' },
    ];

    // WHEN
    const report = buildReport({ ...SETTINGS, maxErrorRate: 0.2 }, outcomes);

    // THEN
    expect(report).toMatchObject({ invocations: 4, errors: 1, errorRate: 0.25, passed: false });
    expect(report.latencyMs).toEqual({ p50: 20, p95: 30, p99: 30, max: 30 });
    expect(report.errorSamples).toEqual(['sample "b": ModelError (HTTP 424): boom']);
    expect(report.reasons).toEqual(['error rate 25% (1 of 4 calls failed) is above the maximum of 20%']);
  });

  test('passes with errors at the maximum error rate', () => {
    const outcomes: CallOutcome[] = [...ok(10, 10, 10), { sample: 'a', latencyMs: 1, error: 'x' }];

    expect(buildReport({ ...SETTINGS, maxErrorRate: 0.25 }, outcomes).passed).toBe(true);
  });

  test('keeps the first 5 distinct error messages', () => {
    const messages = ['e1', 'e1', 'e2', 'e3', 'e2', 'e4', 'e5', 'e6'];
    const report = buildReport({ ...SETTINGS, maxErrorRate: 1 }, [...ok(1), ...messages.map((error) => ({ sample: 'a', latencyMs: 1, error }))]);

    expect(report.errorSamples).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
    expect(report.errors).toBe(8);
    expect(report.passed).toBe(true);
  });

  test('groups schema failures per sample, deduplicated, the first 5 problems', () => {
    // GIVEN sample "a" failing twice the same way, and sample "b" failing in 7 ways
    const outcomes: CallOutcome[] = [
      { sample: 'a', latencyMs: 1, problems: ['$.score is "high", expected number'] },
      { sample: 'b', latencyMs: 1, problems: ['p1', 'p2', 'p3'] },
      { sample: 'a', latencyMs: 1, problems: ['$.score is "high", expected number'] },
      { sample: 'b', latencyMs: 1, problems: ['p3', 'p4', 'p5', 'p6', 'p7'] },
      { sample: 'c', latencyMs: 1, problems: [] },
    ];

    // WHEN
    const report = buildReport(SETTINGS, outcomes);

    // THEN
    expect(report.schemaFailures).toEqual([
      { sample: 'a', problems: ['$.score is "high", expected number'] },
      { sample: 'b', problems: ['p1', 'p2', 'p3', 'p4', 'p5'] },
    ]);
    expect(report.passed).toBe(false);
    expect(report.reasons).toEqual([
      'sample "a": the response does not meet its expectation: $.score is "high", expected number',
      'sample "b": the response does not meet its expectation: p1; p2; p3; p4; p5',
    ]);
  });

  test('gives null latencies and fails when no call succeeded, even with every error allowed', () => {
    const report = buildReport({ ...SETTINGS, maxErrorRate: 1, latencyBudget: { p99Ms: 100 } }, [{ sample: 'a', latencyMs: 3, error: 'timeout' }]);

    expect(report.latencyMs).toEqual({ p50: null, p95: null, p99: null, max: null });
    expect(report.passed).toBe(false);
    expect(report.reasons).toEqual(['no call succeeded (1 of 1 failed), so nothing was measured']);
  });

  test('says every reason: errors, schema and budget', () => {
    const outcomes: CallOutcome[] = [
      { sample: 'a', latencyMs: 412, problems: ['$.label is missing (required)'] },
      { sample: 'a', latencyMs: 5, error: 'boom' },
    ];

    const report = buildReport({ ...SETTINGS, latencyBudget: { p99Ms: 300 } }, outcomes);

    expect(report.reasons).toEqual([
      'error rate 50% (1 of 2 calls failed) is above the maximum of 0%',
      'sample "a": the response does not meet its expectation: $.label is missing (required)',
      'p99 latency 412 ms is above the budget of 300 ms',
    ]);
  });
});

describe('formatFailure', () => {
  test('puts the reasons first, then the figures and the first errors', () => {
    // GIVEN
    const report = buildReport({ ...SETTINGS, latencyBudget: { p99Ms: 300 } }, [
      ...ok(412, 100),
      { sample: 'b', latencyMs: 5, error: 'sample "b": ModelError (HTTP 424): boom' },
    ]);

    // WHEN
    const lines = formatFailure(report, 'candidate').split('\n');

    // THEN
    expect(lines).toEqual([
      "endpoint-test: endpoint 'fraud-staging' (variant 'candidate') failed its test:",
      '- error rate 33.33% (1 of 3 calls failed) is above the maximum of 0%',
      '- p99 latency 412 ms is above the budget of 300 ms',
      'Figures: 3 calls, 1 failed (error rate 33.33%); latency of the successful calls (nearest rank): ' +
        'p50 100 ms, p95 412 ms, p99 412 ms, max 412 ms; budget p99 300 ms',
      'First errors:',
      '- sample "b": ModelError (HTTP 424): boom',
    ]);
  });

  test('says n/a for latencies not measured, and cuts a long message', () => {
    const report = buildReport(SETTINGS, [{ sample: 'a', latencyMs: 1, problems: ['x'.repeat(3000)] }, { sample: 'b', latencyMs: 1, problems: ['y'.repeat(3000)] }]);
    const failed = buildReport(SETTINGS, [{ sample: 'a', latencyMs: 1, error: 'e' }]);

    expect(formatFailure(report).length).toBe(MAX_FAILURE_MESSAGE_LENGTH);
    expect(formatFailure(report)).toMatch(/\.\.\. \(cut; the whole report is the "report" of the error\)$/);
    expect(formatFailure(failed)).toContain('p50 n/a, p95 n/a, p99 n/a, max n/a; no latency budget');
  });
});

describe('describeCallError', () => {
  test('keeps the model error details', () => {
    const error = Object.assign(new Error('Received server error (500) from primary with message "boom".'), {
      name: 'ModelError',
      $metadata: { httpStatusCode: 424 },
      OriginalStatusCode: 500,
      OriginalMessage: 'boom',
      LogStreamArn: 'arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/Endpoints/fraud-staging',
    });

    expect(describeCallError(error)).toBe(
      'ModelError (HTTP 424): Received server error (500) from primary with message "boom". ' +
        '[original status 500; original message: boom; log stream: arn:aws:logs:eu-west-1:123456789012:log-group:/aws/sagemaker/Endpoints/fraud-staging]',
    );
  });

  test('names any other error and cuts a long message', () => {
    expect(describeCallError(Object.assign(new Error('down'), { name: 'ServiceUnavailable' }))).toBe('ServiceUnavailable: down');
    expect(describeCallError('a string')).toBe('a string');
    expect(describeCallError(new Error('z'.repeat(1000))).length).toBeLessThan(320);
  });
});

describe('parseEndpointTest', () => {
  const SAMPLE = { name: 'typical', body: { amount: 12.5 } };

  test('applies the defaults and prepares the requests', () => {
    const test_ = parseEndpointTest({ endpointName: 'fraud-staging', samples: [SAMPLE, { name: 'csv', body: '1,2,3', contentType: 'text/csv' }] });

    expect(test_).toEqual({
      endpointName: 'fraud-staging',
      samples: [
        { name: 'typical', payload: '{"amount":12.5}', contentType: 'application/json', accept: 'application/json' },
        { name: 'csv', payload: '1,2,3', contentType: 'text/csv', accept: 'text/csv' },
      ],
      invocations: 100,
      concurrency: 4,
      latencyBudget: {},
      timeoutMs: 10000,
      maxErrorRate: 0,
    });
  });

  test('takes every field given', () => {
    const expectation = { status: 'ok', jsonSchema: { type: 'object', required: ['score'] }, equals: { score: 1 } };
    const test_ = parseEndpointTest({
      endpointName: 'fraud-staging',
      samples: [{ ...SAMPLE, contentType: 'text/csv', body: '1', accept: 'application/json', expect: expectation }],
      invocations: 10000,
      concurrency: 50,
      latencyBudget: { p99Ms: 300, p50Ms: 20 },
      timeoutMs: 500,
      maxErrorRate: 0.01,
      targetVariant: 'candidate',
    });

    expect(test_).toEqual({
      endpointName: 'fraud-staging',
      samples: [{ name: 'typical', payload: '1', contentType: 'text/csv', accept: 'application/json', expect: expectation }],
      invocations: 10000,
      concurrency: 50,
      latencyBudget: { p50Ms: 20, p99Ms: 300 },
      timeoutMs: 500,
      maxErrorRate: 0.01,
      targetVariant: 'candidate',
    });
  });

  test('treats null optional fields as absent, and keeps a null body and a null to equal', () => {
    const test_ = parseEndpointTest({
      endpointName: 'fraud-staging',
      samples: [{ name: 'nothing', body: null, contentType: null, accept: null, expect: { equals: null } }],
      invocations: null,
      concurrency: null,
      latencyBudget: null,
      timeoutMs: null,
      maxErrorRate: null,
      targetVariant: null,
      executionName: 'ignored',
    });

    expect(test_).toEqual({
      endpointName: 'fraud-staging',
      samples: [{ name: 'nothing', payload: 'null', contentType: 'application/json', accept: 'application/json', expect: { equals: null } }],
      invocations: 100,
      concurrency: 4,
      latencyBudget: {},
      timeoutMs: 10000,
      maxErrorRate: 0,
    });
  });

  test('takes the endpoint name from the environment when the event has none', () => {
    const test_ = parseEndpointTest({ samples: [SAMPLE] }, { ENDPOINT_NAME: 'from-env' });

    expect(test_.endpointName).toBe('from-env');
    expect(test_.samples.map((s) => s.name)).toEqual(['typical']);
    expect(parseEndpointTest({ endpointName: 'from-event', samples: [{ ...SAMPLE, name: 'e' }] }, { ENDPOINT_NAME: 'from-env' })).toMatchObject({
      endpointName: 'from-event',
      samples: [{ name: 'e' }],
    });
  });

  test('fails with InvalidEndpointTest listing every problem', () => {
    // GIVEN an event wrong in every field
    const error = errorOf(() =>
      parseEndpointTest({
        endpointName: 'no_underscores',
        samples: [{ name: '', body: { a: 1 } }, { name: 'csv', body: { a: 1 }, contentType: 'text/csv' }, { name: 'nobody' }, 'x'],
        invocations: 0,
        concurrency: 51,
        latencyBudget: { p90Ms: 10, p99Ms: -1 },
        timeoutMs: 1.5,
        maxErrorRate: 2,
        targetVariant: '',
      }),
    );

    // THEN
    expect(error).toBeInstanceOf(EndpointTestError);
    expect(error.name).toBe('InvalidEndpointTest');
    for (const problem of [
      '"endpointName" is "no_underscores", not a SageMaker endpoint name',
      'samples[0].name is "", not a name',
      'samples[1].body is an object, not a string: with contentType "text/csv" it is sent as it is',
      'samples[2].body is missing',
      'samples[3] is "x", not an object',
      '"invocations" is 0, not an integer from 1 to 10000',
      '"concurrency" is 51, not an integer from 1 to 50',
      '"latencyBudget.p90Ms" is not a budget this test knows (p50Ms, p95Ms, p99Ms)',
      '"latencyBudget.p99Ms" is -1, not a number of milliseconds > 0',
      '"timeoutMs" is 1.5, not an integer from 1 to 900000',
      '"maxErrorRate" is 2, not a fraction from 0 to 1',
      '"targetVariant" is "", not the name of a production variant (1-63 letters, digits and hyphens)',
    ]) {
      expect(error.message).toContain(problem);
    }
  });

  test('names a missing endpoint name and missing samples', () => {
    const error = errorOf(() => parseEndpointTest({}, {}));

    expect(error.name).toBe('InvalidEndpointTest');
    expect(error.message).toContain('"endpointName" is missing and ENDPOINT_NAME is not set');
    expect(error.message).toContain('"samples" is missing');
  });

  test('refuses samples that are not an array, and a sample without a name', () => {
    expect(errorOf(() => parseEndpointTest({ endpointName: 'e', samples: { name: 'a' } })).message).toContain('"samples" is an object, not a non-empty array of samples');
    expect(errorOf(() => parseEndpointTest({ endpointName: 'e', samples: [{ body: 1 }] })).message).toContain('samples[0].name is missing, not a name');
  });

  test('refuses empty samples, duplicate names, and fewer invocations than samples', () => {
    expect(errorOf(() => parseEndpointTest({ endpointName: 'e', samples: [] })).message).toContain('"samples" is an array, not a non-empty array');
    const error = errorOf(() => parseEndpointTest({ endpointName: 'e', samples: [SAMPLE, SAMPLE, { ...SAMPLE, name: 'b' }], invocations: 2 }));
    expect(error.message).toContain('samples[1].name "typical" is used by another sample: names must be unique');
    expect(error.message).toContain('"invocations" is 2, fewer than the 3 samples');
  });

  test('refuses an expectation this test cannot check, naming where', () => {
    const error = errorOf(() =>
      parseEndpointTest({
        endpointName: 'e',
        samples: [
          {
            ...SAMPLE,
            expect: {
              status: 'error',
              schema: {},
              jsonSchema: {
                type: 'object',
                description: 'annotations are fine',
                properties: { score: { type: 'float', pattern: '^x' }, tags: { items: { minItems: -1 } } },
                required: 'score',
                enum: [],
                minimum: '0',
              },
            },
          },
        ],
      }),
    );

    for (const problem of [
      'samples[0].expect.schema is not an expectation this test knows (status, jsonSchema, equals)',
      'samples[0].expect.status is "error", not "ok"',
      'samples[0].expect.jsonSchema.properties.score uses "pattern", which this test does not check',
      'samples[0].expect.jsonSchema.properties.score.type is "float", not one of object, array, string, number, integer, boolean, null',
      'samples[0].expect.jsonSchema.properties.tags.items.minItems is -1, not an integer >= 0',
      'samples[0].expect.jsonSchema.required is "score", not an array of property names',
      'samples[0].expect.jsonSchema.enum is an array, not a non-empty array of values',
      'samples[0].expect.jsonSchema.minimum is "0", not a number',
    ]) {
      expect(error.message).toContain(problem);
    }
    expect(error.message).not.toContain('description');
  });

  test('refuses a budget, content types and expectations of the wrong kind', () => {
    const error = errorOf(() =>
      parseEndpointTest({
        endpointName: 'e',
        samples: [
          { name: 'a', body: 1, contentType: 5, expect: 'ok' },
          { name: 'b', body: 1, accept: ' ', expect: { jsonSchema: [] } },
        ],
        latencyBudget: 300,
      }),
    );

    for (const problem of [
      'samples[0].contentType is 5, not a content type like "application/json"',
      'samples[0].expect is "ok", not an object like { "jsonSchema": {...}, "equals": <JSON> }',
      'samples[1].accept is " ", not a content type',
      'samples[1].expect.jsonSchema is an array, not a JSON Schema object',
      '"latencyBudget" is 300, not an object like {"p95Ms": 300}',
    ]) {
      expect(error.message).toContain(problem);
    }
  });

  test('refuses an event that is not an object', () => {
    expect(errorOf(() => parseEndpointTest('fraud-staging')).message).toContain('the event is "fraud-staging", not an object');
  });
});
