-- Webhooks for API clients (issue #15, point 5): a user's HTTPS endpoints, each event delivered to each endpoint
-- subscribed to it (a delivery), and every attempt at sending it.
--
-- webhook_endpoints: where a user wants their events POSTed, which events, and the secret deliveries are signed with
--   (kept as is: signing needs it; shown to the user only in the answer that created it). last_*: how the most
--   recent attempt to this endpoint went, for the list.
CREATE TABLE webhook_endpoints (
  id               uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  user_id          uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  url              text NOT NULL CHECK (length(url) <= 2048),
  events           text[] NOT NULL CHECK (cardinality(events) > 0),
  secret           text NOT NULL,
  created_at       timestamptz NOT NULL DEFAULT now(),
  last_status      text CHECK (last_status IN ('succeeded', 'failed')),
  last_status_code integer,
  last_error       text,
  last_attempt_at  timestamptz
);
-- A user's endpoints (the list, the per-user cap, and which endpoints an event of theirs goes to).
CREATE INDEX webhook_endpoints_user_idx ON webhook_endpoints (user_id, id);

-- One event for one endpoint. `body` is the exact JSON POSTed (every attempt and a resend send the same bytes, so a
-- receiver can de-duplicate on its `id`, the event_id, shared by the deliveries of one event to several endpoints).
--   status: pending (an attempt is due), succeeded (a 2xx), failed (attempts exhausted, or a resend failed).
--   seq:    which job may send it: a resend bumps it, so a retry still queued from before does nothing.
CREATE TABLE webhook_deliveries (
  id               uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  endpoint_id      uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
  event_id         uuid NOT NULL,
  event_type       text NOT NULL,
  body             text NOT NULL,
  status           text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  seq              integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz DEFAULT now(),
  last_status_code integer,
  last_error       text,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
-- An endpoint's deliveries, newest first (the id is a UUIDv7: time-ordered, and the list's cursor).
CREATE INDEX webhook_deliveries_endpoint_idx ON webhook_deliveries (endpoint_id, id DESC);

-- Each attempt: when, the HTTP status (null when no answer came), the error, how long it took, and the first bytes
-- of the answer (capped by the sender; nothing more is read).
CREATE TABLE webhook_attempts (
  id            uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  delivery_id   uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
  attempted_at  timestamptz NOT NULL DEFAULT now(),
  status_code   integer,
  error         text,
  duration_ms   integer NOT NULL,
  response_body text
);
CREATE INDEX webhook_attempts_delivery_idx ON webhook_attempts (delivery_id, id DESC);
