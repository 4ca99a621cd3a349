/**
 * RFC 9457 problem details. Every 4xx/5xx a service returns goes through `sendProblem`, so clients
 * see one shape: type, title, status, detail (and optional extension members). The types
 * themselves are the catalogue's (contracts/problems.ts): a problem cannot be answered without one.
 */
import type { Response } from 'express';
import type { ProblemDocument, ProblemStatus, ProblemType } from '../contracts/problems.js';
import { lingerOnUnreadBody, type LingerBounds } from './lingering-close.js';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export interface ProblemOptions {
  /** Extension members of the document (e.g. `maxBytes` of a 413). */
  extensions?: Record<string, unknown>;
  /** Response headers the problem needs, e.g. the `WWW-Authenticate` challenge of a 401. */
  headers?: Record<string, string>;
  /** Sent as `Retry-After`: when a 503 is worth trying again. */
  retryAfterSeconds?: number;
  /**
   * The request body was left unread on purpose: the answer came before it (a 401 before the
   * upload, a 413 in the middle of it; multipart.ts, `unreadBody: 'linger'`). Unless it has arrived
   * whole by then, the rest is discarded within bounds after the answer (lingering-close.ts).
   */
  bodyLeftUnread?: boolean;
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

  /** The same problem, answered before the request's body was read. */
  leavingBodyUnread(): HttpProblem {
    return new HttpProblem(this.type, this.message, { ...this.options, bodyLeftUnread: true });
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

/** How long the body left unread after a problem is read and discarded, unless the service says. */
export const DEFAULT_LINGER: LingerBounds = { maxBytes: 64 * 1024 * 1024, maxMs: 5_000 };

export function sendProblem(res: Response, problem: HttpProblem, linger: LingerBounds = DEFAULT_LINGER): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const { retryAfterSeconds, bodyLeftUnread, headers } = problem.options;
  if (headers) res.set(headers);
  if (retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(retryAfterSeconds));
  res.status(problem.status).type(PROBLEM_CONTENT_TYPE).send(JSON.stringify(problem.toProblem()));
  if (bodyLeftUnread) lingerOnUnreadBody(res.req, linger);
}
