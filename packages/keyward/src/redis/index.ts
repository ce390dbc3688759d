/**
 * keyward/redis: rate-limit counters shared by every instance through Redis
 * (rate-limiter-flexible and an ioredis client, both yours to install).
 * @module
 */
export { LimiterTimeoutError, type RedisRateLimiterOptions, redisRateLimiter } from './limiter.js';
