/**
 * The part of EventBridge event pattern matching the library's rules use, as "Content filtering in Amazon
 * EventBridge event patterns" (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns-content-based-filtering.html)
 * and "Creating event patterns" define it: every field of the pattern must be in the event; a list of values
 * matches if any matches (exact value, or `{ "prefix": ... }`); nested objects match field by field. Any other
 * operator throws, so that a rule using one is not silently taken as matching.
 */
export function matchesPattern(pattern: any, event: any): boolean {
  return Object.entries(pattern).every(([key, expected]) => {
    if (!(key in (event ?? {}))) return false;
    const actual = event[key];
    if (Array.isArray(expected)) return expected.some((e) => matchesValue(e, actual));
    return matchesPattern(expected, actual);
  });
}

function matchesValue(expected: any, actual: any): boolean {
  if (expected !== null && typeof expected === 'object' && !isToken(expected)) {
    const [operator, ...rest] = Object.keys(expected);
    if (operator === 'prefix' && rest.length === 0) return typeof actual === 'string' && actual.startsWith(expected.prefix);
    throw new Error(`matchesPattern: operator ${JSON.stringify(expected)} is not supported here`);
  }
  return JSON.stringify(expected) === JSON.stringify(actual);
}

/** A CloudFormation reference (`{ Ref }`, `{ Fn::GetAtt }`) compared as a value. */
function isToken(value: object): boolean {
  return Object.keys(value).some((k) => k === 'Ref' || k.startsWith('Fn::'));
}
