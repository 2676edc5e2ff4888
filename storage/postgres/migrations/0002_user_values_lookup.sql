-- user_values_lookup becomes (attr, value_fold), for the attributes filters look users up by.
--
-- A lookup such as emails[type eq "work"].value eq "…" is a correlated EXISTS on user_values
-- that names no tenant: with tenant_id leading the index, PostgreSQL could not use it and
-- scanned every tenant's values (35 ms among 200 000 users, against 0.2 ms by this index, on
-- generic plans too); a user's tenant is checked through the user row.
--
-- A B-tree entry is at most 2 704 bytes, and an X.509 certificate in base64 (or a long photo
-- URL) can outgrow it, which failed the whole write. Nobody looks a user up by those, and a
-- filter that names them still works, without the index. Rollcall bounds the values that are
-- indexed (1 024 bytes) before they reach the database.
--
-- The new index is built before the old one is dropped: the build blocks writes to
-- user_values but not reads, and the drop's exclusive lock lasts only until the commit.
CREATE INDEX user_values_lookup_v2 ON user_values (attr, value_fold)
    WHERE attr IN ('emails', 'phoneNumbers', 'ims', 'entitlements', 'roles');
DROP INDEX user_values_lookup;
