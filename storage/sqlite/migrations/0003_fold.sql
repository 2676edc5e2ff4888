-- fold (registered from Go: storage.Fold) became Unicode simple case folding: with
-- lower-casing alone "ΟΔΟΣ" and "οδος" were two userNames. The folded copies Rollcall stores
-- are folded again; only names holding a letter that folds to another lower-case one (final
-- sigma, long s, Greek symbol variants, Cyrillic's rounded letters) change. A name that now
-- folds like another of its scope keeps its old fold (OR IGNORE): refusing to open the
-- database would be worse than leaving two such names apart.
UPDATE user_values SET value_fold = fold(value) WHERE value_fold <> fold(value);
UPDATE OR IGNORE users SET user_name_fold = fold(user_name) WHERE user_name_fold <> fold(user_name);
UPDATE OR IGNORE groups SET display_name_fold = fold(display_name) WHERE display_name_fold <> fold(display_name);
UPDATE OR IGNORE tenants SET name_fold = fold(name) WHERE name_fold <> fold(name);
UPDATE OR IGNORE connections SET name_fold = fold(name) WHERE name_fold <> fold(name);
UPDATE OR IGNORE permission_sets SET name_fold = fold(name) WHERE name_fold <> fold(name);
UPDATE OR IGNORE roles SET name_fold = fold(name) WHERE name_fold <> fold(name);
