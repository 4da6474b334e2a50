-- The people who use soundlake, their browser sessions and their API tokens.

-- One account per person or script, with one role. A listener's account is linked to the
-- user id their listens carry (`listener_id`); the other roles have none.
CREATE TABLE accounts (
    account_id      bigserial PRIMARY KEY,
    name            text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,63}$'),
    role            text NOT NULL CHECK (role IN ('listener', 'business', 'admin')),
    listener_id     text,
    -- An argon2 hash in PHC form.
    password_hash   text NOT NULL,
    disabled        boolean NOT NULL DEFAULT false,
    -- Failed logins since the last success, and when the last one was: later attempts wait.
    failed_logins   integer NOT NULL DEFAULT 0,
    last_failed_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    CHECK ((role = 'listener') = (listener_id IS NOT NULL))
);

CREATE UNIQUE INDEX accounts_listener ON accounts (listener_id) WHERE listener_id IS NOT NULL;

-- Browser sessions. The cookie holds a random secret; only its SHA-256 is stored.
CREATE TABLE sessions (
    secret_hash   bytea PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX sessions_account ON sessions (account_id);

-- API tokens for scripts and players, shown once and stored as a SHA-256. `account` tokens act
-- as their account; `ingest` tokens may only post listens, for any listener.
CREATE TABLE api_tokens (
    token_id      bigserial PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts ON DELETE CASCADE,
    name          text NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    scope         text NOT NULL CHECK (scope IN ('account', 'ingest')),
    secret_hash   bytea NOT NULL UNIQUE,
    created_at    timestamptz NOT NULL DEFAULT now(),
    last_used_at  timestamptz,
    revoked_at    timestamptz
);

CREATE INDEX api_tokens_account ON api_tokens (account_id);
