-- Email verification and password reset (issue #16, points 2-3).

-- Whether the user proved they own `email`: cleared when the email changes.
ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;

-- Single-use tokens sent by mail: only their SHA-256 is kept. `email` is the address the token was sent to: a
-- verification link proves only that address, so an email change in between makes it useless.
CREATE TABLE account_tokens (
  id         uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  purpose    text NOT NULL CHECK (purpose IN ('verify_email', 'reset_password')),
  token_hash bytea NOT NULL,
  email      text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz,
  CONSTRAINT account_tokens_hash_key UNIQUE (token_hash)
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose) WHERE used_at IS NULL;
