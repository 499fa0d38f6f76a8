"""Fair sharing of sending capacity between workspaces: smooth weighted round robin in Redis.

Every unfinished run that has something to send is *registered* (its
workspace, weight, run id). A consumer thread does not stay on one run: before
each batch it asks `pick()` which run to serve, one Lua call that applies
smooth weighted round robin (the algorithm of nginx's upstream balancer) over
the workspaces with registered runs, then round robin over that workspace's
runs:

    for every workspace w:  current[w] += weight[w]
    chosen = the w with the largest current
    current[chosen] -= sum of weights

With weights A=1, B=1 consumers alternate A, B, A, B…; with A=3, B=1 they
serve A, A, B, A, A, A, B… — each workspace gets batches in proportion to its
weight, interleaved rather than in bursts, and a workspace with no runs drops
out (its share goes to the others). So a small mailing that falls due while
another workspace sends 200,000 gets every other batch of every consumer from
the next batch on, instead of waiting behind the big one.
"""

from django.conf import settings

PREFIX = "rassylka:fair"
K_WEIGHTS = f"{PREFIX}:weights"  # hash: schema -> weight
K_CURRENT = f"{PREFIX}:current"  # hash: schema -> smooth WRR current value


def runs_key(schema_name: str) -> str:
    return f"{PREFIX}:runs:{schema_name}"


PICK_LUA = """
local weights = redis.call('HGETALL', KEYS[1])
if #weights == 0 then return nil end
local total, best, best_cur = 0, nil, nil
for i = 1, #weights, 2 do
  local schema, weight = weights[i], tonumber(weights[i + 1])
  total = total + weight
  local cur = tonumber(redis.call('HINCRBY', KEYS[2], schema, weight))
  if best_cur == nil or cur > best_cur then best, best_cur = schema, cur end
end
redis.call('HINCRBY', KEYS[2], best, -total)
local run = redis.call('LMOVE', ARGV[1] .. best, ARGV[1] .. best, 'LEFT', 'RIGHT')
if not run then
  redis.call('HDEL', KEYS[1], best)
  redis.call('HDEL', KEYS[2], best)
  return nil
end
return {best, run}
"""

REGISTER_LUA = """
redis.call('LREM', KEYS[3], 0, ARGV[2])
redis.call('RPUSH', KEYS[3], ARGV[2])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

UNREGISTER_LUA = """
redis.call('LREM', KEYS[3], 0, ARGV[2])
if redis.call('LLEN', KEYS[3]) == 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('HDEL', KEYS[2], ARGV[1])
end
return 1
"""


def _redis():
    if settings.CACHES["default"]["BACKEND"] != "django_redis.cache.RedisCache":
        return None
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def enabled() -> bool:
    """Fair sharing needs Redis (shared by every consumer); without it each task serves its own run."""
    return _redis() is not None


def register(schema_name: str, run_id: int, weight: int = 1) -> None:
    redis = _redis()
    if redis is not None:
        redis.eval(REGISTER_LUA, 3, K_WEIGHTS, K_CURRENT, runs_key(schema_name), schema_name, run_id, max(weight, 1))


def unregister(schema_name: str, run_id: int) -> None:
    redis = _redis()
    if redis is not None:
        redis.eval(UNREGISTER_LUA, 3, K_WEIGHTS, K_CURRENT, runs_key(schema_name), schema_name, run_id)


def pick() -> tuple[str, int] | None:
    """The (schema, run id) to serve next, or None when no run is registered."""
    redis = _redis()
    if redis is None:
        return None
    picked = redis.eval(PICK_LUA, 2, K_WEIGHTS, K_CURRENT, f"{PREFIX}:runs:")
    if not picked:
        return None
    schema, run_id = picked
    return schema.decode(), int(run_id)


def registered_count() -> int:
    redis = _redis()
    if redis is None:
        return 0
    return sum(redis.llen(runs_key(s.decode())) for s in redis.hkeys(K_WEIGHTS))
