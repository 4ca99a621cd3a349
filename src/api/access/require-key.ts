/**
 * The api's door: when keys are configured, a request to a protected route needs
 * `Authorization: Bearer <secret>` of a known key (RFC 6750). The key found is left on
 * `res.locals.apiKey` for the routes; its id, never the secret, reaches the logs and metrics.
 */
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Counter } from 'prom-client';
import { PROBLEMS } from '../../shared/contracts/problems.js';
import { HttpProblem } from '../../shared/http/problem.js';
import type { Logger } from '../../shared/logger.js';
import { bearerToken, findKey, type ApiKey } from './api-keys.js';
import { checkSignedUrl } from './signed-url.js';

export const REALM = 'nws-watermark';

export interface AccessMetrics {
  authenticated: Counter<'key'>;
  refused: Counter<'reason'>;
}

export interface Locals {
  apiKey?: ApiKey;
  /** The request came with a valid signed URL: it needs no key. */
  signedUrl?: boolean;
}

/** The key that authenticated this request, when keys are configured. */
export function requestKey(res: Response): ApiKey | undefined {
  return (res.locals as Locals).apiKey;
}

export function requireKey(keys: readonly ApiKey[], metrics: AccessMetrics, logger: Logger): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    if ((res.locals as Locals).signedUrl === true) {
      next();
      return;
    }
    const header = req.headers.authorization;
    const token = bearerToken(header);
    const key = token === undefined ? undefined : findKey(keys, token);
    if (key) {
      (res.locals as Locals).apiKey = key;
      metrics.authenticated.inc({ key: key.id });
      next();
      return;
    }
    const reason = header === undefined ? 'missing' : token === undefined ? 'malformed' : 'unknown';
    metrics.refused.inc({ reason });
    logger.warn({ reason, method: req.method, path: req.path.slice(0, 200), client: req.ip }, 'request refused: no valid API key');
    // RFC 6750 section 3.1: no error code when no credentials came, invalid_token for a wrong one.
    const challenge = reason === 'missing' ? `Bearer realm="${REALM}"` : `Bearer realm="${REALM}", error="invalid_token"`;
    const detail =
      reason === 'missing'
        ? 'This api requires an API key: send it as "Authorization: Bearer <key>"'
        : reason === 'malformed'
          ? 'The Authorization header must be "Bearer <key>"'
          : 'The API key is not known';
    // An upload's body may still be arriving: answer, then close rather than read it.
    next(new HttpProblem(PROBLEMS.unauthorized, detail, { headers: { 'WWW-Authenticate': challenge }, bodyLeftUnread: true }));
  };
}

/** 403: the key is valid but may not use this preset. */
export function presetRefused(key: ApiKey, preset: string): HttpProblem {
  return new HttpProblem(PROBLEMS.presetNotAllowed, `The API key "${key.id}" may not use the preset "${preset}"`, {
    extensions: { preset, allowedPresets: key.presets ?? [] },
  });
}

/**
 * `GET /image/{hash}?expires=…&sig=…`: a valid signature lets the request in without a key; an
 * expired or forged one is refused (403) even on an open api, since it was meant to be checked.
 * Without either parameter the request goes on to the key check, if any.
 */
export function acceptSignedUrl(signingKeys: readonly string[], now: () => number = () => Date.now()): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const hash = typeof req.params.id === 'string' ? req.params.id : '';
    const check = checkSignedUrl(hash, req.query, signingKeys, Math.floor(now() / 1000));
    if (check === 'valid') (res.locals as Locals).signedUrl = true;
    if (check === 'expired') throw new HttpProblem(PROBLEMS.signedUrlExpired, 'This signed URL has expired: ask the api for the status again to get a new one');
    if (check === 'forged') throw new HttpProblem(PROBLEMS.badSignature, 'The signature of this URL is not valid for this image');
    next();
  };
}
