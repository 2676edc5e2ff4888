// Package expr parses SCIM filters and PATCH paths (RFC 7644 §3.4.2.2,
// §3.5.2) into the AST of github.com/scim2/filter-parser/v2 and evaluates
// them on decoded SCIM documents.
//
// It has its own parser because filter-parser rejects RFC forms that IdPs
// send: full filters inside brackets, attr[filter].sub op value, escaped
// strings, lower-case \u escapes and URNs with "_". The evaluator (Match,
// MatchElement) is the reference semantics: the SQL translation of filters
// is tested against it, and the PATCH engine uses it to select elements.
//
// # Semantics the SQL translation must mirror
//
// Names. Attribute names, schema URNs, operators and the keywords and, or,
// not, true, false and null are case-insensitive. Names are kept as written
// in the AST; Resolver.Attribute maps them to the schema. A name without a
// URN is looked up in the core schema, the common attributes (id,
// externalId, meta, schemas) and then each extension in order. Extension
// attributes live in the document under the extension's URN key.
//
// Strings. Attributes that are not caseExact compare after Resolver.Fold
// on both sides (strings.ToLower by default: full Unicode lower-casing, not
// ASCII only and not a database collation). Ordering (gt, ge, lt, le) of strings is by byte
// order of the UTF-8 strings after that folding, which is code point order
// (COLLATE "C" in PostgreSQL). co, sw and ew are plain substring, prefix and
// suffix tests: "co" with "" matches every present string.
//
// Values. A compare value is a string, bool, nil, int, float64 or
// json.Number (integers too large for an int, kept exact). RFC 7644
// Figure 1 allows a JSON string in double quotes, a JSON number, or true,
// false or null (in any case). The parser also takes an unquoted word
// (jyoung, 0123) as a string, as Microsoft's SCIM reference server and test
// collection send them; a word holding a quotation mark ('x') is a syntax
// error rather than a string that quietly matches nothing. So is a value
// followed directly by "and" or "or" ("x"and): the grammar puts white space
// between them. An integer compared with a string attribute means its
// digits (externalId eq 12345 is externalId eq "12345"), since IdP examples
// send numeric-looking identifiers unquoted; any other type mismatch
// between compare value and schema (userName eq 1.5, active eq "yes") is
// rejected by Validate rather than silently matching nothing. Strings may
// contain U+0000 (JSON allows \u0000), which PostgreSQL text cannot hold; a
// translator must reject such values or treat them as matching nothing.
//
// Resolver.Normalize applies all of these rules to an AST: it returns the
// filter with lower-case operators, the implied "value" sub-attribute
// spelled out, and every compare value converted to its attribute's type.
// A translator that starts from Normalize's output only has to mirror the
// comparison rules below.
//
// Numbers compare numerically and exactly: integers (int, int64, json.Number
// without fraction or exponent) and float64 are compared without rounding;
// a json.Number with a fraction or exponent is rounded to float64 first.
//
// Booleans allow eq and ne only. A document value "true" or "false" in any
// case ("True", as Entra ID sends) counts as the boolean; so does such a
// string as compare value of a boolean attribute.
//
// Date-times compare chronologically. They are RFC 3339 strings, with or
// without fractional seconds; a value without a zone offset is UTC.
// Document values may also be time.Time.
//
// Type mismatches (a number in the document where the schema says string,
// and so on) make that value compare false. co, sw and ew are allowed only
// on string, reference and binary attributes.
//
// Presence. "pr" is false for an absent attribute, null, "", an empty array
// and an empty object; an array or object is present when at least one of
// its values is. "x eq null" means not(x pr), and "x ne null" means x pr.
// Other operators compare "" as the string it is: x eq "" matches it.
//
// Multi-valued attributes. A comparison holds if it holds for any value:
// emails.value co "@example.com" matches when some email's value contains
// it. A complex attribute compared without a sub-attribute compares its
// "value" sub-attribute (emails eq "x" is emails.value eq "x"; members eq
// "id" is members.value eq "id"). A value path emails[type eq "work" and
// value co "x"] needs one element that satisfies the whole inner filter.
// attr[f].sub op v is parsed as attr[f and sub op v].
//
// ne and absence. "x ne v" holds when some value of x compares unequal to v,
// or when x has no value at all (absent, null, or an empty array). So
// title ne "x" matches a user without a title, and emails.value ne "x"
// matches a user with an email other than x, or with no email, but not a
// user whose only email is x. This is not the same as not(x eq v), which
// holds when no value of x equals v. Within a value filter the same rules
// apply to each element's sub-attributes. not(f) is always the exact
// complement of f.
//
// Invalid filters. Match and MatchElement return false for any filter that
// Validate rejects, including a not(…) around it.
package expr
