/** Bytes as a string (UTF-8) or any byte view; a Node Buffer works but is never required. */
export type Bytes = string | Uint8Array | ArrayBuffer | ArrayBufferView;

export type Scheme = 'reamaze' | 'voice360' | 'bird' | 'volubile';
export type Provider = 'voice360' | 'bird' | 'volubile';

/** The signature header each scheme uses, from the core's contract (in the browser: filled by `init()`). */
export const SIGNATURE_HEADERS: Readonly<Record<Scheme, string>>;

/**
 * Errors carry a stable machine-readable `code`, `field` for a payload missing one, and
 * `status`, the HTTP status the bridge answers the same error with.
 */
export class BridgeError extends Error {
  readonly code: string;
  readonly field?: string;
  readonly status?: number;
}

/** What the bridge's HTTP contract fixes. */
export interface Contract {
  /** The signature header of each scheme. */
  signatureHeaders: Record<Scheme, string>;
  /** The path of each webhook route, by who calls it (`reamaze`: the staff-reply route). */
  webhookPaths: Record<Provider | 'reamaze', string>;
  /** Bird's default freshness window (BIRD_MAX_AGE_SECONDS, BIRD_MAX_FUTURE_SECONDS): `window` of its scheme. */
  birdWindow: Window;
  /** Every signature scheme the bridge reads, Re:amaze's first. */
  schemes: SchemeDescription[];
  /** Every provider, in the order `/healthz` lists them. */
  providers: ProviderDescription[];
}

export interface Window {
  maxAgeSeconds: number;
  maxFutureSeconds: number;
}

/** A signature scheme as the core describes it. */
export interface SchemeDescription {
  name: Scheme;
  /** The sender as people write it. */
  title: string;
  /** The header carrying the signature. */
  header: string;
  /** How the header writes the 32 MAC bytes. */
  encoding: 'hex' | 'base64';
  /** Written before the encoded MAC (`sha256=`), if anything. */
  prefix: string | null;
  /** For a scheme that signs `timestamp \n URL \n SHA-256(body)`: its timestamp header. */
  timestampHeader: string | null;
  /** The setting holding the public URL such a scheme signs. */
  urlSetting: string | null;
  /** Its default freshness window, for a scheme that signs a timestamp. */
  window: Window | null;
}

/** A provider as the core describes it. */
export interface ProviderDescription {
  name: Provider;
  title: string;
  /** The name of its signature scheme. */
  scheme: Scheme;
  /** The setting holding its webhooks' secrets. */
  secretsSetting: string;
  /** The settings its webhooks depend on. */
  settings: string[];
  /** Payloads to try the bridge with: `key` names one, `json` is its body. */
  samples: { key: string; label: string; json: string }[];
}

/** The contract, from the core (after `init()` in the browser). */
export function contract(): Contract;

/**
 * A compiled `WebAssembly.Module` where the environment's types declare one (the DOM lib,
 * Workers, Deno), so that these types need neither the DOM lib nor any other.
 */
export type WasmModule = typeof globalThis extends { WebAssembly: { Module: abstract new (...args: any[]) => infer M } } ? M : object;

/**
 * Loads the core. Required (and awaited) once in the browser, where by default it fetches the
 * .wasm beside the module; pass its URL (`reamaze-bridge/reamaze_bridge_bg.wasm`, through your
 * bundler), a Response, its bytes or a compiled module where that cannot work. A no-op in
 * Node, Deno, Bun and Cloudflare Workers.
 */
export function init(wasm?: string | URL | Response | ArrayBuffer | ArrayBufferView | WasmModule): Promise<void>;

export interface SignOptions {
  scheme: Scheme;
  secret: Bytes;
  body: Bytes;
  /** Bird: Unix seconds as sent in `messagebird-request-timestamp` (default: now). */
  timestamp?: string | number;
  /** Bird: the full URL the webhook is sent to. */
  url?: string;
}

/** The signature header value: base64 (Re:amaze, Bird), `sha256=` + hex (Voice360), hex (Volubile). */
export function sign(options: SignOptions): string;

export interface VerifyOptions {
  scheme: Scheme;
  /** One secret, or several (`secrets`) to try in turn, e.g. during rotation. */
  secret?: Bytes;
  secrets?: Bytes[];
  body: Bytes;
  /** The received signature header value, if any. */
  signature?: string | null;
  /** Bird: the received `messagebird-request-timestamp`. */
  timestamp?: string | number | null;
  /** Bird: the full URL the webhook was sent to. */
  url?: string;
  /** The clock in Unix seconds (default: now). */
  now?: number;
  /** Bird: oldest accepted timestamp, in seconds (default 86400). */
  maxAgeSeconds?: number;
  /** Bird: furthest accepted future timestamp, in seconds (default 300). */
  maxFutureSeconds?: number;
}

export type VerifyCode =
  | 'missing_signature'
  | 'malformed_signature'
  | 'malformed_timestamp'
  | 'repeated_header'
  | 'signature_mismatch'
  | 'timestamp_too_old'
  | 'timestamp_in_future'
  | 'no_secrets_configured'
  | 'missing_url';

export type VerifyResult =
  | { ok: true; secretIndex: number }
  /** `headline`: what went wrong in a few words, for a verdict. */
  | { ok: false; code: VerifyCode; message: string; headline: string };

/** Checks a signature; never throws for a bad one: the result says which check failed. */
export function verify(options: VerifyOptions): VerifyResult;

/** A likely cause of a signature's outcome: a short title and what to do about it. */
export interface Cause {
  title: string;
  detail: string;
}

/**
 * Checks a signature as `verify` does, and names the usual mistakes that explain the outcome
 * (the right MAC in the wrong encoding, a re-serialized body, whitespace in a secret, another
 * channel's secret, Bird's URL or timestamp). The debugger page's mistake-finder.
 */
export function diagnose(options: VerifyOptions): VerifyResult & { causes: Cause[] };

export interface Party {
  name?: string;
  phone?: string;
}

/** A message for a Re:amaze custom Voice or SMS channel. */
export interface ReamazeMessage {
  id: string;
  direction: 'inbound' | 'outbound';
  from: Party;
  to: Party;
  body: string;
  attachments?: string[];
  thread_id?: string;
  created_at?: string;
  /** The staff member the conversation is assigned to (VOICE360_AGENTS), by their Re:amaze e-mail. */
  assignee?: { email: string };
}

export interface Translation {
  provider: Provider;
  event: string;
  /** The messages to post, in order (absent when ignored). */
  messages?: { channel: 'voice' | 'sms'; endpoint: string; message: ReamazeMessage }[];
  /** Why nothing is posted for this event (absent when there are messages). */
  ignored?: string;
  /** Why the payload is kept until it can be placed (a transcription of a call not seen yet). */
  held?: string;
}

/**
 * Settings by the contract's names: REAMAZE_BASE_URL, REAMAZE_VOICE_SECRET, REAMAZE_SMS_SECRET,
 * VOICE360_WEBHOOK_SECRETS, VOICE360_API_KEY, VOICE360_ACCOUNT_ID, VOICE360_API_BASE,
 * SMS_CHANNEL_NUMBER, VOICE_CHANNEL_NUMBER, VOICE_THREAD_MINUTES (join a caller's calls into one
 * conversation; default 0), VOICE360_AGENTS (`ID=Name <email>` entries),
 * REDACT_CARD_NUMBERS (default true), VOICE360_POST_EVENTS, BIRD_SIGNING_KEYS, BIRD_WEBHOOK_URL, BIRD_MAX_AGE_SECONDS,
 * BIRD_MAX_FUTURE_SECONDS, BIRD_POST_STATUSES, VOLUBILE_WEBHOOK_SECRETS, VOLUBILE_NUMBER,
 * MAX_BODY_BYTES, MAX_MESSAGE_CHARS, MAX_JSON_DEPTH, MAX_HEADER_BYTES, MAX_SECRETS, UPSTREAM_TIMEOUT_MS. Lists may be arrays or
 * comma-separated strings. In createBridge and createProcessor, a setting that cannot be used
 * turns off only what depends on it (GET /healthz lists it under `invalid_settings`).
 * In createBridge: ADMIN_TOKEN (the admin routes and the console at GET /admin), REJECTED_KEEP
 * (refused webhooks kept, over a store with `list`; default 100), ALERT_WEBHOOK_URL,
 * ALERT_WEBHOOK_SECRET (`whsec_` then base64), ALERT_REJECTED_THRESHOLD (default 20) and
 * BRIDGE_NAME (the deployment's name, which its alerts carry).
 */
export type Settings = Partial<Record<string, string | number | boolean | string[]>>;

/** What a provider payload becomes. Throws a BridgeError (`invalid_json`, `json_too_deep`, `duplicate_key`, `missing_field`, `invalid_field`, …) for an unusable payload. */
export function translate(provider: Provider, body: Bytes, settings?: Settings): Translation;

/** A Re:amaze staff SMS reply as the Voice360 send-SMS requests, in order (160 characters each at most). */
export function replyToSms(body: Bytes, settings: Settings): { from: string; to: string; message: string }[];

/** A header's value as Node (string, string[] or undefined) or the Fetch API (string or null) gives it. */
export type HeaderValue = string | readonly string[] | null | undefined;

export type ProcessResult =
  | { ok: true; event: string; deliveries: { url: string; headers: Record<string, string>; body: string }[]; ignored?: undefined }
  | { ok: true; event: string; ignored: string; deliveries?: undefined }
  | { ok: true; event: string; held: string; deliveries?: undefined; ignored?: undefined }
  | { ok: false; status: number; code: string; message: string; field?: string };

export interface Processor {
  /** Verify, translate and sign one provider webhook: the signed Re:amaze requests to make, or why not (with the status the bridge would answer). */
  /**
   * Headers may be given as Node gives them (`req.headers[name]`: a string, a list of
   * strings, or undefined); a list reads as its values joined by ", ", as the Fetch API's
   * `Headers.get` gives a header sent twice.
   */
  process(
    provider: Provider,
    request: { body: Bytes; signature?: HeaderValue; timestamp?: HeaderValue | number; url?: string; now?: number },
  ): ProcessResult;
}

/** Settings read once; call parties remembered between calls (in memory). */
export function createProcessor(settings: Settings): Processor;

/**
 * Where the bridge keeps state between requests; every method may return a promise.
 * `claim` must be atomic across every process that shares the store: it writes only if the
 * key holds no live value, and answers undefined or null when it wrote, else the value held
 * (Redis: `SET key value NX GET EX ttlSeconds`). Deduplication rests on it.
 */
export interface Store {
  get(key: string): string | null | undefined | Promise<string | null | undefined>;
  put(key: string, value: string, ttlSeconds: number): unknown;
  claim(key: string, value: string, ttlSeconds: number): string | null | undefined | Promise<string | null | undefined>;
  delete(key: string): void | Promise<unknown>;
  /**
   * Optional: the live keys that start with `prefix`, in byte order (more than `limit` may be
   * given; the bridge takes the first). With it, refused webhooks are kept and the admin
   * routes list them and held transcriptions.
   */
  list?(prefix: string, limit: number): readonly string[] | Promise<readonly string[]>;
}

/** The default store: a Map with expiry, its claims atomic within the process. */
export class MemoryStore implements Store {
  get(key: string): string | undefined;
  put(key: string, value: string, ttlSeconds: number): void;
  claim(key: string, value: string, ttlSeconds: number): string | undefined;
  delete(key: string): void;
  list(prefix: string): string[];
}

export interface Bridge {
  /** Answers a request per the HTTP contract, delivering to Re:amaze / Voice360 with its own fetch. */
  fetch(request: Request): Promise<Response>;
}

export interface BridgeOptions {
  /** Where state is kept between requests (default: a MemoryStore, for this process alone). */
  store?: Store;
  /** The outbound fetch, to Re:amaze, the SMS provider and the alert receiver (default: the global fetch). */
  fetch?: typeof fetch;
  /** Takes each log line, one JSON object per request and per aftermath (default: stdout); null for none. */
  log?: ((line: string) => void) | null;
}

export function createBridge(settings: Settings, options?: BridgeOptions): Bridge;

/** The part of a `node:http` request `nodeListener` reads (an `IncomingMessage` is one). */
export interface NodeRequest extends AsyncIterable<unknown> {
  method?: string;
  url?: string;
  headers: { host?: string };
  rawHeaders: string[];
  readableEnded: boolean;
  resume(): unknown;
}

/** The part of a `node:http` response `nodeListener` writes (a `ServerResponse` is one). */
export interface NodeResponse {
  readonly headersSent: boolean;
  writeHead(statusCode: number, headers: Record<string, string>): unknown;
  end(chunk?: Uint8Array | string): unknown;
}

/**
 * Node only: a request listener for `http.createServer` that answers with
 * `bridge.fetch`, streaming the body to it. `origin` is the public origin
 * (`https://bridge.example`) behind a proxy; by default, the request's Host.
 */
export function nodeListener(bridge: Bridge, options?: { origin?: string }): (req: NodeRequest, res: NodeResponse) => Promise<void>;
