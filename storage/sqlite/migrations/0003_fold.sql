-- fold (registered from Go: rbac.Fold) became Unicode simple case folding: with
-- lower-casing alone "ΟΔΟΣ" and "οδος" were two userNames. The folded copies Rollcall stores
-- are folded again; only names holding a letter that folds to another lower-case one (final
-- sigma, long s, Greek symbol variants, Cyrillic's rounded letters) change.
--
-- Names that are unique in their scope and now fold alike (a userName "ΟΔΟΣ" beside "οδος")
-- would make one of them unreachable by name, and a lookup by the other could find the wrong
-- user. The migration refuses them: a row in fold_clashes fails its CHECK, whose name is the
-- message (the store then names the pairs: sqlite.foldClashes). Only the rows whose fold
-- changes are compared, through the folded names' indexes.
CREATE TEMP TABLE fold_clashes (
    pair TEXT,
    CONSTRAINT "names that are now one name under case folding (a userName, group, tenant, connection, role or permission set name beside one differing by a final sigma, a long s or a Greek or Cyrillic letter variant): rename one of each such pair with the previous Rollcall, then start again" CHECK (pair IS NULL)
);
INSERT INTO fold_clashes
WITH c AS MATERIALIZED (SELECT id, fold(user_name) AS f, tenant_id AS scope FROM users WHERE user_name_fold <> fold(user_name))
SELECT 'users ' || c.id || ' and ' || o.id FROM c JOIN users o ON o.user_name_fold = c.f AND o.id <> c.id AND o.tenant_id = c.scope
UNION ALL
SELECT 'users ' || c.id || ' and ' || d.id FROM c JOIN c d ON d.f = c.f AND d.id <> c.id AND d.scope = c.scope;
INSERT INTO fold_clashes
WITH c AS MATERIALIZED (SELECT id, fold(name) AS f FROM tenants WHERE name_fold <> fold(name))
SELECT 'tenants ' || c.id || ' and ' || o.id FROM c JOIN tenants o ON o.name_fold = c.f AND o.id <> c.id
UNION ALL
SELECT 'tenants ' || c.id || ' and ' || d.id FROM c JOIN c d ON d.f = c.f AND d.id <> c.id;
INSERT INTO fold_clashes
WITH c AS MATERIALIZED (SELECT id, fold(name) AS f, tenant_id AS scope FROM connections WHERE name_fold <> fold(name))
SELECT 'connections ' || c.id || ' and ' || o.id FROM c JOIN connections o ON o.name_fold = c.f AND o.id <> c.id AND o.tenant_id = c.scope
UNION ALL
SELECT 'connections ' || c.id || ' and ' || d.id FROM c JOIN c d ON d.f = c.f AND d.id <> c.id AND d.scope = c.scope;
INSERT INTO fold_clashes
WITH c AS MATERIALIZED (SELECT id, fold(name) AS f, tenant_id AS scope FROM permission_sets WHERE name_fold <> fold(name))
SELECT 'permission_sets ' || c.id || ' and ' || o.id FROM c JOIN permission_sets o ON o.name_fold = c.f AND o.id <> c.id AND o.tenant_id = c.scope
UNION ALL
SELECT 'permission_sets ' || c.id || ' and ' || d.id FROM c JOIN c d ON d.f = c.f AND d.id <> c.id AND d.scope = c.scope;
INSERT INTO fold_clashes
WITH c AS MATERIALIZED (SELECT id, fold(name) AS f, tenant_id AS scope FROM roles WHERE name_fold <> fold(name))
SELECT 'roles ' || c.id || ' and ' || o.id FROM c JOIN roles o ON o.name_fold = c.f AND o.id <> c.id AND o.tenant_id = c.scope
UNION ALL
SELECT 'roles ' || c.id || ' and ' || d.id FROM c JOIN c d ON d.f = c.f AND d.id <> c.id AND d.scope = c.scope;
INSERT INTO fold_clashes
WITH c AS MATERIALIZED (SELECT id, fold(normalized_name) AS f, connection_id AS scope FROM groups WHERE normalized_name <> fold(normalized_name))
SELECT 'groups ' || c.id || ' and ' || o.id FROM c JOIN groups o ON o.normalized_name = c.f AND o.id <> c.id AND o.connection_id = c.scope
UNION ALL
SELECT 'groups ' || c.id || ' and ' || d.id FROM c JOIN c d ON d.f = c.f AND d.id <> c.id AND d.scope = c.scope;
DROP TABLE fold_clashes;

UPDATE users SET user_name_fold = fold(user_name) WHERE user_name_fold <> fold(user_name);
UPDATE tenants SET name_fold = fold(name) WHERE name_fold <> fold(name);
UPDATE connections SET name_fold = fold(name) WHERE name_fold <> fold(name);
UPDATE permission_sets SET name_fold = fold(name) WHERE name_fold <> fold(name);
UPDATE roles SET name_fold = fold(name) WHERE name_fold <> fold(name);
UPDATE groups SET display_name_fold = fold(display_name) WHERE display_name_fold <> fold(display_name);
-- A group's key (rbac.NormalizeGroupName) folds as the rest now do; it was lower-cased, and
-- folding it again is what normalizing its name anew gives.
UPDATE groups SET normalized_name = fold(normalized_name) WHERE normalized_name <> fold(normalized_name);
UPDATE user_values SET value_fold = fold(value) WHERE value_fold <> fold(value);
