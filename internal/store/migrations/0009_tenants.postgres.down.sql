DROP INDEX audit_events_tenant_at_id;
ALTER TABLE audit_events DROP COLUMN tenant_id;
DROP TABLE break_glass_grants;
DROP TABLE user_groups;
DROP TABLE tenant_invitations;
DROP TABLE tenant_members;
DROP TABLE tenants;
