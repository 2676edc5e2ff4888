package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"

	"github.com/rollcall/rollcall/storage"
)

// maxElements bounds the elements of one multi-valued attribute of a user (emails, roles, …).
// A group's members are rows of their own, bounded by the body limit only, in POST and PUT as
// in PATCH: an IdP may create or replace a group with all its members.
const maxElements = 100

// coerce brings a value into the shape its attribute's schema wants, accepting what Okta and
// Entra really send (SPEC §8): booleans as strings ("True"), a single-valued attribute
// wrapped in a one-element list of {"value": …} (legacy Entra), manager as a bare id or a
// list, multi-valued attributes as one object or as a JSON-encoded string, "$ref": null and
// explicit nulls. It returns nil for a value that is absent after all.
func coerce(a *attr, v any) (any, *Error) {
	if v == nil {
		return nil, nil
	}
	if a.multiValued() {
		return coerceMulti(a, v)
	}
	return coerceSingle(a, v)
}

func coerceMulti(a *attr, v any) (any, *Error) {
	var list []any
	switch x := v.(type) {
	case []any:
		list = x
	case string:
		// Roles (and other lists) arrive as a JSON-encoded string from some IdPs.
		if t := strings.TrimSpace(x); strings.HasPrefix(t, "[") || strings.HasPrefix(t, "{") {
			var decoded any
			if err := decodeJSON([]byte(t), &decoded); err != nil {
				return nil, badRequest(typeInvalidValue, "%s: the value is a string that is not valid JSON.", a.key)
			}
			return coerceMulti(a, decoded)
		}
		list = []any{x}
	default:
		list = []any{x}
	}
	if len(list) > maxElements && !(a.parent == nil && a.key == "members") {
		return nil, badRequest(typeInvalidValue, "%s: at most %d values are allowed.", a.key, maxElements)
	}
	out := make([]any, 0, len(list))
	for _, el := range list {
		c, err := coerceElement(a, el)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out = append(out, c)
		}
	}
	return out, nil
}

// coerceElement coerces one element of a multi-valued attribute.
func coerceElement(a *attr, el any) (any, *Error) {
	if !a.complex() {
		return coerceSimple(a, el)
	}
	switch x := el.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return coerceComplex(a, x)
	default:
		// A bare value stands for {"value": …}.
		if sub, ok := a.sub("value"); ok {
			v, err := coerceSimple(sub, x)
			if err != nil || v == nil {
				return nil, err
			}
			return map[string]any{sub.key: v}, nil
		}
		return nil, badRequest(typeInvalidValue, "%s: each value must be an object.", a.key)
	}
}

func coerceSingle(a *attr, v any) (any, *Error) {
	if a.complex() {
		switch x := v.(type) {
		case map[string]any:
			return coerceComplex(a, x)
		case []any:
			// Entra sends manager as [{"$ref": null, "value": "…"}].
			if len(x) == 0 {
				return nil, nil
			}
			if len(x) == 1 {
				return coerceSingle(a, x[0])
			}
			return nil, badRequest(typeInvalidValue, "%s is single-valued; a list of %d values was sent.", a.key, len(x))
		default:
			// Entra sends manager as a bare id.
			return coerceElement(a, x)
		}
	}
	if x, ok := v.([]any); ok {
		// Legacy Entra sends a single value as [{"$ref": null, "value": "…"}].
		switch len(x) {
		case 0:
			return nil, nil
		case 1:
			if m, ok := x[0].(map[string]any); ok {
				if inner, ok := lookupFold(m, "value"); ok {
					return coerceSimple(a, inner)
				}
			}
		}
		return nil, badRequest(typeInvalidValue, "%s is single-valued; a list of %d values was sent.", a.key, len(x))
	}
	if m, ok := v.(map[string]any); ok {
		if inner, ok := lookupFold(m, "value"); ok && len(m) <= 2 {
			return coerceSimple(a, inner)
		}
	}
	return coerceSimple(a, v)
}

func coerceComplex(a *attr, m map[string]any) (any, *Error) {
	out := make(map[string]any, len(m))
	for k, v := range m {
		sub, ok := a.sub(k)
		if !ok {
			continue // unknown sub-attributes are ignored, as the library does on POST
		}
		c, err := coerceSimple(sub, v)
		if err != nil {
			return nil, err
		}
		if c != nil {
			out[sub.key] = c
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// coerceSimple coerces a value of a simple (not complex) attribute.
func coerceSimple(a *attr, v any) (any, *Error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case json.Number:
		if a.typ() == "integer" || a.typ() == "decimal" {
			return x, nil
		}
		if a.typ() == "boolean" {
			return nil, badRequest(typeInvalidValue, "%s must be a boolean.", a.key)
		}
		return x.String(), nil
	case float64:
		if a.typ() == "integer" || a.typ() == "decimal" {
			return x, nil
		}
		if a.typ() == "boolean" {
			return nil, badRequest(typeInvalidValue, "%s must be a boolean.", a.key)
		}
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case string:
		if strings.ContainsRune(x, 0) {
			return nil, badRequest(typeInvalidValue, "%s contains a NUL character.", a.key)
		}
		if x == "" && a.typ() != "boolean" {
			// An empty string is an unassigned value (RFC 7643 §2.5): it is not stored, so
			// filters and pr treat it as absent.
			return nil, nil
		}
		if a.typ() == "boolean" {
			b, ok := parseBool(x)
			if !ok {
				return nil, badRequest(typeInvalidValue, "%s must be a boolean; got %q.", a.key, x)
			}
			return b, nil
		}
		return x, nil
	case bool:
		if a.typ() != "boolean" {
			return nil, badRequest(typeInvalidValue, "%s must be a %s, not a boolean.", a.key, a.typ())
		}
		return x, nil
	case []any, map[string]any:
		return nil, badRequest(typeInvalidValue, "%s must be a single %s value.", a.key, a.typ())
	}
	return nil, badRequest(typeInvalidValue, "%s has a value of an unsupported type.", a.key)
}

// parseBool accepts the spellings IdPs use for booleans: true/false in any case.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// lookupFold finds a key of m ignoring case.
func lookupFold(m map[string]any, key string) (any, bool) {
	if v, ok := m[key]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

func decodeJSON(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(v); err != nil {
		return err
	}
	// Only white space may follow: More alone would let a stray "]" or "}" through.
	if _, err := d.Token(); err != io.EOF {
		return errTrailingData
	}
	return nil
}

var errTrailingData = errors.New("trailing data after the JSON value")

// bodyError says what is wrong with a request body that should be a JSON object (what names
// the object: "a JSON object", "a PatchOp JSON object"), in words of its own: never the
// decoder's message.
func bodyError(body []byte, err error, what string) *Error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return badRequest(typeInvalidSyntax, "The request body is empty; it must be %s.", what)
	case errors.As(err, &syntax):
		return badRequest(typeInvalidSyntax, "The request body is not valid JSON (at byte %d); it must be %s.", syntax.Offset, what)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest(typeInvalidSyntax, "The request body is not valid JSON (it ends too soon); it must be %s.", what)
	case errors.Is(err, errTrailingData):
		return badRequest(typeInvalidSyntax, "The request body has more after its JSON value; it must be %s alone.", what)
	case errors.As(err, &typ):
		kind := typ.Value // array, string, number or bool
		if kind == "bool" {
			kind = "boolean"
		}
		return badRequest(typeInvalidSyntax, "The request body is a JSON %s; it must be %s.", kind, what)
	}
	return badRequest(typeInvalidSyntax, "The request body must be %s.", what)
}

// normalizedMap rewrites a POST or PUT body into the form the library validates: known
// attributes coerced (see coerce), extension containers under their canonical URN, schema
// URNs in canonical case. Unknown attributes stay (the library ignores them); read-only ones
// are ignored by the library too. It also takes out "password", which is never part of the
// stored resource.
func normalizedMap(rs *resourceSchema, body []byte) (res map[string]any, password string, err *Error) {
	var m map[string]any
	if e := decodeJSON(body, &m); e != nil || m == nil {
		return nil, "", bodyError(body, e, "a JSON object")
	}
	res = make(map[string]any, len(m))
	for k, v := range m {
		lk := strings.ToLower(k)
		switch {
		case lk == "schemas":
			list, _ := v.([]any)
			for i, s := range list {
				if str, ok := s.(string); ok {
					if strings.EqualFold(str, rs.core.ID) {
						list[i] = rs.core.ID
					} else if ext, ok := rs.extension(str); ok {
						list[i] = ext
					}
				}
			}
			res[k] = v
		case rs == usersSchema && isPassword(k):
			switch pw := v.(type) {
			case nil: // an explicit null, ignored as other nulls are
			case string:
				password = pw
			default:
				return nil, "", badRequest(typeInvalidValue, "password must be a string.")
			}
		case strings.HasPrefix(lk, "urn:"):
			ext, ok := rs.extension(k)
			if !ok || v == nil {
				continue
			}
			inner, ok := v.(map[string]any)
			if !ok {
				return nil, "", badRequest(typeInvalidValue, "%s must be an object.", ext)
			}
			norm := map[string]any{}
			for ik, iv := range inner {
				a, ok := rs.extAttrs[strings.ToLower(ext)][strings.ToLower(ik)]
				if !ok || a.readOnly {
					continue
				}
				c, err := coerce(a, iv)
				if err != nil {
					return nil, "", err
				}
				if c != nil {
					norm[a.key] = c
				}
			}
			if len(norm) > 0 {
				res[ext] = norm
			}
		default:
			a, ok := rs.attrs[lk]
			if !ok || a.readOnly {
				continue
			}
			c, err := coerce(a, v)
			if err != nil {
				return nil, "", err
			}
			if c != nil {
				res[a.key] = c
			}
		}
	}
	if rs == usersSchema {
		if _, ok := res["userName"]; !ok {
			return nil, "", badRequest(typeInvalidValue, "userName is required and must not be empty.")
		}
	}
	return res, password, nil
}

// validate checks a normalized body (or a patched document) as the library's POST and PUT
// handlers do, with its validators: the core schema with externalId, then each extension
// present; an extension left empty is absent.
func (rs *resourceSchema) validate(m map[string]any) (map[string]any, *Error) {
	attrs, serr := rs.posted.Validate(m)
	if serr != nil {
		return nil, fromLibrary(*serr)
	}
	for _, e := range rs.extensions {
		inner := m[e.ID]
		if inner == nil {
			continue
		}
		v, serr := e.ValidateExtension(inner)
		if serr != nil {
			return nil, fromLibrary(*serr)
		}
		if len(v) > 0 {
			attrs[e.ID] = v
		}
	}
	return attrs, nil
}

// userIndexes derives the indexed copies of a user document: the singular strings filters
// and sorting use, the multi-valued elements, and the email a first SSO sign-in links by.
func userIndexes(doc map[string]any) (storage.Profile, []storage.Value, string) {
	s := func(m map[string]any, k string) string {
		v, _ := m[k].(string)
		return v
	}
	sub := func(m map[string]any, k string) map[string]any {
		v, _ := m[k].(map[string]any)
		return v
	}
	name := sub(doc, "name")
	ext := sub(doc, enterpriseURN)
	p := storage.Profile{
		DisplayName: s(doc, "displayName"), NickName: s(doc, "nickName"), ProfileURL: s(doc, "profileUrl"),
		Title: s(doc, "title"), UserType: s(doc, "userType"), PreferredLanguage: s(doc, "preferredLanguage"),
		Locale: s(doc, "locale"), Timezone: s(doc, "timezone"),
		NameFormatted: s(name, "formatted"), FamilyName: s(name, "familyName"), GivenName: s(name, "givenName"),
		MiddleName: s(name, "middleName"), HonorificPrefix: s(name, "honorificPrefix"), HonorificSuffix: s(name, "honorificSuffix"),
		EmployeeNumber: s(ext, "employeeNumber"), CostCenter: s(ext, "costCenter"), Organization: s(ext, "organization"),
		Division: s(ext, "division"), Department: s(ext, "department"), ManagerID: s(sub(ext, "manager"), "value"),
	}
	var values []storage.Value
	for _, set := range storage.ValueSets {
		list, _ := doc[string(set)].([]any)
		for _, el := range list {
			m, _ := el.(map[string]any)
			if m == nil {
				continue
			}
			var primary *bool
			if p, ok := m["primary"].(bool); ok {
				primary = &p
			}
			values = append(values, storage.Value{
				Attr: string(set), Value: s(m, "value"), Display: s(m, "display"), Type: s(m, "type"), Primary: primary,
				Formatted: s(m, "formatted"), StreetAddress: s(m, "streetAddress"), Locality: s(m, "locality"),
				Region: s(m, "region"), PostalCode: s(m, "postalCode"), Country: s(m, "country"),
			})
		}
	}
	return p, values, primaryEmail(values)
}

// primaryEmail picks the email to link sign-ins by: the primary one, else a work one, else
// the first.
func primaryEmail(values []storage.Value) string {
	var work, first string
	for _, v := range values {
		if v.Attr != string(storage.SetEmails) || v.Value == "" {
			continue
		}
		if v.Primary != nil && *v.Primary {
			return v.Value
		}
		if first == "" {
			first = v.Value
		}
		if work == "" && strings.EqualFold(v.Type, "work") {
			work = v.Value
		}
	}
	if work != "" {
		return work
	}
	return first
}
