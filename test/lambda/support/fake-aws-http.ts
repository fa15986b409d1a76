/**
 * A stand-in for the SDK's HTTP handler: the real SDK client runs its whole middleware stack (serialization, retry,
 * signing, deserialization) and only the network is replaced. aws-sdk-client-mock replaces `send` and with it the
 * retry middleware, so retries are tested here.
 */
import { Readable } from 'stream';
import type { HttpRequest, HttpResponse } from '@smithy/types';
import { ErrorResponse } from '../../fixtures/aws/sdk-retry';

/** A 200 with this JSON body. */
export interface JsonAnswer {
  readonly json: unknown;
}

/** The socket fails with this Node.js error code before any response. */
export interface ConnectionFailure {
  readonly code: string;
  readonly message: string;
}

export type Answer = JsonAnswer | ErrorResponse | ConnectionFailure;

export class FakeAwsHttp {
  public readonly requests: HttpRequest[] = [];
  private readonly answers: Answer[];

  /** The answers in order; the last one repeats. */
  constructor(...answers: Answer[]) {
    this.answers = answers;
  }

  public get attempts(): number {
    return this.requests.length;
  }

  /** The `X-Amz-Target` of each request (the operation of a JSON-protocol call). */
  public get targets(): string[] {
    return this.requests.map((r) => String(r.headers['x-amz-target'] ?? ''));
  }

  /** The JSON bodies sent. */
  public get bodies(): any[] {
    return this.requests.map((r) => JSON.parse(String(r.body ?? '{}')));
  }

  public async handle(request: HttpRequest): Promise<{ response: HttpResponse }> {
    this.requests.push(request);
    const answer = this.answers[Math.min(this.requests.length - 1, this.answers.length - 1)];
    if ('json' in answer) return { response: jsonResponse(200, answer.json) };
    if ('statusCode' in answer) return { response: jsonResponse(answer.statusCode, { __type: answer.code, message: answer.message }) };
    throw Object.assign(new Error(answer.message), { code: answer.code });
  }
}

function jsonResponse(statusCode: number, body: unknown): HttpResponse {
  return {
    statusCode,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': 'fake-request' },
    body: Readable.from([Buffer.from(JSON.stringify(body))]),
  };
}

/** What every test client needs besides the request handler: a region and (fake) credentials, so nothing is looked up. */
export function offline(requestHandler: FakeAwsHttp) {
  return { region: 'eu-west-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'example' }, requestHandler };
}
