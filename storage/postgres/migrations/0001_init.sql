-- Rollcall schema, PostgreSQL dialect. Times are Unix microseconds (BIGINT).
-- The SQLite migration of the same number defines the same tables; storagetest proves
-- they behave alike.

-- fold is the case folding of case-insensitive comparisons. SQLite gets the same function from
-- Go (strings.ToLower), so both backends fold alike.
CREATE FUNCTION fold(t TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN lower(t);

CREATE TABLE tenants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    name_fold  TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE connections (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name               TEXT NOT NULL,
    name_fold          TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('okta', 'entra', 'generic')),
    group_mapping      BOOLEAN NOT NULL DEFAULT FALSE,
    oidc_issuer        TEXT NOT NULL DEFAULT '',
    oidc_client_id     TEXT NOT NULL DEFAULT '',
    oidc_client_secret TEXT NOT NULL DEFAULT '',
    oidc_scopes        TEXT NOT NULL DEFAULT '',
    oidc_groups_claim  TEXT NOT NULL DEFAULT 'groups',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (tenant_id, name_fold)
);

CREATE TABLE scim_tokens (
    id            TEXT PRIMARY KEY,
    tenant_id     TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    secret_hash   BYTEA NOT NULL UNIQUE,
    hint          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT,
    revoked_at    BIGINT,
    last_used_at  BIGINT
);
CREATE INDEX scim_tokens_connection ON scim_tokens (connection_id);

CREATE TABLE users (
    seq                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                 TEXT NOT NULL UNIQUE,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id      TEXT REFERENCES connections (id),
    kind               TEXT NOT NULL CHECK (kind IN ('human', 'service')),
    auth               TEXT NOT NULL CHECK (auth IN ('sso', 'password')),
    user_name          TEXT NOT NULL,
    user_name_fold     TEXT NOT NULL,
    external_id        TEXT,
    active             BOOLEAN NOT NULL,
    email              TEXT,
    org_group          TEXT,
    password_hash      TEXT,
    oidc_issuer        TEXT,
    oidc_subject       TEXT,
    display_name       TEXT,
    nick_name          TEXT,
    profile_url        TEXT,
    title              TEXT,
    user_type          TEXT,
    preferred_language TEXT,
    locale             TEXT,
    timezone           TEXT,
    name_formatted     TEXT,
    family_name        TEXT,
    given_name         TEXT,
    middle_name        TEXT,
    honorific_prefix   TEXT,
    honorific_suffix   TEXT,
    employee_number    TEXT,
    cost_center        TEXT,
    organization       TEXT,
    division           TEXT,
    department         TEXT,
    manager_id         TEXT,
    scim_doc           TEXT NOT NULL DEFAULT '{}',
    version            BIGINT NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    UNIQUE (tenant_id, user_name_fold)
);
CREATE INDEX users_connection_seq ON users (connection_id, seq);
CREATE INDEX users_connection_external_id ON users (connection_id, external_id);
CREATE INDEX users_tenant_seq ON users (tenant_id, seq);
CREATE INDEX users_user_name_fold ON users (user_name_fold);
CREATE UNIQUE INDEX users_oidc_subject ON users (connection_id, oidc_issuer, oidc_subject)
    WHERE oidc_subject IS NOT NULL;

-- One row per element of a multi-valued attribute (emails, phoneNumbers, addresses, ...).
CREATE TABLE user_values (
    user_id        TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tenant_id      TEXT NOT NULL,
    attr           TEXT NOT NULL,
    pos            BIGINT NOT NULL,
    value          TEXT,
    value_fold     TEXT,
    display        TEXT,
    type           TEXT,
    is_primary     BOOLEAN,
    formatted      TEXT,
    street_address TEXT,
    locality       TEXT,
    region         TEXT,
    postal_code    TEXT,
    country        TEXT,
    PRIMARY KEY (user_id, attr, pos)
);
CREATE INDEX user_values_lookup ON user_values (tenant_id, attr, value_fold);

CREATE TABLE groups (
    seq               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                TEXT NOT NULL UNIQUE,
    tenant_id         TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    connection_id     TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    display_name      TEXT NOT NULL,
    display_name_fold TEXT NOT NULL,
    normalized_name   TEXT NOT NULL,
    external_id       TEXT,
    scim              BOOLEAN NOT NULL,
    seen_at_login     BOOLEAN NOT NULL DEFAULT FALSE,
    scim_doc          TEXT NOT NULL DEFAULT '{}',
    version           BIGINT NOT NULL,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    last_seen_at      BIGINT NOT NULL,
    UNIQUE (connection_id, normalized_name)
);
CREATE INDEX groups_connection_seq ON groups (connection_id, seq);
CREATE INDEX groups_connection_display_name ON groups (connection_id, display_name_fold);
CREATE INDEX groups_connection_external_id ON groups (connection_id, external_id);

-- Group membership, one row per member: never an array in a row.
CREATE TABLE group_members (
    group_id    TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id   TEXT NOT NULL,
    member_type TEXT NOT NULL CHECK (member_type IN ('User', 'Group')),
    tenant_id   TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

CREATE TABLE permission_sets (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_fold   TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    builtin     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, name_fold)
);

CREATE TABLE permission_set_permissions (
    permission_set_id TEXT NOT NULL REFERENCES permission_sets (id) ON DELETE CASCADE,
    permission        TEXT NOT NULL,
    PRIMARY KEY (permission_set_id, permission)
);

CREATE TABLE roles (
    id          TEXT PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    name_fold   TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    builtin     BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, name_fold)
);

CREATE TABLE role_permission_sets (
    role_id           TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_set_id TEXT NOT NULL REFERENCES permission_sets (id),
    PRIMARY KEY (role_id, permission_set_id)
);
CREATE INDEX role_permission_sets_set ON role_permission_sets (permission_set_id);

-- A role maps to at most one IdP group per connection; an IdP group maps to at most one role.
CREATE TABLE role_mappings (
    role_id       TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    group_id      TEXT NOT NULL UNIQUE REFERENCES groups (id) ON DELETE CASCADE,
    tenant_id     TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    PRIMARY KEY (role_id, connection_id)
);

-- source is 'manual' or 'idp:<connection id>'.
CREATE TABLE role_assignments (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role_id    TEXT NOT NULL REFERENCES roles (id),
    source     TEXT NOT NULL,
    tenant_id  TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, role_id, source)
);
CREATE INDEX role_assignments_role ON role_assignments (role_id);
CREATE INDEX role_assignments_source ON role_assignments (tenant_id, source, user_id);

-- Append-only; no foreign key to users, so events outlive the users they name.
CREATE TABLE audit_events (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    tenant_id   TEXT NOT NULL,
    at          BIGINT NOT NULL,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT NOT NULL,
    result      TEXT NOT NULL,
    cause       TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    source_ip   TEXT NOT NULL,
    before      TEXT,
    after       TEXT,
    detail      TEXT
);
CREATE INDEX audit_events_tenant_at ON audit_events (tenant_id, at);
CREATE INDEX audit_events_tenant_actor ON audit_events (tenant_id, actor_id, at);
CREATE INDEX audit_events_tenant_target ON audit_events (tenant_id, target_id, at);
CREATE INDEX audit_events_tenant_action ON audit_events (tenant_id, action, at);

-- Signed-in sessions; the id is stored hashed.
CREATE TABLE sessions (
    id_hash       BYTEA PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    user_id       TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind          TEXT NOT NULL CHECK (kind IN ('browser', 'api')),
    connection_id TEXT,
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    id_token      TEXT
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Sign-ins in flight: single-use state, nonce and PKCE verifier.
CREATE TABLE login_flows (
    state_hash    BYTEA PRIMARY KEY,
    tenant_id     TEXT NOT NULL,
    connection_id TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    nonce         TEXT NOT NULL,
    code_verifier TEXT NOT NULL,
    return_to     TEXT NOT NULL DEFAULT '',
    created_at    BIGINT NOT NULL,
    expires_at    BIGINT NOT NULL
);
