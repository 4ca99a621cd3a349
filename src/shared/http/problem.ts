/**
 * RFC 9457 problem details. Every 4xx/5xx a service returns goes through `sendProblem`, so clients
 * see one shape: type, title, status, detail (and optional extension members). The types
 * themselves are the catalogue's (contracts/problems.ts): a problem cannot be answered without one.
 */
import type { Response } from 'express';
import type { ProblemDocument, ProblemStatus, ProblemType } from '../contracts/problems.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemOptions {
  /** Extension members of the document (e.g. `maxBytes` of a 413). */
  extensions?: Record<string, unknown>;
  /** Response headers the problem needs, e.g. the `WWW-Authenticate` challenge of a 401. */
  headers?: Record<string, string>;
  /** Sent as `Retry-After`: when a 503 is worth trying again. */
  retryAfterSeconds?: number;
  /**
   * The request body was left unread on purpose (multipart.ts, `unreadBody: 'close'`): unless it
   * has arrived whole by the time we answer, the connection is closed after the answer instead of
   * reading the rest of what a possibly hostile sender sends.
   */
  closeConnection?: boolean;
}

/** A typed error that maps to one problem response; thrown by handlers, rendered by the error middleware. */
export class HttpProblem extends Error {
  constructor(
    readonly type: ProblemType,
    detail: string,
    readonly options: ProblemOptions = {},
  ) {
    super(detail);
    this.name = 'HttpProblem';
  }

  get status(): ProblemStatus {
    return this.type.status;
  }

  /** The same problem, answered on a connection that is then closed. */
  closingConnection(): HttpProblem {
    return new HttpProblem(this.type, this.message, { ...this.options, closeConnection: true });
  }

  toProblem(): ProblemDocument {
    return {
      type: this.type.uri,
      title: this.type.title,
      status: this.type.status,
      detail: this.message,
      ...this.options.extensions,
    };
  }
}

export function sendProblem(res: Response, problem: HttpProblem): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { retryAfterSeconds, closeConnection, headers } = problem.options;
  if (headers) res.set(headers);
  if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
  if (closeConnection && !res.req.complete) res.setHeader('Connection', 'close');
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem.toProblem()));
}
