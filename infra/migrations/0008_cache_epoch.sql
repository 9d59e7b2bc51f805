-- The cache epoch (issue #10, point 5): raised by any process whose cache invalidation could not reach Redis
-- (after its write committed). Readers of a shared cache re-read it whenever their quarter-second lease of it
-- in Redis lapses, and no cached entry written under an older epoch is trusted again, so a revocation that
-- Redis never heard of cannot be undone by a stale entry once Redis answers again. A sequence, not a row:
-- nextval() takes no lock and is never rolled back, so concurrent failures during an outage never wait.
CREATE SEQUENCE cache_epoch;
