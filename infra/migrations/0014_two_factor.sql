-- Two-factor sign-in (TOTP, RFC 6238): one row per user who started enrolling, their recovery codes, and the
-- short-lived challenges a password sign-in of an enrolled account answers with.

CREATE TABLE two_factor (
  user_id      uuid PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
  -- The TOTP secret, AES-GCM encrypted (nonce || ciphertext, the user id as associated data): never in plain text.
  secret_enc   bytea NOT NULL,
  confirmed_at timestamptz,                -- NULL while enrolment awaits its first code
  -- The last TOTP time step accepted: a code is taken only for a later step, so none is accepted twice.
  last_step    bigint NOT NULL DEFAULT -1,
  created_at   timestamptz NOT NULL DEFAULT now()
);

-- Ten single-use codes per user, stored as SHA-256 (they are random, 80 bits each: no slow hash needed).
CREATE TABLE two_factor_recovery_codes (
  user_id   uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  code_hash bytea NOT NULL,
  used_at   timestamptz,
  PRIMARY KEY (user_id, code_hash)
);

-- The second step of a sign-in: the client holds the challenge, only its SHA-256 is stored.
CREATE TABLE login_challenges (
  id         uuid PRIMARY KEY DEFAULT uuid_generate_v7(),
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL UNIQUE,
  attempts   integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
CREATE INDEX login_challenges_user_idx ON login_challenges (user_id);
