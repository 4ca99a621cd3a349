/**
 * The api's response headers for browsers: security headers by helmet on every answer (the page
 * and the api), and CORS by the cors package, off unless CORS_ORIGINS names origins. Both are kept
 * libraries, so the header grammar and the preflight rules are theirs, not ours.
 */
import cors from 'cors';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

/**
 * The page loads only its own hashed script and stylesheet; images are its own results, the
 * previews it makes with `URL.createObjectURL` (blob:) and the inline SVG favicon (data:).
 * HSTS is left to whatever terminates TLS in front of the api: on plain HTTP it means nothing.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    // Results are meant to be embedded by other sites (<img src=…/image/…>): same-origin would block that.
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
    xFrameOptions: { action: 'deny' },
  });
}

/** What a browser script on an allowed origin may read of an answer besides the CORS-safelisted headers. */
const EXPOSED_HEADERS = [
  'X-Image-Hash',
  'X-Result-Id',
  'X-Watermark-Settings',
  'X-Cache',
  'X-Correlation-Id',
  'Location',
  'Content-Location',
  'Retry-After',
  'WWW-Authenticate',
  'ETag',
  'RateLimit',
  'RateLimit-Policy',
  'Vary',
];

/** CORS for the named origins only (`*` for any); undefined when none is named: CORS stays off. */
export function corsFor(origins: readonly string[]): RequestHandler | undefined {
  if (origins.length === 0) return undefined;
  return cors({
    origin: origins.includes('*') ? '*' : [...origins],
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'If-None-Match'],
    exposedHeaders: EXPOSED_HEADERS,
    maxAge: 600,
  });
}
