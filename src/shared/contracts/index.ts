/**
 * The contracts: every message and answer that crosses a process boundary, as a zod schema and
 * the type inferred from it. Server code decodes with these at its edges; the web page imports
 * the types only. One file per contract:
 *   accepted-job    the `202` body of `POST /upload` (api → clients)
 *   job-message     the `watermark_retry` body and its headers (api → worker)
 *   job-event       a `watermark.events` notification (api, worker → every api replica)
 *   failure-record  `failed/<hash>.json` in the object store (worker → api)
 *   job-status      the `/status/{hash}` answer and `/events/{hash}` payload (api → web page)
 *   optimizer-settings  the optimizer's `/settings` answer (optimizer → api)
 *   watermark-settings  the effective settings of a result (api → optimizer, api → worker in the job)
 *   presets-view    the `/presets` answer (api → web page and clients)
 *   problems        the catalogue of problem types every error answer is one of (services → clients)
 */
export * from './accepted-job.js';
export * from './decode.js';
export * from './failure-record.js';
export * from './job-event.js';
export * from './job-message.js';
export * from './job-status.js';
export * from './optimizer-settings.js';
export * from './presets-view.js';
export * from './problems.js';
export * from './watermark-settings.js';
