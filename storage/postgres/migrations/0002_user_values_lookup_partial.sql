-- user_values_lookup holds only the attributes that filters look users up by. A B-tree entry
-- is at most 2 704 bytes on PostgreSQL, and an X.509 certificate in base64 (or a long photo
-- URL) can outgrow it, which failed the whole write. Nobody looks a user up by those, and a
-- filter that names them still works, without the index. Rollcall bounds the values that are
-- indexed (1 024 bytes) before they reach the database.
DROP INDEX user_values_lookup;
CREATE INDEX user_values_lookup ON user_values (tenant_id, attr, value_fold)
    WHERE attr IN ('emails', 'phoneNumbers', 'ims', 'entitlements', 'roles');
