-- Counts of failed sign-ins, per key (an email with a client address, or an address), shared
-- by every replica: a count grows until expires_at, the end of the window its first attempt
-- began, and is then started over or swept.
CREATE TABLE attempts (
    key        TEXT PRIMARY KEY,
    n          INTEGER NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX attempts_expires_at ON attempts (expires_at);
