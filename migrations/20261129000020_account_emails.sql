-- Email ownership and recovery (issue 9, point 4). `users.email_verified_at` records when an account proved
-- it receives mail at its address (accounts from before this existed count as verified: nobody could prove it
-- then, and refusing them now would lock them out of invitations). `account_tokens` holds the single-use links
-- of email verification and password reset: stored as a SHA-256 digest, with an encrypted copy of the token
-- only until its email is sent. Like `refresh_tokens`, these belong to a person, not to a tenant: no RLS.
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;

CREATE TABLE account_tokens (
    id               uuid        PRIMARY KEY,
    user_id          uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose          text        NOT NULL,
    token_hash       bytea       NOT NULL,
    token_ciphertext bytea,
    expires_at       timestamptz NOT NULL,
    used_at          timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT account_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT account_tokens_purpose_check CHECK (purpose IN ('verify_email', 'reset_password'))
);
CREATE INDEX account_tokens_user_idx ON account_tokens (user_id, purpose);

GRANT SELECT, INSERT, UPDATE, DELETE ON account_tokens TO insights_app;

-- The invitations-per-day quota counts an organization's invitations of the last 24 hours.
CREATE INDEX invitations_org_created_idx ON invitations (org_id, created_at);
