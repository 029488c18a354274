package redisjournal

import "github.com/redis/go-redis/v9"

// The data, under the store's prefix P (ids are decimal; index members are
// ids zero-padded to 20 digits, so that equal scores order by id):
//
//	P schema            the data's schema version
//	P seq               the last job id given (INCR)
//	P job:<id>          a job: a hash of its columns, as SQLite's jobs table;
//	                    cost_usd is absent while unsettled. Expires HistoryTTL
//	                    after created_at unless it is an intent.
//	P task:<task id>    the job id that made a task (the unique task index);
//	                    expires with its job
//	P key:<request key> sorted set of the jobs of one request key by created_at
//	                    (the duplicate guard's index)
//	P jobs              sorted set of every job by created_at
//	P charge            hash member → what the job counts against the budget
//	P open              sorted set of intents and uncertain jobs by created_at
//	P unfinished        sorted set of accepted jobs not seen to end, by created_at
//	P unsaved           sorted set of succeeded, unsaved jobs by expires_at
//	P task-id-key       the key MCP task ids are signed with (never expires)
//	P claim:<token>     the job id a Claim with that token recorded, or "0"
//	                    once AbandonClaim gave the token up; expires
//	                    claimTokenTTL after it is set. The job's hash holds
//	                    the token (claim_token) until the job is first
//	                    changed (Touch, or any settling).
//
// Every change to a job is one script that also brings its index entries,
// its charge and its expiry up to date (reindex), so the indexes are exact;
// readers still check each job they get against the query. Entries of jobs
// whose hash has expired are dropped when a reader meets them, by Prune, and
// a few at a time by Claim.
//
// Every script takes ARGV[1] the prefix, ARGV[2] the caller's clock in Unix
// ms, ARGV[3] the history TTL in ms, then its own arguments. Keys are made
// inside the scripts, so the store needs one Redis (standalone, or the
// primary of a replicated or Sentinel setup), not Redis Cluster.
const prelude = `
local P = ARGV[1]
local NOW = tonumber(ARGV[2])
local TTL = tonumber(ARGV[3])
local SCHEMA = 1

local function idstr(x) return string.format('%d', tonumber(x)) end
local function member(x) return string.format('%020d', tonumber(x)) end
local function jobkey(x) return P .. 'job:' .. idstr(x) end
local function taskkey(t) return P .. 'task:' .. t end
local function num(x) return string.format('%.17g', x) end
local function ms(x) return string.format('%d', x) end

-- charge is Job.Charge.
local function charge(state, cost, status, estimate)
  if state == 'refused' or state == 'never_created' or state == 'abandoned' then return 0 end
  if cost then return tonumber(cost) end
  if status == 'FAILED' or status == 'CANCELED' then return 0 end
  return tonumber(estimate) or 0
end

local function unindex(x)
  local m = member(x)
  redis.call('ZREM', P .. 'jobs', m)
  redis.call('ZREM', P .. 'open', m)
  redis.call('ZREM', P .. 'unfinished', m)
  redis.call('ZREM', P .. 'unsaved', m)
  redis.call('HDEL', P .. 'charge', m)
end

-- reindex brings a job's charge, index entries and expiry up to date.
local function reindex(x)
  local k = jobkey(x)
  local v = redis.call('HMGET', k, 'state', 'cost_usd', 'status', 'estimate_usd', 'created_at', 'task_id', 'local_path', 'video_url', 'expires_at')
  local state, status, created, task = v[1], v[3], v[5], v[6]
  if not state then unindex(x) return end
  local m = member(x)
  redis.call('HSET', P .. 'charge', m, num(charge(state, v[2], status, v[4])))
  if state == 'intent' or state == 'uncertain' then
    redis.call('ZADD', P .. 'open', created, m)
  else
    redis.call('ZREM', P .. 'open', m)
  end
  if state == 'accepted' and status ~= 'SUCCEEDED' and status ~= 'FAILED' and status ~= 'CANCELED' and status ~= 'UNKNOWN' then
    redis.call('ZADD', P .. 'unfinished', created, m)
  else
    redis.call('ZREM', P .. 'unfinished', m)
  end
  if status == 'SUCCEEDED' and v[7] == '' and v[8] ~= '' then
    redis.call('ZADD', P .. 'unsaved', v[9], m)
  else
    redis.call('ZREM', P .. 'unsaved', m)
  end
  -- History: SQLite's Prune keeps intents, so they do not expire. A job past
  -- its history already is kept a minute, so its writer can read it back.
  if state == 'intent' then
    redis.call('PERSIST', k)
    if task ~= '' then redis.call('PERSIST', taskkey(task)) end
  else
    local left = tonumber(created) + TTL - NOW
    if left < 60000 then left = 60000 end
    redis.call('PEXPIRE', k, ms(left))
    if task ~= '' then redis.call('PEXPIRE', taskkey(task), ms(left)) end
  end
end

-- charged sums the charges of the jobs created since from (ms).
local function charged(from)
  local ids = redis.call('ZRANGEBYSCORE', P .. 'jobs', from, '+inf')
  local total = 0
  for i = 1, #ids, 1000 do
    local chunk = {}
    for j = i, math.min(i + 999, #ids) do chunk[#chunk + 1] = ids[j] end
    local cs = redis.call('HMGET', P .. 'charge', unpack(chunk))
    for _, c in ipairs(cs) do
      if c then total = total + tonumber(c) end
    end
  end
  return total
end

-- bytask is the id of the job that made a task, or nil.
local function bytask(task)
  if task == '' then return nil end
  local id = redis.call('GET', taskkey(task))
  if not id then return nil end
  if redis.call('HGET', jobkey(id), 'task_id') ~= task then return nil end
  return id
end
`

// claimScript is the duplicate guard, the budget and the intent's insert in
// one step: Redis runs a script alone, so no other client's command comes
// between the look for an earlier job, the day's sum and the insert. The
// answering rules are Journal.answering's, the sum chargedSince's.
//
// ARGV[4] request key, [5] forced "1"/"0", [6] look-back ms (the longest of
// the rules' durations), [7] window ms, [8] uncertain-for ms, [9] stale id,
// [10] daily budget, [11] start of the day ms, [12] estimate, [13] tool,
// [14] model, [15] prompt excerpt, [16] inputs, [17] owner, [18] claim
// token ("" for none), [19] the token index's TTL ms.
//
// It returns {"earlier", job}, {"over", today} or {"new", job}, or
// {"given-up", ""} for a token AbandonClaim gave up on. A token that already
// recorded an intent nobody has touched since is answered with it, as new:
// the caller retried a Claim whose reply it lost.
var claimScript = redis.NewScript(prelude + `
local key, forced = ARGV[4], ARGV[5]
local lookback, window, uncertain = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local stale, budget, estimate = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[12])

local sv = redis.call('GET', P .. 'schema')
if not sv then
  redis.call('SET', P .. 'schema', SCHEMA)
elseif tonumber(sv) > SCHEMA then
  return redis.error_reply('VACESCHEMA the journal in Redis has schema version ' .. sv .. ', newer than this vace-mcp knows (' .. SCHEMA .. '): upgrade vace-mcp')
end

local token = ARGV[18]
local tk = P .. 'claim:' .. token
if token ~= '' then
  local prev = redis.call('GET', tk)
  if prev == '0' then return {'given-up', ''} end
  if prev then
    local v = redis.call('HMGET', jobkey(prev), 'state', 'claim_token', 'key')
    if v[1] == 'intent' and v[2] == token and v[3] == key then
      return {'new', redis.call('HGETALL', jobkey(prev))}
    end
  end
end

local kz = P .. 'key:' .. key
if forced ~= '1' then
  local ids = redis.call('ZREVRANGEBYSCORE', kz, '+inf', ms(NOW - lookback))
  for _, m in ipairs(ids) do
    if tonumber(m) ~= stale then
      local k = jobkey(m)
      local v = redis.call('HMGET', k, 'state', 'status', 'created_at')
      if v[1] then
        local age = NOW - tonumber(v[3])
        if ((v[1] == 'intent' or v[1] == 'uncertain') and age <= uncertain)
          or (v[1] == 'accepted' and age <= window and v[2] ~= 'FAILED' and v[2] ~= 'CANCELED') then
          return {'earlier', redis.call('HGETALL', k)}
        end
      end
    end
  end
end

if budget > 0 then
  local today = charged(ARGV[11])
  if today + estimate > budget + 1e-9 then
    return {'over', num(today)}
  end
end

local id = idstr(redis.call('INCR', P .. 'seq'))
local k = jobkey(id)
redis.call('HSET', k, 'id', id, 'key', key, 'tool', ARGV[13], 'model', ARGV[14], 'prompt_excerpt', ARGV[15], 'inputs', ARGV[16],
  'estimate_usd', ARGV[12], 'forced', forced, 'owner', ARGV[17], 'state', 'intent', 'error', '', 'task_id', '', 'status', '',
  'billed_seconds', '0', 'video_url', '', 'expires_at', '0', 'local_path', '', 'save_lease', '0',
  'created_at', ARGV[2], 'updated_at', ARGV[2])
if token ~= '' then
  redis.call('HSET', k, 'claim_token', token)
  redis.call('SET', tk, id, 'PX', ARGV[19])
end
local m = member(id)
redis.call('ZADD', P .. 'jobs', ARGV[2], m)
redis.call('ZADD', kz, ARGV[2], m)
-- The index is trimmed by score; its expiry only collects the index of a
-- request never asked again, and comes when every entry is older than keep
-- (at least the look-back), so it drops nothing the guard reads. Eviction,
-- which could, is refused before this script runs (Store.memoryProblem).
local keep = math.max(TTL, lookback)
redis.call('ZREMRANGEBYSCORE', kz, '-inf', '(' .. ms(NOW - keep))
redis.call('PEXPIRE', kz, ms(keep))
reindex(id)

local old = redis.call('ZRANGEBYSCORE', P .. 'jobs', '-inf', '(' .. ms(NOW - TTL), 'LIMIT', 0, 8)
for _, om in ipairs(old) do
  if redis.call('EXISTS', jobkey(om)) == 0 then unindex(om) end
end
return {'new', redis.call('HGETALL', k)}
`)

// updateScript changes a job's columns, all or nothing. Which jobs it
// changes is ARGV[5]: "0" any, "1" open ones only (intent or uncertain),
// "2" intents only (Touch). A task id already recorded for another job is
// refused, as SQLite's unique index does.
//
// ARGV[4] id, [5] which, then column/value pairs.
// It returns 1 if it changed the job, -1 if the job does not exist, and
// else 0 ("1") or the job's state ("2").
var updateScript = redis.NewScript(prelude + `
local id = idstr(ARGV[4])
local k = jobkey(id)
local state = redis.call('HGET', k, 'state')
if not state then return -1 end
if ARGV[5] == '1' and state ~= 'intent' and state ~= 'uncertain' then return 0 end
if ARGV[5] == '2' and state ~= 'intent' then return state end
local sets = {'updated_at', ARGV[2]}
local newTask
for i = 6, #ARGV - 1, 2 do
  local f, v = ARGV[i], ARGV[i + 1]
  if f == 'task_id' then
    newTask = v
    if v ~= '' then
      local other = redis.call('GET', taskkey(v))
      if other and other ~= id and redis.call('HGET', jobkey(other), 'task_id') == v then
        return redis.error_reply('VACETASK task ' .. v .. ' is already recorded for journal job ' .. other)
      end
    end
  end
  sets[#sets + 1] = f
  sets[#sets + 1] = v
end
if newTask then
  local old = redis.call('HGET', k, 'task_id')
  if old and old ~= '' and old ~= newTask and redis.call('GET', taskkey(old)) == id then
    redis.call('DEL', taskkey(old))
  end
  if newTask ~= '' then redis.call('SET', taskkey(newTask), id) end
end
redis.call('HSET', k, unpack(sets))
-- A job changed (touched, or settled) is no longer an untouched claim:
-- AbandonClaim leaves it alone.
redis.call('HDEL', k, 'claim_token')
reindex(id)
return 1
`)

// abandonClaimScript is Store.AbandonClaim: ARGV[4] the claim token, [5] the
// token index's TTL ms, [6] the reason. It records the job the token claimed
// as abandoned if it is still an intent holding the token (never touched nor
// settled since), and gives the token up, so a Claim with it that arrives
// later records nothing. It returns the id abandoned, or 0.
var abandonClaimScript = redis.NewScript(prelude + `
local token = ARGV[4]
local tk = P .. 'claim:' .. token
local id = redis.call('GET', tk)
if not id then
  redis.call('SET', tk, '0', 'PX', ARGV[5])
  return 0
end
if id == '0' then return 0 end
local k = jobkey(id)
local v = redis.call('HMGET', k, 'state', 'claim_token')
if v[1] ~= 'intent' or v[2] ~= token then return 0 end
redis.call('HSET', k, 'state', 'abandoned', 'error', ARGV[6], 'updated_at', ARGV[2])
redis.call('HDEL', k, 'claim_token')
redis.call('SET', tk, '0', 'PX', ARGV[5])
reindex(id)
return tonumber(id)
`)

// observeScript is Journal.Observe: ARGV[4] task id, [5] status, [6] video
// URL, [7] expires at ms, [8] billed seconds, [9] cost ("" leaves it).
var observeScript = redis.NewScript(prelude + `
local id = bytask(ARGV[4])
if not id then return 0 end
local sets = {'status', ARGV[5], 'updated_at', ARGV[2]}
if ARGV[6] ~= '' then sets[#sets + 1] = 'video_url'; sets[#sets + 1] = ARGV[6] end
if tonumber(ARGV[7]) > 0 then sets[#sets + 1] = 'expires_at'; sets[#sets + 1] = ARGV[7] end
if tonumber(ARGV[8]) > 0 then sets[#sets + 1] = 'billed_seconds'; sets[#sets + 1] = ARGV[8] end
if ARGV[9] ~= '' then sets[#sets + 1] = 'cost_usd'; sets[#sets + 1] = ARGV[9] end
redis.call('HSET', jobkey(id), unpack(sets))
reindex(id)
return 1
`)

// savedScript is Journal.Saved: ARGV[4] task id, [5] path.
var savedScript = redis.NewScript(prelude + `
local id = bytask(ARGV[4])
if not id then return 0 end
redis.call('HSET', jobkey(id), 'local_path', ARGV[5], 'save_lease', '0', 'updated_at', ARGV[2])
reindex(id)
return 1
`)

// leaseScript is Journal.LeaseSave: ARGV[4] task id, [5] lease ms.
// It returns 1 if the caller has the lease.
var leaseScript = redis.NewScript(prelude + `
local id = bytask(ARGV[4])
if not id then return 0 end
local k = jobkey(id)
local v = redis.call('HMGET', k, 'local_path', 'save_lease')
if v[1] ~= '' or tonumber(v[2]) >= NOW then return 0 end
redis.call('HSET', k, 'save_lease', ms(NOW + tonumber(ARGV[5])), 'updated_at', ARGV[2])
return 1
`)

// byTaskScript returns the job that made task ARGV[4], or an empty array.
var byTaskScript = redis.NewScript(prelude + `
local id = bytask(ARGV[4])
if not id then return {} end
return redis.call('HGETALL', jobkey(id))
`)

// chargedScript returns the sum of the charges of jobs created since ARGV[4] (ms).
var chargedScript = redis.NewScript(prelude + `
return num(charged(ARGV[4]))
`)

// rangeScript returns the jobs of index ARGV[4] with scores in [ARGV[5],
// ARGV[6]], in score (then id) order, reversed if ARGV[7] is "1", at most
// ARGV[8] (0: all), dropping the entries of jobs that have expired.
var rangeScript = redis.NewScript(prelude + `
local idx, lo, hi, rev, limit = P .. ARGV[4], ARGV[5], ARGV[6], ARGV[7] == '1', tonumber(ARGV[8])
local out = {}
local offset = 0
while true do
  local got
  if rev then
    if limit > 0 then got = redis.call('ZREVRANGEBYSCORE', idx, hi, lo, 'LIMIT', offset, limit)
    else got = redis.call('ZREVRANGEBYSCORE', idx, hi, lo) end
  else
    if limit > 0 then got = redis.call('ZRANGEBYSCORE', idx, lo, hi, 'LIMIT', offset, limit)
    else got = redis.call('ZRANGEBYSCORE', idx, lo, hi) end
  end
  local gone = 0
  for _, m in ipairs(got) do
    local j = redis.call('HGETALL', jobkey(m))
    if #j == 0 then
      unindex(m)
      gone = gone + 1
    else
      out[#out + 1] = j
      if limit > 0 and #out >= limit then return out end
    end
  end
  if limit == 0 or #got < limit then return out end
  offset = offset + #got - gone
end
`)

// pruneScript deletes the jobs among ARGV[5...] (index members) created
// before ARGV[4] (ms) that are not intents, and drops the index entries of
// those already expired. It returns how many it deleted.
var pruneScript = redis.NewScript(prelude + `
local before = tonumber(ARGV[4])
local n = 0
for i = 5, #ARGV do
  local m = ARGV[i]
  local k = jobkey(m)
  local v = redis.call('HMGET', k, 'state', 'created_at', 'key', 'task_id')
  if not v[1] then
    unindex(m)
  elseif v[1] ~= 'intent' and tonumber(v[2]) < before then
    redis.call('DEL', k)
    if v[4] ~= '' and redis.call('GET', taskkey(v[4])) == idstr(m) then redis.call('DEL', taskkey(v[4])) end
    redis.call('ZREM', P .. 'key:' .. v[3], member(m))
    unindex(m)
    n = n + 1
  end
end
return n
`)

// taskKeyScript sets ARGV[1] .. 'task-id-key' to ARGV[2] unless it is set,
// and returns its value: the first instance to ask makes the key, and every
// instance gets the same one.
var taskKeyScript = redis.NewScript(`
local k = ARGV[1] .. 'task-id-key'
redis.call('SET', k, ARGV[2], 'NX')
return redis.call('GET', k)
`)
