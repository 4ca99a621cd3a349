/**
 * An in-process stand-in of the Kubernetes API server, limited to what the controller calls and
 * strict about it, as the real one is: bearer token, verbs, paths, content types (JSON for
 * create/update; for PATCH merge or JSON Patch, no strategic merge on custom resources),
 * resourceVersion preconditions (409), updates without resourceVersion (422), Lease times in
 * RFC 3339 with microseconds, Event namespaces, the CRD's defaults and validation on QueueScalers,
 * status writes only through the status subresource, list + watch with resourceVersion and 410.
 * The CRD it serves is the chart's (charts/nws-watermark/crds/queuescaler.yaml).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse } from 'yaml';

type Json = Record<string, unknown>;

/** The workloads with a /scale subresource the controller may target, and their store keys. */
export type WorkloadResource = 'deployments' | 'statefulsets';
const WORKLOAD_KEYS: Record<WorkloadResource, string> = { deployments: 'deploy', statefulsets: 'sts' };
interface Schema {
  type?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  required?: string[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  maxItems?: number;
  minLength?: number;
  enum?: unknown[];
  'x-kubernetes-validations'?: { rule: string; message: string }[];
}

export interface LoggedRequest {
  method: string;
  path: string;
  query: string;
  contentType: string | undefined;
  user: string;
  status: number;
  body?: unknown;
}

class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;
const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

export class ApiServerStandIn {
  readonly requests: LoggedRequest[] = [];
  /** "verb resource namespace" entries the caller is not allowed, e.g. "patch deployments/scale team-b". */
  readonly forbidden = new Set<string>();
  private server: Server | undefined;
  private rv = 100;
  private readonly objects = new Map<string, Json>(); // key: kind/ns/name
  private readonly history: { rv: number; type: string; object: Json }[] = [];
  private readonly watches = new Set<{ res: ServerResponse; namespace: string | undefined }>();
  private readonly failures: { method: string; path: RegExp; code: number; remaining: number }[] = [];
  private readonly beforeScalePatch: (() => void)[] = [];
  readonly crd: Json;
  private readonly group: string;
  private readonly version: string;
  private readonly plural: string;
  private readonly specSchema: Schema;
  private readonly statusSchema: Schema;
  port = 0;

  constructor(
    crdPath: string,
    private readonly tokens: Record<string, string>,
  ) {
    this.crd = parse(readFileSync(crdPath, 'utf8')) as Json;
    const spec = this.crd.spec as Json;
    const version = (spec.versions as Json[])[0]!;
    if (!(version.subresources as Json | undefined)?.status) throw new Error('the CRD has no status subresource');
    this.group = spec.group as string;
    this.version = version.name as string;
    this.plural = (spec.names as Json).plural as string;
    const root = (version.schema as Json).openAPIV3Schema as Schema;
    this.specSchema = root.properties!.spec!;
    this.statusSchema = root.properties!.status!;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const w of this.watches) w.res.destroy();
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }

  kubeconfig(user: string): string {
    return [
      'apiVersion: v1',
      'kind: Config',
      // The client refuses plain HTTP unless TLS verification is off; a real cluster is HTTPS.
      'clusters: [{name: stand-in, cluster: {server: "' + this.url + '", insecure-skip-tls-verify: true}}]',
      `users: [{name: ${user}, user: {token: "${this.tokens[user]}"}}]`,
      `contexts: [{name: stand-in, context: {cluster: stand-in, user: ${user}}}]`,
      'current-context: stand-in',
      '',
    ].join('\n');
  }

  // ---- test controls -------------------------------------------------------------------------

  /** Creates a QueueScaler as `kubectl apply` would: CRD defaults applied, validation enforced. */
  createScaler(namespace: string, name: string, spec: Json, annotations?: Record<string, string>): Json {
    const defaulted = applyDefaults(this.specSchema, structuredClone(spec)) as Json;
    const problems = validate(this.specSchema, defaulted, 'spec');
    if (problems.length) throw new ApiError(422, 'Invalid', problems.join('; '));
    const object: Json = {
      apiVersion: `${this.group}/${this.version}`,
      kind: 'QueueScaler',
      metadata: { name, namespace, uid: randomUUID(), generation: 1, creationTimestamp: new Date().toISOString(), ...(annotations ? { annotations } : {}) },
      spec: defaulted,
    };
    this.store('ADDED', `qs/${namespace}/${name}`, object);
    return object;
  }

  updateScalerSpec(namespace: string, name: string, change: Json): void {
    const current = structuredClone(this.mustGet(`qs/${namespace}/${name}`));
    const spec = applyDefaults(this.specSchema, { ...(current.spec as Json), ...change }) as Json;
    const problems = validate(this.specSchema, spec, 'spec');
    if (problems.length) throw new ApiError(422, 'Invalid', problems.join('; '));
    const meta = current.metadata as Json;
    meta.generation = (meta.generation as number) + 1;
    this.store('MODIFIED', `qs/${namespace}/${name}`, { ...current, spec });
  }

  /** `kubectl annotate`: metadata only, so the generation stays (null removes an annotation). */
  annotateScaler(namespace: string, name: string, annotations: Record<string, string | null>): void {
    const current = structuredClone(this.mustGet(`qs/${namespace}/${name}`));
    const meta = current.metadata as Json;
    meta.annotations = mergePatch(meta.annotations ?? {}, annotations);
    this.store('MODIFIED', `qs/${namespace}/${name}`, current);
  }

  scaler(namespace: string, name: string): Json | undefined {
    return this.objects.get(`qs/${namespace}/${name}`);
  }

  createDeployment(namespace: string, name: string, replicas: number): void {
    this.store(undefined, `deploy/${namespace}/${name}`, { metadata: { name, namespace }, spec: { replicas } });
  }

  createStatefulSet(namespace: string, name: string, replicas: number): void {
    this.store(undefined, `sts/${namespace}/${name}`, { metadata: { name, namespace }, spec: { replicas } });
  }

  replicas(namespace: string, name: string, resource: WorkloadResource = 'deployments'): number | undefined {
    return (this.objects.get(`${WORKLOAD_KEYS[resource]}/${namespace}/${name}`)?.spec as Json | undefined)?.replicas as number | undefined;
  }

  /** Someone else writes the Deployment right before the next /scale patch arrives. */
  interleaveWriteBeforeNextScalePatch(namespace: string, name: string): void {
    this.beforeScalePatch.push(() => {
      const d = structuredClone(this.mustGet(`deploy/${namespace}/${name}`));
      this.store(undefined, `deploy/${namespace}/${name}`, d);
    });
  }

  /** The next `count` requests matching answer `code` (an API server restarting, a proxy failing). */
  failNext(method: string, path: RegExp, code: number, count: number): void {
    this.failures.push({ method, path, code, remaining: count });
  }

  /** Cuts every open watch, as an API server restart does. */
  breakWatches(): void {
    for (const w of this.watches) w.res.destroy();
    this.watches.clear();
  }

  lease(namespace: string, name: string): Json | undefined {
    return this.objects.get(`lease/${namespace}/${name}`);
  }

  events(namespace: string): Json[] {
    return [...this.objects.entries()].filter(([k]) => k.startsWith(`event/${namespace}/`)).map(([, v]) => v);
  }

  // ---- serving ---------------------------------------------------------------------------------

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', this.url);
    const entry: LoggedRequest = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: url.search,
      contentType: req.headers['content-type']?.split(';')[0],
      user: '?',
      status: 0,
    };
    this.requests.push(entry);
    try {
      const token = req.headers.authorization?.replace(/^Bearer /, '');
      const user = Object.entries(this.tokens).find(([, t]) => t === token)?.[0];
      if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      entry.user = user;
      const failure = this.failures.find((f) => f.remaining > 0 && f.method === entry.method && f.path.test(url.pathname));
      if (failure) {
        failure.remaining -= 1;
        throw new ApiError(failure.code, 'InternalError', 'injected failure');
      }
      const raw = await readBody(req);
      const body = raw.length ? this.decode(entry, raw) : undefined;
      entry.body = body;
      const result = this.route(entry, url, body, res);
      if (result === 'streaming') return;
      entry.status = result.code;
      send(res, result.code, result.body);
    } catch (err) {
      const e = err instanceof ApiError ? err : new ApiError(500, 'InternalError', String(err));
      entry.status = e.code;
      send(res, e.code, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: e.message, reason: e.reason, code: e.code });
    }
  }

  private decode(entry: LoggedRequest, raw: Buffer): unknown {
    const json = ['application/json', 'application/merge-patch+json', 'application/json-patch+json', 'application/strategic-merge-patch+json'];
    if (!entry.contentType || !json.includes(entry.contentType))
      throw new ApiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${json.join(', ')}`);
    if (entry.method === 'PATCH' && entry.contentType === 'application/json') throw new ApiError(415, 'UnsupportedMediaType', 'PATCH needs a patch media type');
    if (entry.method !== 'PATCH' && entry.contentType !== 'application/json')
      throw new ApiError(415, 'UnsupportedMediaType', `${entry.method} needs application/json`);
    try {
      return JSON.parse(raw.toString('utf8'));
    } catch {
      throw new ApiError(400, 'BadRequest', 'the body is not JSON');
    }
  }

  private route(entry: LoggedRequest, url: URL, body: unknown, res: ServerResponse): { code: number; body: unknown } | 'streaming' {
    const p = url.pathname;
    const m = entry.method;
    const gv = `/apis/${this.group}/${this.version}`;
    let match: RegExpMatchArray | null;

    if ((match = new RegExp(`^${gv}(?:/namespaces/([^/]+))?/${this.plural}$`).exec(p))) {
      const namespace = match[1];
      this.authorize(entry, m === 'GET' ? (url.searchParams.get('watch') ? 'watch' : 'list') : m.toLowerCase(), this.plural, namespace ?? '*');
      if (m !== 'GET') throw new ApiError(405, 'MethodNotAllowed', `${m} is not allowed here in this stand-in`);
      if (url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1') return this.watch(url, namespace, res);
      const items = [...this.objects.entries()].filter(([k]) => k.startsWith(namespace ? `qs/${namespace}/` : 'qs/')).map(([, v]) => v);
      return {
        code: 200,
        body: { apiVersion: `${this.group}/${this.version}`, kind: 'QueueScalerList', metadata: { resourceVersion: String(this.rv) }, items },
      };
    }
    if ((match = new RegExp(`^${gv}/namespaces/([^/]+)/${this.plural}/([^/]+)(/status)?$`).exec(p))) {
      const [, namespace, name, status] = match as unknown as [string, string, string, string | undefined];
      const key = `qs/${namespace}/${name}`;
      if (m === 'GET') return { code: 200, body: this.mustGet(key) };
      if (m !== 'PATCH' || !status) throw new ApiError(405, 'MethodNotAllowed', `${m} ${p} is not served by this stand-in`);
      this.authorize(entry, 'patch', `${this.plural}/status`, namespace);
      if (entry.contentType === 'application/strategic-merge-patch+json') {
        throw new ApiError(415, 'UnsupportedMediaType', 'strategic merge patch is not supported for custom resources');
      }
      const current = this.mustGet(key);
      const patched = this.applyPatch(entry.contentType!, current, body);
      this.checkPrecondition(current, body);
      // The status subresource ignores everything but status.
      const next = { ...structuredClone(current), status: (patched as Json).status };
      const problems = validate(this.statusSchema, next.status ?? {}, 'status');
      if (problems.length) throw new ApiError(422, 'Invalid', problems.join('; '));
      return { code: 200, body: this.store('MODIFIED', key, next) };
    }
    if ((match = /^\/apis\/apps\/v1\/namespaces\/([^/]+)\/(deployments|statefulsets)\/([^/]+)\/scale$/.exec(p))) {
      const [, namespace, resource, name] = match as unknown as [string, string, WorkloadResource, string];
      const key = `${WORKLOAD_KEYS[resource]}/${namespace}/${name}`;
      if (m !== 'GET' && m !== 'PATCH') throw new ApiError(405, 'MethodNotAllowed', `${m} is not served by this stand-in`);
      this.authorize(entry, m === 'GET' ? 'get' : 'patch', `${resource}/scale`, namespace);
      const deployment = this.objects.get(key);
      if (!deployment) throw new ApiError(404, 'NotFound', `${resource}.apps "${name}" not found`);
      if (m === 'GET') return { code: 200, body: scaleOf(deployment) };
      this.beforeScalePatch.shift()?.();
      const current = this.mustGet(key);
      const scale = scaleOf(current);
      const patched = this.applyPatch(entry.contentType!, scale, body) as Json;
      this.checkPrecondition(current, body);
      const replicas = (patched.spec as Json | undefined)?.replicas;
      if (!Number.isInteger(replicas) || (replicas as number) < 0)
        throw new ApiError(422, 'Invalid', `spec.replicas: Invalid value: ${JSON.stringify(replicas)}`);
      const stored = this.store(undefined, key, { ...current, spec: { replicas } });
      return { code: 200, body: scaleOf(stored) };
    }
    if ((match = /^\/apis\/coordination\.k8s\.io\/v1\/namespaces\/([^/]+)\/leases(?:\/([^/]+))?$/.exec(p))) {
      const [, namespace, name] = match as unknown as [string, string, string | undefined];
      if (!name && m === 'POST') {
        this.authorize(entry, 'create', 'leases', namespace);
        const lease = body as Json;
        const leaseName = (lease.metadata as Json | undefined)?.name as string | undefined;
        if (!leaseName) throw new ApiError(422, 'Invalid', 'metadata.name: Required value');
        this.checkLease(lease);
        if (this.objects.has(`lease/${namespace}/${leaseName}`))
          throw new ApiError(409, 'AlreadyExists', `leases.coordination.k8s.io "${leaseName}" already exists`);
        return {
          code: 201,
          body: this.store(undefined, `lease/${namespace}/${leaseName}`, { ...lease, metadata: { ...(lease.metadata as Json), namespace } }),
        };
      }
      if (!name) throw new ApiError(405, 'MethodNotAllowed', `${m} is not served by this stand-in`);
      const key = `lease/${namespace}/${name}`;
      if (m === 'GET') {
        this.authorize(entry, 'get', 'leases', namespace);
        const lease = this.objects.get(key);
        if (!lease) throw new ApiError(404, 'NotFound', `leases.coordination.k8s.io "${name}" not found`);
        return { code: 200, body: lease };
      }
      if (m === 'PUT') {
        this.authorize(entry, 'update', 'leases', namespace);
        const lease = body as Json;
        const rv = (lease.metadata as Json | undefined)?.resourceVersion;
        if (!rv) throw new ApiError(422, 'Invalid', 'metadata.resourceVersion: Invalid value: 0x0: must be specified for an update');
        const current = this.mustGet(key);
        if (rv !== (current.metadata as Json).resourceVersion) throw conflict('leases.coordination.k8s.io', name);
        this.checkLease(lease);
        return { code: 200, body: this.store(undefined, key, lease) };
      }
      throw new ApiError(405, 'MethodNotAllowed', `${m} is not served by this stand-in`);
    }
    if ((match = /^\/api\/v1\/namespaces\/([^/]+)\/events$/.exec(p))) {
      const namespace = match[1]!;
      if (m !== 'POST') throw new ApiError(405, 'MethodNotAllowed', `${m} is not served by this stand-in`);
      this.authorize(entry, 'create', 'events', namespace);
      const event = body as Json;
      const meta = (event.metadata ?? {}) as Json;
      if (meta.namespace !== undefined && meta.namespace !== namespace)
        throw new ApiError(400, 'BadRequest', 'the namespace of the provided object does not match the namespace sent on the request');
      if (!meta.name) throw new ApiError(422, 'Invalid', 'metadata.name: Required value');
      const involved = (event.involvedObject ?? {}) as Json;
      if (involved.namespace !== namespace) throw new ApiError(422, 'Invalid', 'involvedObject.namespace: Invalid value: does not match event.namespace');
      if (!event.reason || !event.message || !['Normal', 'Warning'].includes(event.type as string))
        throw new ApiError(422, 'Invalid', 'reason, message and type Normal|Warning are required');
      for (const f of ['firstTimestamp', 'lastTimestamp'])
        if (event[f] !== undefined && !(typeof event[f] === 'string' && TIME.test(event[f]))) throw new ApiError(400, 'BadRequest', `${f}: not RFC 3339`);
      return { code: 201, body: this.store(undefined, `event/${namespace}/${meta.name as string}`, event) };
    }
    throw new ApiError(404, 'NotFound', `the server could not find the requested resource (${m} ${p})`);
  }

  private watch(url: URL, namespace: string | undefined, res: ServerResponse): 'streaming' {
    const from = Number(url.searchParams.get('resourceVersion') ?? this.rv);
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    res.flushHeaders(); // the real server answers a watch at once, before any event
    const oldest = this.history[0]?.rv ?? this.rv;
    if (this.history.length > 0 && from < oldest - 1) {
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired', message: 'too old resource version' } })}\n`);
      return 'streaming';
    }
    const w = { res, namespace };
    this.watches.add(w);
    res.on('close', () => this.watches.delete(w));
    for (const h of this.history) if (h.rv > from) this.emit(w, h.type, h.object);
    return 'streaming';
  }

  private emit(w: { res: ServerResponse; namespace: string | undefined }, type: string, object: Json): void {
    if (w.namespace && (object.metadata as Json).namespace !== w.namespace) return;
    w.res.write(`${JSON.stringify({ type, object })}\n`);
  }

  private store(watchType: string | undefined, key: string, object: Json): Json {
    this.rv += 1;
    const stored = structuredClone(object);
    (stored.metadata as Json).resourceVersion = String(this.rv);
    this.objects.set(key, stored);
    if (watchType) {
      this.history.push({ rv: this.rv, type: watchType, object: stored });
      for (const w of this.watches) this.emit(w, watchType, stored);
    }
    return stored;
  }

  private mustGet(key: string): Json {
    const object = this.objects.get(key);
    if (!object) throw new ApiError(404, 'NotFound', `${key} not found`);
    return object;
  }

  private authorize(entry: LoggedRequest, verb: string, resource: string, namespace: string): void {
    if (this.forbidden.has(`${verb} ${resource} ${namespace}`)) {
      throw new ApiError(
        403,
        'Forbidden',
        `${resource} is forbidden: User "${entry.user}" cannot ${verb} resource "${resource}" in the namespace "${namespace}"`,
      );
    }
  }

  private checkPrecondition(current: Json, patch: unknown): void {
    const rv = ((patch as Json | undefined)?.metadata as Json | undefined)?.resourceVersion;
    if (rv !== undefined && rv !== (current.metadata as Json).resourceVersion) {
      throw conflict(String((current.metadata as Json).name), 'the object has been modified; please apply your changes to the latest version and try again');
    }
  }

  private applyPatch(contentType: string, target: Json, patch: unknown): unknown {
    if (contentType === 'application/json-patch+json') {
      if (!Array.isArray(patch)) throw new ApiError(400, 'BadRequest', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch');
      throw new ApiError(415, 'UnsupportedMediaType', 'this stand-in applies merge patches only');
    }
    if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) throw new ApiError(400, 'BadRequest', 'a merge patch must be a JSON object');
    return mergePatch(target, patch);
  }

  private checkLease(lease: Json): void {
    const spec = (lease.spec ?? {}) as Json;
    for (const f of ['acquireTime', 'renewTime']) {
      const time = spec[f];
      if (time !== undefined && time !== null && !(typeof time === 'string' && MICRO_TIME.test(time))) {
        throw new ApiError(400, 'BadRequest', `spec.${f}: parsing time ${JSON.stringify(time)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse`);
      }
    }
    if (spec.leaseDurationSeconds !== undefined && (!Number.isInteger(spec.leaseDurationSeconds) || (spec.leaseDurationSeconds as number) <= 0)) {
      throw new ApiError(422, 'Invalid', 'spec.leaseDurationSeconds: must be greater than 0');
    }
  }
}

function conflict(what: string, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${what} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
  );
}

function scaleOf(deployment: Json): Json {
  const meta = deployment.metadata as Json;
  const replicas = (deployment.spec as Json).replicas;
  return {
    apiVersion: 'autoscaling/v1',
    kind: 'Scale',
    metadata: { name: meta.name, namespace: meta.namespace, resourceVersion: meta.resourceVersion },
    spec: { replicas },
    status: { replicas, selector: `app=${String(meta.name)}` },
  };
}

/** RFC 7386. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const out = new Map(typeof target === 'object' && target !== null && !Array.isArray(target) ? Object.entries(target) : []);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) out.delete(k);
    else out.set(k, mergePatch(out.get(k), v));
  }
  return Object.fromEntries(out);
}

function applyDefaults(schema: Schema, value: unknown): unknown {
  if (schema.type !== 'object' || typeof value !== 'object' || value === null) return value;
  const out = value as Json;
  for (const [k, child] of Object.entries(schema.properties ?? {})) {
    if (out[k] === undefined && child.default !== undefined) out[k] = structuredClone(child.default);
    if (out[k] !== undefined) out[k] = applyDefaults(child, out[k]);
  }
  return out;
}

/**
 * The CEL rule forms the CRD uses: `self.a <= self.b`, and `self.a != 'X' || self.b <= N`.
 * Any other rule is refused, so a new rule in the CRD cannot pass here unchecked.
 */
function celHolds(rule: string, obj: Json): boolean {
  const compare = /^self\.(\w+) <= self\.(\w+)$/.exec(rule);
  if (compare) return (obj[compare[1]!] as number) <= (obj[compare[2]!] as number);
  const unless = /^self\.(\w+) != '([^']*)' \|\| self\.(\w+) <= (\d+)$/.exec(rule);
  if (unless) return obj[unless[1]!] !== unless[2] || (obj[unless[3]!] as number) <= Number(unless[4]);
  throw new Error(`the stand-in cannot evaluate the CEL rule ${rule}`);
}

/** The subset of OpenAPI the CRD uses, plus the CEL rule forms celHolds evaluates. */
function validate(schema: Schema, value: unknown, path: string): string[] {
  const problems: string[] = [];
  const t = schema.type;
  if (t === 'integer' && !Number.isInteger(value)) return [`${path}: Invalid value: must be an integer`];
  if (t === 'string' && typeof value !== 'string') return [`${path}: Invalid value: must be a string`];
  if (t === 'array' && !Array.isArray(value)) return [`${path}: Invalid value: must be an array`];
  if (t === 'object' && (typeof value !== 'object' || value === null || Array.isArray(value))) return [`${path}: Invalid value: must be an object`];
  if (schema.minimum !== undefined && (value as number) < schema.minimum)
    problems.push(`${path}: Invalid value: ${String(value)}: must be ≥ ${schema.minimum}`);
  if (schema.maximum !== undefined && (value as number) > schema.maximum)
    problems.push(`${path}: Invalid value: ${String(value)}: must be ≤ ${schema.maximum}`);
  if (schema.maxItems !== undefined && (value as unknown[]).length > schema.maxItems)
    problems.push(`${path}: Too many: must have at most ${schema.maxItems} items`);
  if (schema.minLength !== undefined && (value as string).length < schema.minLength) problems.push(`${path}: Invalid value: too short`);
  if (schema.enum && !schema.enum.includes(value)) problems.push(`${path}: Unsupported value: ${JSON.stringify(value)}`);
  if (t === 'string' && (schema as { format?: string }).format === 'date-time' && !TIME.test(value as string))
    problems.push(`${path}: Invalid value: not a date-time`);
  if (t === 'object') {
    const obj = value as Json;
    for (const r of schema.required ?? []) if (obj[r] === undefined) problems.push(`${path}.${r}: Required value`);
    for (const [k, child] of Object.entries(schema.properties ?? {})) if (obj[k] !== undefined) problems.push(...validate(child, obj[k], `${path}.${k}`));
    for (const k of Object.keys(obj)) if (schema.properties && !(k in schema.properties)) problems.push(`${path}.${k}: unknown field`);
    for (const rule of schema['x-kubernetes-validations'] ?? []) if (!celHolds(rule.rule, obj)) problems.push(`${path}: Invalid value: ${rule.message}`);
  }
  if (t === 'array') (value as unknown[]).forEach((item, i) => problems.push(...validate(schema.items!, item, `${path}[${i}]`)));
  return problems;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, code: number, body: unknown): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}
