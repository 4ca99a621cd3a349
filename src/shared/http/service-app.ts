/**
 * The express skeleton every service shares: request-duration metric labelled by route template,
 * /healthz (the process answers), /readyz (its dependencies answer), /metrics, problem+json errors,
 * and `serve`, which listens and gives the service its RunningService: readiness false first on stop.
 */
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { RunningService } from '../lifecycle.js';
import type { Logger } from '../logger.js';
import { httpMetrics } from '../metrics.js';
import { PROBLEMS } from '../contracts/problems.js';
import type { LingerBounds } from './lingering-close.js';
import { DEFAULT_LINGER, HttpProblem, sendProblem } from './problem.js';

export type ReadinessCheck = () => Promise<Record<string, boolean>>;

export interface ServiceAppOptions {
  service: string;
  registry: Registry;
  logger: Logger;
  /** Dependencies to report on /readyz; all must be true for 200. */
  readiness?: ReadinessCheck;
  /** How much of a body left unread after an early problem is discarded before the connection is cut. */
  linger?: LingerBounds;
}

/** A service that listens: its /metrics serve its registry. */
export type ServingService = RunningService & { registry: Registry };

export interface ServiceApp {
  app: Express;
  /** Turns /readyz false at once, before shutdown drains the rest. */
  markNotReady: () => void;
  /**
   * After the service's own routes: installs the 404 fallback and the error handler, listens, and
   * answers the RunningService. Its stop() turns readiness false, then runs `release` (drain the
   * server it is given, close connections), so no service can get that order wrong.
   */
  serve(port: number, host: string, release: (server: RunningServer) => Promise<void>): Promise<ServingService>;
}

export function createServiceApp({ service, registry, logger, readiness, linger = DEFAULT_LINGER }: ServiceAppOptions): ServiceApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  const { requestDuration } = httpMetrics(registry);
  let ready = true;

  app.use((req, res, next) => {
    const end = requestDuration.startTimer();
    res.once('close', () => {
      // The route template (never the raw path) keeps label cardinality bounded.
      const routePath = (req.route as { path?: unknown } | undefined)?.path;
      const route = typeof routePath === 'string' ? `${req.baseUrl}${routePath}` : 'unmatched';
      end({ service, method: req.method, route, status_code: String(res.statusCode) });
    });
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', async (_req, res) => {
    const checks = readiness ? await readiness().catch(() => ({ checks: false })) : {};
    const ok = ready && Object.values(checks).every(Boolean);
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', shuttingDown: !ready, checks });
  });

  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  const markNotReady = () => {
    ready = false;
  };

  return {
    app,
    markNotReady,
    serve: async (port, host, release) => {
      installFallbacks(app, logger, linger);
      const server = await listen(app, port, host);
      return {
        url: server.url,
        port: server.port,
        registry,
        stop: async () => {
          markNotReady();
          await release(server);
        },
      };
    },
  };
}

/** The 404 fallback and the error handler, installed after every route the service mounts. */
function installFallbacks(app: Express, logger: Logger, linger: LingerBounds): void {
  app.use((req, _res, next) => {
    next(new HttpProblem(PROBLEMS.notFound, `No route for ${req.method} ${req.path.slice(0, 200)}`));
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (err instanceof HttpProblem) {
      sendProblem(res, err, linger);
      return;
    }
    // Express reports a request it refused itself with a 4xx status: a malformed percent-encoding
    // in the path is a 400. (No body parser is mounted, and express.static falls through.)
    const status = typeof err === 'object' && err !== null && 'status' in err ? Number(err.status) : 500;
    if (status >= 400 && status < 500) {
      sendProblem(res, new HttpProblem(PROBLEMS.badRequest, err instanceof Error ? err.message : 'Bad request'), linger);
      return;
    }
    logger.error({ err }, 'unhandled error');
    sendProblem(res, new HttpProblem(PROBLEMS.internal, 'The server failed to handle the request'));
  });
}

export interface RunningServer {
  server: Server;
  port: number;
  url: string;
  /** Stops accepting, lets in-flight requests finish within graceMs, then cuts what is left. */
  close(graceMs: number): Promise<void>;
}

function listen(app: Express, port: number, host: string): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    const server = app.listen(port, host);
    server.once('error', reject);
    server.once('listening', () => {
      const actual = (server.address() as AddressInfo).port;
      const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
      resolve({
        server,
        port: actual,
        url: `http://${shownHost}:${actual}`,
        close: (graceMs) =>
          new Promise<void>((done) => {
            const force = setTimeout(() => server.closeAllConnections(), graceMs);
            force.unref();
            server.close(() => {
              clearTimeout(force);
              done();
            });
            server.closeIdleConnections();
          }),
      });
    });
  });
}
