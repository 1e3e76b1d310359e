// reamaze-bridge/redis: a createBridge store over Redis, through node-redis.
import type { Store } from './index.js';

/**
 * What redisStore uses of a node-redis client (v4 or later): `createClient()`
 * from the `redis` package gives one.
 */
export interface RedisClientLike {
  sendCommand(args: string[]): Promise<unknown>;
  on(event: 'error' | 'ready', listener: (...args: any[]) => void): unknown;
  readonly isReady?: boolean;
}

export interface RedisStoreOptions {
  /** Written before every key, so that the bridge shares a Redis with others (default `reamaze-bridge:`). */
  prefix?: string;
  /** How long one store call may wait on Redis before the bridge answers 503 store_unavailable (default 2000). */
  timeoutMs?: number;
  /** Hears of each outage once (default: a line on stderr). */
  onError?: (error: unknown) => void;
}

/**
 * A createBridge store over a connected node-redis client (Redis 7 or
 * later). It listens for the client's errors, so a Redis restart never
 * ends the process; while Redis is down the bridge answers 503
 * store_unavailable with Retry-After, and resumes when it is back.
 */
export function redisStore(client: RedisClientLike, options?: RedisStoreOptions): Store;
