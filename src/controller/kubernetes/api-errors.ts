import { errorMessage } from '../../shared/errors.js';

/** The HTTP status of an error thrown by @kubernetes/client-node (ApiException.code, or a watch's statusCode). */
export function statusCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const record = err as { code?: unknown; statusCode?: unknown };
  if (typeof record.code === 'number') return record.code;
  if (typeof record.statusCode === 'number') return record.statusCode;
  return undefined;
}

/** A short message: the API server's Status message when there is one. */
export function apiMessage(err: unknown): string {
  if (typeof err === 'object' && err !== null && 'body' in err) {
    const body = err.body;
    try {
      const parsed = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | null | undefined;
      if (typeof parsed?.message === 'string') return parsed.message;
    } catch {
      // not JSON: fall through to the error's own message
    }
  }
  return errorMessage(err).slice(0, 300);
}
