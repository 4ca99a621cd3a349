/** What the page checks of a JSON value before it trusts the rest of it as the contract's type. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
