/**
 * What an operator reads of a failure: one line of text from whatever was thrown. A `catch`
 * receives `unknown` (a library may reject with a string, a plain object or nothing at all), so
 * reading `.message` off it unchecked can log `undefined`, or throw inside the handler itself.
 */

/**
 * The message of an Error; a string as it is; the `message` of an object that has a string one;
 * anything else as `String()` gives it. An AggregateError with no message of its own (Node's
 * connection attempts to several addresses of one host) gives the messages it aggregates.
 */
export function errorMessage(err: unknown): string {
  if (err instanceof AggregateError && err.message === '' && err.errors.length > 0) {
    return err.errors.map(errorMessage).join('; ');
  }
  if (err instanceof Error) return err.message;
  if (typeof err === 'string') return err;
  if (typeof err === 'object' && err !== null && 'message' in err && typeof err.message === 'string') return err.message;
  return String(err);
}
