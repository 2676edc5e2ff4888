-- fold becomes Unicode simple case folding (storage.Fold): lower(), then the lower-case
-- letters that fold to another one (final sigma to sigma, long s to s, the Greek symbol
-- variants, Cyrillic's rounded letters). With lower() alone "ΟΔΟΣ" and "οδος" were two
-- userNames. The two strings are storage.FoldFrom and storage.FoldTo; a test checks them.
CREATE OR REPLACE FUNCTION fold(t TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN translate(lower(t), 'µſͅςϐϑϕϖϰϱϵᲀᲁᲂᲃᲄᲅᲆᲇᲈẛι', 'μsισβθφπκρεвдосттъѣꙋṡι');

-- The folded copies Rollcall stores are folded again. Only names holding one of those
-- letters change. A name that now folds like another of its scope keeps its old fold (and a
-- warning is logged): refusing to start would be worse than leaving two such names apart.
UPDATE user_values SET value_fold = fold(value) WHERE value_fold <> fold(value);

DO $$
DECLARE
    t RECORD;
    r RECORD;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('users', 'user_name_fold', 'user_name'),
        ('groups', 'display_name_fold', 'display_name'),
        ('tenants', 'name_fold', 'name'),
        ('connections', 'name_fold', 'name'),
        ('permission_sets', 'name_fold', 'name'),
        ('roles', 'name_fold', 'name')) AS x (tbl, col, src)
    LOOP
        FOR r IN EXECUTE format('SELECT id FROM %I WHERE %I <> fold(%I)', t.tbl, t.col, t.src) LOOP
            BEGIN
                EXECUTE format('UPDATE %I SET %I = fold(%I) WHERE id = $1', t.tbl, t.col, t.src) USING r.id;
            EXCEPTION WHEN unique_violation THEN
                RAISE WARNING '%: % now folds like another name of its scope and keeps its old fold', t.tbl, r.id;
            END;
        END LOOP;
    END LOOP;
END $$;
