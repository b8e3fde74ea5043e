r"""
The one Lua script behind :class:`openclaw_exec.adapters.redis.RedisApprovalStore`.

Every store call is one ``EVALSHA`` of this script, so it reads the state and applies the
row of :data:`openclaw_exec.protocol.TRANSITIONS` atomically (Redis runs one script at a
time): the first resolve wins across replicas, an allow-once is consumed once, and the event
announcing a change is published inside the same script, after the write.

Layout (``P`` is the configured prefix inside a hash tag, e.g. ``{openclaw-exec}:``; every key
shares the tag so the script touches one hash slot):

``P a:<id>``
    hash, one approval: ``req`` (canonical request JSON), ``st`` (state), ``dec``, ``by``,
    ``set`` (settled at, ms), ``rsn`` (terminal reason), ``rq`` (requester JSON), ``gd`` (the
    approver's ``grantExpiresInDays`` on an ``allow-always``), ``exp``
    (expires at, ms), ``bind`` (binding JSON), ``fold`` (case-folded id), ``seq``, ``ep``
    (run epoch), ``tok`` / ``ctok`` (tokens of the call that made the last transition / the
    consumption, so a retried call after a lost reply answers what the first one did),
    ``rep`` (the registering replica's id), ``aud`` (the request's audience, if any).
    Absent fields are ``None``. ``PEXPIRE`` collects it a little after its grace window.
``P pending``  zset id -> registration sequence (list order).
``P fold``     zset ``<folded id>\0<id>`` (score 0) for case-insensitive prefix lookup.
``P deadlines`` zset id -> expires_at_ms of pending approvals (the sweeper's work list).
``P epoch``    the run epoch, a lease kept alive by live replicas; a new epoch means every
               replica was gone for a whole lease, and pending approvals of older epochs
               are cancelled (never decided).
``P seq``      registration counter.
``P evseq``    event counter: every published event carries the next number, so a listener
               that catches up from a snapshot (``catchup``, which returns the counter read in
               the same atomic step) skips exactly the events the snapshot already reflects.
``P w:<id>``   set of replica ids waiting for ``<id>`` that did not register it (``watch``).

Every change is published as ``kind\nid\nevseq\nseq\n`` then
``[req, st, dec, by, set, rsn, rq, gd]`` as JSON (ids never contain control characters, so
listeners split without parsing; ``seq`` is the approval's registration number, which a fast
``resolve`` names to prove it saw this very registration), on the channels of those who need
it, so that no replica receives (and decodes) messages meant for others:

``P events``   approvers of every request (requests and settlements); its subscriber count is
               the route count of requests without an audience.
``P aud:<A>``  approvers of audience ``A`` (requests whose ``aud`` is ``A``, and their
               settlements); its count plus that of ``P events`` is the route count of those.
``P rep:<r>``  replica ``r``: the settlement of every approval it registered or watches (its
               waiters). Each replica is subscribed to its own, always.

The clock is the caller's (``now`` argument): the core rules never read Redis's clock, and
``PEXPIRE`` (relative, with a margin) is only garbage collection.
"""

from __future__ import annotations

__all__ = ["SCRIPT"]

SCRIPT = r"""
local now = tonumber(ARGV[1])
local grace = tonumber(ARGV[2])
local P = ARGV[3]
local epoch_candidate = ARGV[4]
local lease = tonumber(ARGV[5])
local op = ARGV[6]
local K_PENDING = KEYS[1]
local K_FOLD = KEYS[2]
local K_DEADLINES = KEYS[3]
local K_EPOCH = KEYS[4]
local K_SEQ = KEYS[5]
local K_EVSEQ = KEYS[6]
local CHANNEL = P .. 'events'
local MARGIN = 2000
local NOT_FOUND = 'unknown or expired approval id'
local FIELDS = {'req', 'st', 'dec', 'by', 'set', 'rsn', 'rq', 'exp', 'bind', 'fold', 'seq',
                'ep', 'tok', 'ctok', 'gd', 'rep', 'aud'}

local function rkey(id) return P .. 'a:' .. id end

local function load(id)
  local values = redis.call('HMGET', rkey(id), unpack(FIELDS))
  if not values[2] then return nil end
  local r = {id = id, key = rkey(id)}
  for i, name in ipairs(FIELDS) do
    if values[i] then r[name] = values[i] end
  end
  return r
end

local function out(r)
  if r == nil then return {false, false, false, false, false, false, false, false} end
  return {r.req, r.st, r.dec or false, r.by or false, r.set or false, r.rsn or false,
          r.rq or false, r.gd or false}
end

local function publish(kind, r)
  local n = redis.call('INCR', K_EVSEQ)
  local message = kind .. '\n' .. r.id .. '\n' .. n .. '\n' .. (r.seq or '') .. '\n' ..
    cjson.encode({r.req, r.st, r.dec or false, r.by or false, r.set or false,
    r.rsn or false, r.rq or false, r.gd or false})
  redis.call('PUBLISH', CHANNEL, message)
  if r.aud then redis.call('PUBLISH', P .. 'aud:' .. r.aud, message) end
  if kind == 'requested' then return end
  -- A settlement also goes to the waiters: the registering replica and any watcher.
  if r.rep then redis.call('PUBLISH', P .. 'rep:' .. r.rep, message) end
  local watchers = P .. 'w:' .. r.id
  for _, rep in ipairs(redis.call('SMEMBERS', watchers)) do
    if rep ~= r.rep then redis.call('PUBLISH', P .. 'rep:' .. rep, message) end
  end
  redis.call('DEL', watchers)
end

local function unlist(r)
  redis.call('ZREM', K_PENDING, r.id)
  redis.call('ZREM', K_DEADLINES, r.id)
  if r.fold then redis.call('ZREM', K_FOLD, r.fold .. '\0' .. r.id) end
end

local function settle(r, st, rsn, kind, dec, by, tok)
  r.st = st
  r.rsn = rsn
  r.set = tostring(now)
  r.dec = dec
  r.by = by
  redis.call('HSET', r.key, 'st', st, 'rsn', rsn, 'set', r.set)
  if dec then redis.call('HSET', r.key, 'dec', dec) end
  if by then redis.call('HSET', r.key, 'by', by) end
  if tok then
    r.tok = tok
    redis.call('HSET', r.key, 'tok', tok)
  end
  unlist(r)
  redis.call('PEXPIRE', r.key, grace + MARGIN)
  publish(kind, r)
end

local epoch = nil

local function live(r)
  if r == nil then return nil end
  if r.st == 'pending' then
    if r.ep ~= epoch then
      settle(r, 'cancelled', 'cancelled', 'cancelled')
    elseif now >= tonumber(r.exp) then
      settle(r, 'expired', 'timeout', 'expired')
    end
    return r
  end
  if r.set and now >= tonumber(r.set) + grace then
    unlist(r)
    redis.call('DEL', r.key)
    return nil
  end
  return r
end

local function current_epoch()
  local e = redis.call('GET', K_EPOCH)
  if e then return e end
  redis.call('SET', K_EPOCH, epoch_candidate, 'PX', lease)
  epoch = epoch_candidate
  -- A new run: whatever is still pending was left by replicas that are all gone.
  for _, id in ipairs(redis.call('ZRANGE', K_PENDING, 0, -1)) do
    local r = load(id)
    if r == nil then redis.call('ZREM', K_PENDING, id) else live(r) end
  end
  return epoch_candidate
end

epoch = current_epoch()

local function result(outcome, message, reason, r)
  local o = out(r)
  return {outcome, message or '', reason or false, o[1], o[2], o[3], o[4], o[5], o[6], o[7],
          o[8]}
end

local function find(key, folded)
  local r = live(load(key))
  if r then return r, nil end
  if folded == '' then return nil, result('not-found', NOT_FOUND, 'APPROVAL_NOT_FOUND') end
  local members = redis.call('ZRANGEBYLEX', K_FOLD, '[' .. folded, '(' .. folded .. '\255')
  local matches = {}
  for _, m in ipairs(members) do
    local id = string.sub(m, string.find(m, '\0', 1, true) + 1)
    local c = live(load(id))
    if c == nil then
      redis.call('ZREM', K_FOLD, m)
    elseif c.st == 'pending' then
      table.insert(matches, c)
    end
  end
  if #matches == 1 then return matches[1], nil end
  if #matches == 0 then return nil, result('not-found', NOT_FOUND, 'APPROVAL_NOT_FOUND') end
  table.sort(matches, function(a, b) return tonumber(a.seq) < tonumber(b.seq) end)
  local shown = {}
  for i = 1, math.min(3, #matches) do shown[i] = matches[i].id end
  local text = 'ambiguous approval id prefix; matches: ' .. table.concat(shown, ', ')
  if #matches > 3 then text = text .. ' (+' .. (#matches - 3) .. ' more)' end
  return nil, result('not-found', text .. '. Use the full id.', 'APPROVAL_ID_AMBIGUOUS')
end

local DECIDED = {['allowed-once'] = 'allow-once', ['consumed'] = 'allow-once',
                 ['allowed-always'] = 'allow-always', ['denied'] = 'deny'}
local STATE_OF = {['allow-once'] = 'allowed-once', ['allow-always'] = 'allowed-always',
                  ['deny'] = 'denied'}
local NOT_CONSUMABLE = {
  ['pending'] = {'approval is still pending', 'APPROVAL_PENDING'},
  ['denied'] = {'approval was denied', 'APPROVAL_DENIED'},
  ['consumed'] = {'allow-once approval was already used', 'APPROVAL_CONSUMED'},
  ['expired'] = {'approval expired without a decision', 'APPROVAL_EXPIRED'},
  ['cancelled'] = {'approval was cancelled', 'APPROVAL_CANCELLED'},
  ['error'] = {'approval is in an error state', 'APPROVAL_ERROR'},
}

if op == 'register' then
  local id, req, exp, fold, rq, route, tok, bind =
    ARGV[7], ARGV[8], tonumber(ARGV[9]), ARGV[10], ARGV[11], ARGV[12], ARGV[13], ARGV[14]
  local rep, aud = ARGV[15], ARGV[16]
  local r = live(load(id))
  if r == nil then
    if route == '' then
      -- Approvers of every request, plus those of this request's audience.
      local counts = redis.call('PUBSUB', 'NUMSUB', CHANNEL, P .. 'aud:' .. aud)
      local routes = counts[2]
      if aud ~= '' then routes = routes + counts[4] end
      route = routes > 0 and '1' or '0'
    end
    local seq = redis.call('INCR', K_SEQ)
    r = {id = id, key = rkey(id), req = req, st = 'pending', exp = tostring(exp), fold = fold,
         seq = tostring(seq), ep = epoch, tok = tok, bind = bind, rep = rep}
    redis.call('HSET', r.key, 'req', req, 'st', 'pending', 'exp', r.exp, 'fold', fold,
               'seq', r.seq, 'ep', epoch, 'tok', tok, 'bind', bind, 'rep', rep)
    if rq ~= '' then
      r.rq = rq
      redis.call('HSET', r.key, 'rq', rq)
    end
    if aud ~= '' then
      r.aud = aud
      redis.call('HSET', r.key, 'aud', aud)
    end
    redis.call('PEXPIRE', r.key, math.max(exp - now, 0) + grace + MARGIN)
    redis.call('ZADD', K_PENDING, seq, id)
    redis.call('ZADD', K_FOLD, 0, fold .. '\0' .. id)
    redis.call('ZADD', K_DEADLINES, exp, id)
    if route == '0' then
      settle(r, 'expired', 'no-approval-route', 'expired')
      return result('expired', '', nil, r)
    end
    publish('requested', r)
    if now >= exp then
      settle(r, 'expired', 'timeout', 'expired')
      return result('expired', '', nil, r)
    end
    return result('registered', '', nil, r)
  end
  if r.tok == tok and r.st == 'pending' then return result('registered', '', nil, r) end
  if r.tok == tok and r.st == 'expired' then return result('expired', '', nil, r) end
  if r.st == 'pending' then
    if r.req == req then return result('already-pending', '', nil, r) end
    return result('id-conflict', 'approval id already pending', 'APPROVAL_ID_CONFLICT', r)
  end
  return result('id-settled', "approval id '" .. id .. "' already resolved",
                'APPROVAL_ALREADY_RESOLVED', r)
end

if op == 'find' then
  local r, failed = find(ARGV[7], ARGV[8])
  if failed then return failed end
  return result('ignored', '', nil, r)
end

if op == 'resolve' then
  local id, decision, by, tok, expect = ARGV[7], ARGV[8], ARGV[9], ARGV[10], ARGV[12]
  local days = ARGV[13]
  local r = live(load(id))
  -- A one-step resolve names the registration it checked the approver policy on; anything
  -- else (gone, re-registered) goes back to the two-step path (find, policy, resolve).
  if expect ~= nil and expect ~= '' and (r == nil or r.seq ~= expect) then return {'stale'} end
  if r == nil then return result('not-found', NOT_FOUND, 'APPROVAL_NOT_FOUND') end
  if r.tok == tok and DECIDED[r.st] then return result('resolved', '', nil, r) end
  if r.st == 'pending' then
    local label = nil
    if ARGV[11] == '1' then label = by end
    -- The approver's grant lifetime (validated by the caller) rides an allow-always only.
    if decision == 'allow-always' and days ~= nil and days ~= '' then
      r.gd = days
      redis.call('HSET', r.key, 'gd', days)
    end
    settle(r, STATE_OF[decision], 'user', 'resolved', decision, label, tok)
    return result('resolved', '', nil, r)
  end
  local same = DECIDED[r.st]
  if same == nil then return result('not-found', NOT_FOUND, 'APPROVAL_NOT_FOUND', r) end
  if same == decision then return result('resolved-again', '', nil, r) end
  return result('already-resolved', 'approval already resolved', 'APPROVAL_ALREADY_RESOLVED', r)
end

if op == 'get' then
  local r = live(load(ARGV[7]))
  if r == nil then return result('not-found') end
  return result('ignored', '', nil, r)
end

if op == 'watch' then
  -- A waiter's read: its replica (ARGV[8]) hears the settlement of a pending approval even
  -- if another replica registered it. The set lives no longer than the approval.
  local r = live(load(ARGV[7]))
  if r == nil then return result('not-found') end
  if r.st == 'pending' and r.rep ~= ARGV[8] then
    local watchers = P .. 'w:' .. r.id
    redis.call('SADD', watchers, ARGV[8])
    redis.call('PEXPIRE', watchers, math.max(tonumber(r.exp) - now, 0) + grace + MARGIN)
  end
  return result('ignored', '', nil, r)
end

if op == 'consume' then
  local id, bind, tok = ARGV[7], ARGV[8], ARGV[9]
  local r = live(load(id))
  if r == nil then return result('not-found', NOT_FOUND, 'APPROVAL_NOT_FOUND') end
  if r.bind ~= bind then
    return result('not-consumable', 'approval id does not match request',
                  'APPROVAL_REQUEST_MISMATCH', r)
  end
  if r.st == 'allowed-once' then
    r.st = 'consumed'
    r.ctok = tok
    redis.call('HSET', r.key, 'st', 'consumed', 'ctok', tok)
    return result('consumed', '', nil, r)
  end
  if r.st == 'allowed-always' then return result('consumed', '', nil, r) end
  if r.st == 'consumed' and r.ctok == tok then return result('consumed', '', nil, r) end
  local why = NOT_CONSUMABLE[r.st]
  return result('not-consumable', why[1], why[2], r)
end

if op == 'cancel' then
  local id, tok = ARGV[7], ARGV[8]
  local r = live(load(id))
  if r == nil then return result('not-found', NOT_FOUND, 'APPROVAL_NOT_FOUND') end
  if r.st == 'pending' then
    settle(r, 'cancelled', 'cancelled', 'cancelled', nil, nil, tok)
    return result('cancelled', '', nil, r)
  end
  if r.st == 'cancelled' and r.tok == tok then return result('cancelled', '', nil, r) end
  return result('ignored', '', nil, r)
end

if op == 'pending' then
  local rows = {}
  for _, id in ipairs(redis.call('ZRANGE', K_PENDING, 0, -1)) do
    local r = live(load(id))
    if r == nil then
      redis.call('ZREM', K_PENDING, id)
    elseif r.st == 'pending' then
      table.insert(rows, result('ignored', '', nil, r))
    end
  end
  return rows
end

if op == 'catchup' then
  -- A listener that missed events: every pending approval of its audience (if ARGV[7] is
  -- '1'; ARGV[8] is '*' for every audience, '=A' for audience A), the current state of the
  -- ids it announced as requested (ARGV[9..]), and the event counter, all from one atomic
  -- step. A new subscriber asks for the counter alone.
  local pending = {}
  local listed = {}
  local only = nil
  if ARGV[8] ~= '*' then only = string.sub(ARGV[8], 2) end
  if ARGV[7] == '1' then listed = redis.call('ZRANGE', K_PENDING, 0, -1) end
  for _, id in ipairs(listed) do
    local r = live(load(id))
    if r == nil then
      redis.call('ZREM', K_PENDING, id)
    elseif r.st == 'pending' and (only == nil or r.aud == only) then
      table.insert(pending, result('ignored', '', nil, r))
    end
  end
  local tracked = {}
  for i = 9, #ARGV do
    local r = live(load(ARGV[i]))
    if r == nil then
      table.insert(tracked, result('not-found', '', nil, nil))
    else
      table.insert(tracked, result('ignored', '', nil, r))
    end
  end
  return {redis.call('GET', K_EVSEQ) or '0', pending, tracked}
end

if op == 'sweep' then
  redis.call('PEXPIRE', K_EPOCH, lease)
  local due = redis.call('ZRANGEBYSCORE', K_DEADLINES, '-inf', now, 'LIMIT', 0, tonumber(ARGV[7]))
  for _, id in ipairs(due) do
    local r = live(load(id))
    if r == nil or r.st ~= 'pending' then redis.call('ZREM', K_DEADLINES, id) end
  end
  local nxt = redis.call('ZRANGE', K_DEADLINES, 0, 0, 'WITHSCORES')
  return {epoch, nxt[2] or false}
end

return redis.error_reply('unknown op ' .. tostring(op))
"""
