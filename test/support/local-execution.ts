/**
 * Runs a synthesized state machine definition in aws-local-stepfunctions, a real Amazon States Language
 * interpreter, with Task states replaced by local functions (by state name) and every call recorded.
 */
import aslValidator from 'asl-validator';

// The package's types are ESM-only; its CommonJS build is what runs here.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { StateMachine } = require('aws-local-stepfunctions');

export type TaskHandler = (input: any) => Promise<any>;

export interface LocalRunOptions {
  /** The Context Object's execution: `$$.Execution.Id` and `.Name`. */
  readonly executionId: string;
  readonly executionName: string;
  /** Wait states' durations in milliseconds, by state name (0 makes polling loops instant). */
  readonly waitTimeOverrides?: Record<string, number>;
  /** Retry intervals in milliseconds, by state name. */
  readonly retryIntervalOverrides?: Record<string, number>;
  /** The Context Object's `$$.State` (the interpreter sets none): e.g. `{ EnteredTime }`. */
  readonly state?: Record<string, unknown>;
}

export interface LocalRun {
  /** The execution's output, when it succeeded. */
  readonly output: any;
  /** The effective input of each overridden Task, by state name, in call order. */
  readonly calls: Record<string, any[]>;
  /** The state's error (a Fail state's Error and Cause) when the execution failed. */
  readonly error: any;
}

export async function runLocally(
  definition: unknown,
  input: unknown,
  handlers: Record<string, TaskHandler>,
  options: LocalRunOptions,
): Promise<LocalRun> {
  const calls: Record<string, any[]> = {};
  const taskResourceLocalHandlers: Record<string, TaskHandler> = {};
  for (const [state, fn] of Object.entries(handlers)) {
    taskResourceLocalHandlers[state] = async (payload) => {
      (calls[state] ??= []).push(payload);
      return fn(payload);
    };
  }
  const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const execution = machine.run(input, {
    overrides: {
      taskResourceLocalHandlers,
      waitTimeOverrides: options.waitTimeOverrides,
      retryIntervalOverrides: options.retryIntervalOverrides,
    },
    context: {
      Execution: { Id: options.executionId, Name: options.executionName, Input: input, StartTime: '2026-11-23T10:00:00Z' },
      ...(options.state ? { State: options.state } : {}),
    },
  });
  try {
    return { output: await execution.result, calls, error: undefined };
  } catch (error) {
    // The interpreter wraps the state's error in an ExecutionError.
    return { output: undefined, calls, error: (error as any).cause ?? error };
  }
}

/** The asl-validator verdict: '' when the definition is valid Amazon States Language. */
export function aslErrors(definition: unknown): string {
  const result = aslValidator(definition);
  return result.isValid ? '' : result.errorsText();
}
