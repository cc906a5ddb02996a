-- +goose Up
-- The tenant layer (seed 003): tenants, who belongs to each and with which
-- tenant role, invitations to join one, Django-style groups, and
-- break-glass grants that let support staff into one tenant for a while.
-- A tenant role is a name the policy defines (policy.csv, "tenant:<role>"),
-- so no CHECK lists the roles here.
CREATE TABLE tenants (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    slug       VARCHAR(63)  NOT NULL,
    name       VARCHAR(200) NOT NULL,
    is_active  BOOLEAN      NOT NULL DEFAULT TRUE,
    settings   TEXT         NOT NULL DEFAULT '{}',
    created_at DATETIME     NOT NULL
);
CREATE UNIQUE INDEX tenants_slug ON tenants (slug);

-- Deleting a user or a tenant removes its memberships; the audit trail
-- keeps what they were. invited_by is kept as a plain id when its user is
-- deleted.
CREATE TABLE tenant_members (
    tenant_id  INTEGER     NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role       VARCHAR(64) NOT NULL,
    is_active  BOOLEAN     NOT NULL DEFAULT TRUE,
    created_at DATETIME    NOT NULL,
    invited_by BIGINT,
    PRIMARY KEY (tenant_id, user_id)
);
-- A user's tenants (GET /v1/tenants), and the per-request role lookup.
CREATE INDEX tenant_members_user_id ON tenant_members (user_id, tenant_id);
-- The last-owner guard counts a tenant's active owners.
CREATE INDEX tenant_members_tenant_role ON tenant_members (tenant_id, role, is_active);

-- Only a hash of each invitation token is stored.
CREATE TABLE tenant_invitations (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id   BIGINT       NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    email       VARCHAR(254) NOT NULL,
    role        VARCHAR(64)  NOT NULL,
    token_hash  CHAR(64)     NOT NULL,
    expires_at  DATETIME     NOT NULL,
    created_by  BIGINT,
    created_at  DATETIME     NOT NULL,
    accepted_at DATETIME,
    accepted_by BIGINT,
    revoked_at  DATETIME,
    revoked_by  BIGINT
);
CREATE UNIQUE INDEX tenant_invitations_token_hash ON tenant_invitations (token_hash);
CREATE INDEX tenant_invitations_tenant_id ON tenant_invitations (tenant_id, id);

-- A user's groups, asked as "group:<name>"; the policy defines each group's
-- grants.
CREATE TABLE user_groups (
    user_id    BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_name VARCHAR(64) NOT NULL,
    created_at DATETIME    NOT NULL,
    PRIMARY KEY (user_id, group_name)
);
CREATE INDEX user_groups_group_name ON user_groups (group_name, user_id);

-- Time-boxed access to one tenant (POST /v1/tenants/{slug}/access), asked
-- as "break_glass:<mode>".
CREATE TABLE break_glass_grants (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id  BIGINT       NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    user_id    BIGINT       NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    mode       VARCHAR(16)  NOT NULL,
    reason     VARCHAR(500) NOT NULL,
    created_at DATETIME     NOT NULL,
    expires_at DATETIME     NOT NULL,
    ended_at   DATETIME,
    ended_by   BIGINT
);
CREATE INDEX break_glass_grants_user_tenant ON break_glass_grants (user_id, tenant_id, expires_at);

-- Audit events about a tenant carry its id, so that its owners can read
-- their tenant's trail (GET /v1/tenants/{slug}/audit).
ALTER TABLE audit_events ADD COLUMN tenant_id BIGINT;
CREATE INDEX audit_events_tenant_at_id ON audit_events (tenant_id, at, id);

-- +goose Down
DROP INDEX audit_events_tenant_at_id;
ALTER TABLE audit_events DROP COLUMN tenant_id;
DROP TABLE break_glass_grants;
DROP TABLE user_groups;
DROP TABLE tenant_invitations;
DROP TABLE tenant_members;
DROP TABLE tenants;
