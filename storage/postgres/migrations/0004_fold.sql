-- fold becomes Unicode simple case folding (rbac.Fold): lower(), then the lower-case
-- letters that fold to another one (final sigma to sigma, long s to s, the Greek symbol
-- variants, Cyrillic's rounded letters). With lower() alone "ΟΔΟΣ" and "οδος" were two
-- userNames. The two strings are rbac.FoldFrom and rbac.FoldTo, which
-- TestFoldMigrations compares with this file.
CREATE OR REPLACE FUNCTION fold(t TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN translate(lower(t), 'µſͅςϐϑϕϖϰϱϵᲀᲁᲂᲃᲄᲅᲆᲇᲈẛι', 'μsισβθφπκρεвдосттъѣꙋṡι');

-- The folded copies Rollcall stores are folded again; only names holding one of those letters
-- change. Names that are unique in their scope and now fold alike (a userName "ΟΔΟΣ" beside
-- "οδος", or two groups of one connection) would make one of them unreachable by name, and a lookup by the other could find
-- the wrong user. The migration refuses them, naming each pair: rename one of each with the
-- version that made them, then start again. Only the rows whose fold changes are compared,
-- through the indexes on the folded names.
DO $$
DECLARE
    t RECORD;
    pairs TEXT;
    found TEXT := '';
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('users', 'user_name', 'user_name_fold', 'tenant_id'),
        ('tenants', 'name', 'name_fold', NULL),
        ('connections', 'name', 'name_fold', 'tenant_id'),
        ('permission_sets', 'name', 'name_fold', 'tenant_id'),
        ('roles', 'name', 'name_fold', 'tenant_id'),
        ('groups', 'normalized_name', 'normalized_name', 'connection_id')) AS x (tbl, src, col, scope)
    LOOP
        EXECUTE format($q$
            WITH c AS (SELECT id, %2$I AS name, fold(%2$I) AS f%4$s FROM %1$I WHERE %3$I <> fold(%2$I))
            SELECT string_agg(format('%%s %%L (%%s) and %%L (%%s)', %1$L, a, ai, b, bi), '; ')
            FROM (SELECT DISTINCT
                         CASE WHEN (c.name, c.id) <= (o.%2$I, o.id) THEN c.name ELSE o.%2$I END AS a,
                         CASE WHEN (c.name, c.id) <= (o.%2$I, o.id) THEN c.id ELSE o.id END AS ai,
                         CASE WHEN (c.name, c.id) <= (o.%2$I, o.id) THEN o.%2$I ELSE c.name END AS b,
                         CASE WHEN (c.name, c.id) <= (o.%2$I, o.id) THEN o.id ELSE c.id END AS bi
                  FROM c JOIN %1$I o ON o.%3$I = c.f AND o.id <> c.id%5$s
                  UNION
                  SELECT CASE WHEN (c.name, c.id) <= (d.name, d.id) THEN c.name ELSE d.name END,
                         CASE WHEN (c.name, c.id) <= (d.name, d.id) THEN c.id ELSE d.id END,
                         CASE WHEN (c.name, c.id) <= (d.name, d.id) THEN d.name ELSE c.name END,
                         CASE WHEN (c.name, c.id) <= (d.name, d.id) THEN d.id ELSE c.id END
                  FROM c JOIN c d ON d.f = c.f AND d.id <> c.id%6$s) p$q$,
            t.tbl, t.src, t.col,
            CASE WHEN t.scope IS NULL THEN '' ELSE format(', %I AS scope', t.scope) END,
            CASE WHEN t.scope IS NULL THEN '' ELSE format(' AND o.%I = c.scope', t.scope) END,
            CASE WHEN t.scope IS NULL THEN '' ELSE ' AND d.scope = c.scope' END)
        INTO pairs;
        IF pairs IS NOT NULL THEN
            found := found || pairs || '; ';
        END IF;
    END LOOP;
    IF found <> '' THEN
        RAISE EXCEPTION 'these names are now one name under case folding; rename one of each pair with the previous Rollcall, then start again: %', found;
    END IF;
END $$;

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
