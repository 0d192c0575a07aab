import { luaScript } from './lua-script';

/**
 * The Lua scripts of the redis store, sent by SHA1 (see `LuaScript`): every change of a breaker's
 * fleet state is one of them, atomic, dated by Redis' own clock (`TIME`) and guarded by the
 * breaker's generation (`gen`), which each transition bumps. A transition is published on the
 * store's channel and added to the audit stream of its kind (manual actions, named or per-key
 * breakers' transitions), by the script that made it: the entry is there if and only if the
 * transition is (a manual action that never reached the fleet is audited by its instance).
 *
 * Keys of breaker `n` under the prefix `p`: `p state:n` (hash: state, gen, openedAt, until,
 * openDuration, successes), `p quorum:n` (sorted set: instance -> when it opened it),
 * `p trials:n` (sorted set: lease -> when it expires; a per-key breaker's expires with its state); `p breakers`
 * (the names whose state is kept for good: named breakers, and per-key ones an operator forced
 * open or disabled), `p keyed` (sorted set: every other per-key name with a state -> when its
 * state expires, see {@link KEYED_CLOSED_MS}),
 * `p audit`, `p audit:transitions`, `p audit:keyed` (capped streams: manual actions, named and
 * per-key breakers' transitions), `p instances` (sorted set: instance -> last heartbeat).
 * A fleet rate limit's bucket is `p ratelimit:<length of policy>:<policy>:<key>` (hash: tokens, at).
 *
 * Every script that reads a state answers `{ outcome, state, gen, openedAt, until,
 * openDuration, now }`; times are Redis ms, empty strings where they do not apply.
 *
 * Every script that changes what Redis keeps (the fleet state, an audit entry, a rate limit's
 * bucket) takes a deadline as its last argument (Redis ms): the moment its sender stops waiting
 * for it (`commandTimeout` after it was sent). One that runs later (its link stalled, or a client
 * queued it while disconnected) changes nothing and answers `expired`: its sender took it as not
 * applied, and an operator's action or an opening made before newer ones must not land after
 * them, nor an audit entry of what never applied, nor a take its caller no longer waits for.
 *
 * A per-key breaker's name (it holds `#`) comes from requests, so its state is kept only while
 * it matters: unless an operator forced it open or disabled it, its hash expires (`PEXPIREAT`)
 * {@link KEYED_CLOSED_MS} after a transition to CLOSED, or an open period (`openDuration`) after
 * its open period ended (a trial claimed meanwhile keeps it until `halfOpenMaxWait` plus
 * `openDuration` later). A name Redis does not know is CLOSED, at generation 0: its next
 * transition is generation 1, made at least {@link KEYED_CLOSED_MS} after any transition of the
 * expired hash, which is how an instance tells it from an older message (see `startedOver`).
 */

/** How long a per-key breaker's state stays in Redis after a transition to CLOSED (ms). */
export const KEYED_CLOSED_MS = 1_000;

/** At most this many per-key breakers' states are read at once (those that expire last). */
export const READ_KEYED_MAX = 2_000;

/** Most entries each audit stream keeps (`XADD … MAXLEN`). */
export const AUDIT_STREAM_MAX = 10_000;

/** Whether a script runs at or after its deadline (its last argument): then it must change nothing. */
const DEADLINE = `
local function expired(now)
  return now >= tonumber(ARGV[#ARGV])
end
`;

/** Redis' clock in whole ms, and the audit entry every audit stream holds, capped alike. */
const CLOCK_AND_AUDIT = `
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
-- id: a manual action's own (see written), nil for a transition.
local function record(stream, name, action, from, to, reason, actor, at, instance, id)
  local fields = { 'breaker', name, 'action', action, 'from', from, 'to', to, 'reason', reason, 'actor', actor,
    'at', at, 'instance', instance }
  if id then fields[#fields + 1] = 'id'; fields[#fields + 1] = id end
  redis.call('XADD', stream, 'MAXLEN', '${AUDIT_STREAM_MAX}', '*', unpack(fields))
end
`;

/** Functions every script of a breaker's fleet state starts with. */
const PRELUDE = `${DEADLINE}${CLOCK_AND_AUDIT}
local function read(key)
  local h = redis.call('HMGET', key, 'state', 'gen', 'openedAt', 'until', 'openDuration', 'successes')
  return { state = h[1] or 'closed', gen = tonumber(h[2] or '0'), openedAt = h[3] or '', untilAt = h[4] or '',
    openDuration = h[5] or '', successes = tonumber(h[6] or '0') }
end
local function answer(outcome, s, now)
  return { outcome, s.state, s.gen, s.openedAt, s.untilAt, s.openDuration, now }
end
-- Keeps per-key breaker name's state until at (Redis ms), listed in keyed.
local function keep(key, name, at, breakers, keyed)
  redis.call('PEXPIREAT', key, at)
  redis.call('SREM', breakers, name)
  redis.call('ZADD', keyed, at, name)
end
-- Where state s of breaker name is listed, and until when it is kept (see KEYED_CLOSED_MS).
local function place(key, name, s, now, breakers, keyed)
  if not string.find(name, '#', 1, true) then
    redis.call('SADD', breakers, name)
    return
  end
  redis.call('ZREMRANGEBYSCORE', keyed, '-inf', now)
  if s.state == 'forced_open' or s.state == 'disabled' then
    redis.call('PERSIST', key)
    redis.call('ZREM', keyed, name)
    redis.call('SADD', breakers, name)
    return
  end
  local at = now + ${KEYED_CLOSED_MS}
  if s.state == 'open' then at = math.max(at, tonumber(s.untilAt) + tonumber(s.openDuration)) end
  keep(key, name, at, breakers, keyed)
end
-- Installs state s (gen bumped) of breaker name, publishes it, and audits it unless manual (the
-- control script audits those as their instance made them).
-- sets: { breakers, keyed }.
local function install(key, name, from, s, now, reason, manual, actor, instance, channel, audit, sets)
  s.gen = s.gen + 1
  redis.call('HSET', key, 'state', s.state, 'gen', s.gen, 'openedAt', s.openedAt, 'until', s.untilAt,
    'openDuration', s.openDuration, 'successes', s.successes)
  place(key, name, s, now, sets[1], sets[2])
  redis.call('PUBLISH', channel, cjson.encode({ n = name, s = s.state, g = s.gen, o = s.openedAt,
    u = s.untilAt, d = s.openDuration, t = now, r = reason, m = manual, a = actor, i = instance }))
  if not manual then record(audit, name, 'transition', from, s.state, reason, '', now, instance) end
end
local function reopen(s, now, backoff, maxDuration)
  local d = math.min(tonumber(s.openDuration) * backoff, maxDuration)
  s.state = 'open'; s.openedAt = now; s.untilAt = now + d; s.openDuration = d; s.successes = 0
end
-- A lease that expired is a failed trial: the fleet reopened when the first one expired, as
-- halfOpenMaxWait reopens one process. Installs that reopening; true when there was one.
-- KEYS: state, trials, breakers, audit, keyed. ARGV: name, instance, channel, openBackoff, openDurationMax.
local function overdue(s, now, keys, name, instance, channel, backoff, maxDuration)
  local first = redis.call('ZRANGEBYSCORE', keys[2], '-inf', now, 'WITHSCORES', 'LIMIT', 0, 1)
  if #first == 0 then return false end
  redis.call('DEL', keys[2])
  reopen(s, tonumber(first[2]), tonumber(backoff), tonumber(maxDuration))
  install(keys[1], name, 'half_open', s, now, 'half_open_max_wait', false, '', instance, channel, keys[4],
    { keys[3], keys[5] })
  return true
end
`;

/**
 * An instance opened the breaker from its own window. KEYS: state, quorum, trials, breakers,
 * audit, keyed. ARGV: name, instance, openDuration, fleetQuorum, reason, openedAt (when it opened, on
 * Redis' clock: openings made while Redis was away count from when they happened), channel,
 * deadline. Outcomes: `won` (this opened the fleet), `pending` (below the quorum: answer[8]
 * says how many opened it), `same` (the fleet is not CLOSED: the instance follows it), `past`
 * (its open period ended before it reached Redis: it counts for nothing), `expired`.
 */
export const OPEN_SCRIPT = luaScript(`${PRELUDE}
local now = clock()
local s = read(KEYS[1])
if expired(now) then return answer('expired', s, now) end
if s.state ~= 'closed' then return answer('same', s, now) end
local od = tonumber(ARGV[3])
local at = math.min(tonumber(ARGV[6]), now)
if at <= now - od then return answer('past', s, now) end
redis.call('ZADD', KEYS[2], at, ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. (now - od))
redis.call('PEXPIRE', KEYS[2], od)
local count = redis.call('ZCARD', KEYS[2])
if count < tonumber(ARGV[4]) then
  local a = answer('pending', s, now)
  a[8] = count
  return a
end
s.state = 'open'; s.openedAt = at; s.untilAt = at + od; s.openDuration = od; s.successes = 0
redis.call('DEL', KEYS[2], KEYS[3])
install(KEYS[1], ARGV[1], 'closed', s, now, ARGV[5], false, '', ARGV[2], ARGV[7], KEYS[5], { KEYS[4], KEYS[6] })
return answer('won', s, now)
`);

/**
 * An instance asks for a HALF_OPEN trial. KEYS: state, trials, breakers, audit, keyed. ARGV: name,
 * lease, halfOpenMaxCalls, halfOpenMaxWait, instance, channel, openBackoff, openDurationMax,
 * deadline. Outcomes: `granted` (the lease is held until it is settled or expires), `local`
 * (the fleet is CLOSED: the instance's own opening, its own trial), `full` (answer[8]: when the
 * oldest lease expires), `same` (not due: follow it), `reopened` (a lease expired: a failed
 * trial reopened the fleet), `expired` (no lease: its instance ran the trial alone).
 */
export const CLAIM_SCRIPT = luaScript(`${PRELUDE}
local now = clock()
local s = read(KEYS[1])
if expired(now) then return answer('expired', s, now) end
if s.state == 'closed' then return answer('local', s, now) end
if s.state ~= 'open' or now < tonumber(s.untilAt) then return answer('same', s, now) end
if overdue(s, now, KEYS, ARGV[1], ARGV[5], ARGV[6], ARGV[7], ARGV[8]) then return answer('reopened', s, now) end
if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
  local a = answer('full', s, now)
  a[8] = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')[2]
  return a
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[4]), ARGV[2])
-- A per-key breaker's state, and its leases, outlive the lease by an open period (until then, a
-- claim or a settled trial finds it expired and reopens the fleet).
if string.find(ARGV[1], '#', 1, true) then
  local at = now + tonumber(ARGV[4]) + tonumber(s.openDuration)
  keep(KEYS[1], ARGV[1], at, KEYS[3], KEYS[5])
  redis.call('PEXPIREAT', KEYS[2], at)
end
return answer('granted', s, now)
`);

/**
 * A granted trial ended. KEYS: state, trials, breakers, audit, keyed. ARGV: name, lease, gen (when it
 * was granted), outcome (success | failure | ignored), halfOpenMaxCalls, instance, channel,
 * openBackoff, openDurationMax, deadline. A lease of another generation, or one no longer held,
 * decides nothing (`stale`); nor does one settled after any lease expired (that reopened the
 * fleet); one settled after its deadline (`expired`) is left to expire.
 */
export const SETTLE_SCRIPT = luaScript(`${PRELUDE}
local now = clock()
local s = read(KEYS[1])
if expired(now) then return answer('expired', s, now) end
if s.gen ~= tonumber(ARGV[3]) then return answer('stale', s, now) end
if overdue(s, now, KEYS, ARGV[1], ARGV[6], ARGV[7], ARGV[8], ARGV[9]) then return answer('won', s, now) end
if redis.call('ZREM', KEYS[2], ARGV[2]) == 0 then return answer('stale', s, now) end
if ARGV[4] == 'ignored' then return answer('freed', s, now) end
if ARGV[4] == 'failure' then
  redis.call('DEL', KEYS[2])
  reopen(s, now, tonumber(ARGV[8]), tonumber(ARGV[9]))
  install(KEYS[1], ARGV[1], 'half_open', s, now, 'trial_failed', false, '', ARGV[6], ARGV[7], KEYS[4],
    { KEYS[3], KEYS[5] })
  return answer('won', s, now)
end
s.successes = s.successes + 1
if s.successes < tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[1], 'successes', s.successes)
  return answer('counted', s, now)
end
redis.call('DEL', KEYS[2])
s.state = 'closed'; s.untilAt = ''; s.successes = 0
install(KEYS[1], ARGV[1], 'half_open', s, now, 'trials_succeeded', false, '', ARGV[6], ARGV[7], KEYS[4],
  { KEYS[3], KEYS[5] })
return answer('won', s, now)
`);

/**
 * A manual action from any instance, and its audit entry as the instance made it (its state
 * before and its time, on the instance's clock). KEYS: state, quorum, trials, breakers, keyed,
 * manual actions' audit stream. ARGV: name, to (closed | forced_open | disabled), reason, actor,
 * instance, channel, openDuration, action, from, at, the action's id (see {@link AUDIT_SCRIPT}),
 * deadline. Outcomes: `won`, `expired` (the action stays on its instance, which audits it).
 */
export const CONTROL_SCRIPT = luaScript(`${PRELUDE}
local now = clock()
local s = read(KEYS[1])
if expired(now) then return answer('expired', s, now) end
local from = s.state
s.state = ARGV[2]; s.untilAt = ''; s.successes = 0; s.openDuration = ARGV[7]
if ARGV[2] == 'forced_open' then s.openedAt = now end
redis.call('DEL', KEYS[2], KEYS[3])
install(KEYS[1], ARGV[1], from, s, now, ARGV[3], true, ARGV[4], ARGV[5], ARGV[6], '', { KEYS[4], KEYS[5] })
record(KEYS[6], ARGV[1], ARGV[8], ARGV[9], ARGV[2], ARGV[3], ARGV[4], ARGV[10], ARGV[5], ARGV[11])
return answer('won', s, now)
`);

/**
 * The fleet state of every breaker kept for good, and of the per-key ones kept for now (at most
 * ARGV[2] of them, those that expire last: the newest openings). KEYS: breakers, keyed. ARGV:
 * prefix, how many per-key ones at most. Answers `{ now, name, state, gen, openedAt, until,
 * openDuration, ... }`.
 */
export const READ_ALL_SCRIPT = luaScript(`${PRELUDE}
local now = clock()
local out = { now }
local function add(name)
  local s = read(ARGV[1] .. 'state:' .. name)
  for _, v in ipairs({ name, s.state, s.gen, s.openedAt, s.untilAt, s.openDuration }) do out[#out + 1] = v end
end
for _, name in ipairs(redis.call('SMEMBERS', KEYS[1])) do add(name) end
for _, name in ipairs(redis.call('ZREVRANGEBYSCORE', KEYS[2], '+inf', '(' .. now, 'LIMIT', 0, tonumber(ARGV[2]))) do add(name) end
return out
`);

/**
 * One heartbeat: this instance's snapshots, kept for three beats, and the live instances.
 * KEYS: instance key, instances. ARGV: instance, snapshots JSON, heartbeat ms, deadline.
 * Answers `{ outcome (ok | expired), live instances, now }`.
 */
export const HEARTBEAT_SCRIPT = luaScript(`${PRELUDE}
local now = clock()
if expired(now) then return { 'expired', 0, now } end
local ttl = tonumber(ARGV[3]) * 3
redis.call('SET', KEYS[1], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - ttl)
return { 'ok', redis.call('ZCARD', KEYS[2]), now }
`);

/**
 * An audit entry an instance made (a manual action that changed no fleet state or applied to its
 * instance only, a transition of a breaker with `shared: false`). KEYS: stream. ARGV: breaker,
 * action, from, to, reason, actor, at, instance, id, from, to, deadline. A manual action's entry
 * has an `id` (empty for a transition): when an earlier script may have written it (one that got
 * no answer in time, sent between `from` and `to`, Redis ms, their deadlines; empty when none
 * was), it is looked for among the entries written then (stream ids are Redis ms), so that it is
 * written once. Answers `ok` (written, or found) or `expired` (not written).
 */
export const AUDIT_SCRIPT = luaScript(`${DEADLINE}${CLOCK_AND_AUDIT}
if expired(clock()) then return 'expired' end
local id = ARGV[9] ~= '' and ARGV[9] or nil
if id and ARGV[10] ~= '' then
  -- A second past the last deadline: an entry's id is its script's time, which ran before it.
  for _, entry in ipairs(redis.call('XRANGE', KEYS[1], ARGV[10], tonumber(ARGV[11]) + 1000)) do
    local f = entry[2]
    for i = #f - 1, 1, -2 do
      if f[i] == 'id' then
        if f[i + 1] == id then return 'ok' end
        break
      end
    end
  end
end
record(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], id)
return 'ok'
`);

/**
 * Takes a token from a fleet rate limit's bucket, refilled continuously on Redis' clock like
 * the instance's `TokenBucket`. KEYS: bucket. ARGV: burst, tokens per ms, deadline. Answers 0
 * when taken, else the ms until a token is due (nothing taken), or `expired` (nothing taken).
 * The key expires once the bucket would be full again, so an idle bucket costs no memory and
 * dropping it changes nothing.
 */
export const RATE_LIMIT_SCRIPT = luaScript(`${DEADLINE}
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
if expired(now) then return 'expired' end
local burst = tonumber(ARGV[1])
local perMs = tonumber(ARGV[2])
local h = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(h[1]) or burst
local at = tonumber(h[2]) or now
if now > at then
  tokens = math.min(burst, tokens + (now - at) * perMs)
  at = now
end
local wait = 0
-- As TokenBucket: within 1e-9 of a whole token is one (refills add up in floating point); waits are whole ms.
if tokens >= 1 - 1e-9 then tokens = math.max(0, tokens - 1) else wait = math.max(1, math.ceil((1 - tokens) / perMs - 1e-9)) end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.17g', tokens), 'at', string.format('%.17g', at))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / perMs) + 1000)
return string.format('%.17g', wait)
`);

/**
 * Removes the dead letters of one policy, or every one, and answers how many. KEYS: the
 * dead-letter stream. ARGV: `all` or `one`, policy. The stream is trimmed, never deleted, so
 * that it keeps its last id and never gives one again.
 */
export const PURGE_DEAD_LETTERS_SCRIPT = luaScript(`
if ARGV[1] == 'all' then
  local n = redis.call('XLEN', KEYS[1])
  redis.call('XTRIM', KEYS[1], 'MAXLEN', '0')
  return n
end
local n = 0
for _, entry in ipairs(redis.call('XRANGE', KEYS[1], '-', '+')) do
  local fields = entry[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'policy' then
      if fields[i + 1] == ARGV[2] then
        redis.call('XDEL', KEYS[1], entry[1])
        n = n + 1
      end
      break
    end
  end
end
return n
`);
