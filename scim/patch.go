package scim

import (
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"

	scimerrors "github.com/elimity-com/scim/errors"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"

	"github.com/rollcall/rollcall/scim/expr"
)

// PATCH (RFC 7644 §3.5.2) is parsed and applied by Rollcall rather than the library: the
// library rejects forms Okta and Entra send (string booleans, a bare manager id, value
// filters of three terms) and applies nothing. Users are patched as a document in memory and
// validated against the schema afterwards; a group's members are patched in the database,
// operation by operation, without reading the member list.

// maxOperations bounds the operations of one PATCH request.
const maxOperations = 1000

type patchOp struct {
	op       string // add, replace or remove
	rawPath  string
	path     *filter.Path
	value    any
	hasValue bool
	// null is an add or replace whose value is an explicit JSON null: it unassigns what its
	// path names (RFC 7643 §2.5), as Entra sends to clear attributes.
	null bool
}

func readBody(r *http.Request) ([]byte, error) {
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, badRequest(typeInvalidSyntax, "The request body could not be read.")
	}
	return b, nil
}

// parsePatch reads a PatchOp body. Keys and op names are matched ignoring case.
func parsePatch(body []byte) ([]patchOp, *Error) {
	var req map[string]any
	if err := decodeJSON(body, &req); err != nil || req == nil {
		return nil, bodyError(body, err, "a PatchOp JSON object")
	}
	schemas, _ := lookupFold(req, "schemas")
	list, _ := schemas.([]any)
	ok := false
	for _, s := range list {
		if str, _ := s.(string); strings.EqualFold(str, patchOpURN) {
			ok = true
		}
	}
	if !ok {
		return nil, badRequest(typeInvalidValue, "schemas must be [%q].", patchOpURN)
	}
	rawOps, _ := lookupFold(req, "Operations")
	opsList, isList := rawOps.([]any)
	if !isList || len(opsList) == 0 {
		return nil, badRequest(typeInvalidValue, "Operations must be a non-empty array.")
	}
	if len(opsList) > maxOperations {
		return nil, badRequest(typeInvalidValue, "At most %d operations are allowed in one PATCH.", maxOperations)
	}
	ops := make([]patchOp, 0, len(opsList))
	for i, raw := range opsList {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, badRequest(typeInvalidSyntax, "Operation %d is not an object.", i+1)
		}
		var op patchOp
		name, _ := lookupFold(m, "op")
		s, _ := name.(string)
		op.op = strings.ToLower(s)
		if op.op != "add" && op.op != "replace" && op.op != "remove" {
			return nil, badRequest(typeInvalidValue, "Operation %d: op must be add, replace or remove; got %q.", i+1, s)
		}
		if p, ok := lookupFold(m, "path"); ok && p != nil {
			ps, ok := p.(string)
			if !ok {
				return nil, badRequest(typeInvalidPath, "Operation %d: path must be a string.", i+1)
			}
			if strings.TrimSpace(ps) != "" {
				ps = colonAfterURN(ps)
				parsed, err := expr.ParsePath(ps)
				if err != nil {
					return nil, badRequest(typeInvalidPath, "Operation %d: %s", i+1, err.Error())
				}
				op.path, op.rawPath = &parsed, ps
			}
		}
		var present bool
		op.value, present = lookupFold(m, "value")
		op.hasValue = present && op.value != nil
		op.null = present && op.value == nil && op.op != "remove"
		switch {
		case op.op != "remove" && !op.hasValue && !op.null:
			return nil, badRequest(typeInvalidValue, "Operation %d (%s) needs a value.", i+1, op.op)
		case op.op == "remove" && op.path == nil:
			return nil, badRequest(typeNoTarget, "Operation %d: remove needs a path.", i+1)
		}
		ops = append(ops, op)
	}
	return ops, nil
}

// docPatcher applies operations to a resource document (core attributes at the top, each
// extension's under its URN).
type docPatcher struct {
	rs  *resourceSchema
	res expr.Resolver
	doc map[string]any
	// skip lists top-level attributes handled elsewhere (a group's members).
	skip map[string]bool
	// idOf is the resource's id, which a path-less value may repeat (Okta does).
	id string
}

func mutability(a *attr) *Error {
	return badRequest(typeMutability, "%s is read-only and cannot be changed.", a.path())
}

// apply applies one operation.
func (dp *docPatcher) apply(op patchOp) *Error {
	if op.path == nil {
		values, ok := op.value.(map[string]any)
		if !ok {
			return badRequest(typeInvalidValue, "An %s without a path needs an object of attributes as its value.", op.op)
		}
		return dp.applyMap(op.op, values)
	}
	p := *op.path
	if s, ok := dp.res.Schema(p.AttributePath); ok && p.ValueExpression == nil && p.SubAttribute == nil {
		// The path is a whole extension: "urn:…:enterprise:2.0:User".
		if s.ID == dp.rs.core.ID {
			return badRequest(typeInvalidPath, "The path cannot be the core schema itself.")
		}
		if op.op == "remove" || op.null {
			delete(dp.doc, s.ID)
			return nil
		}
		values, ok := op.value.(map[string]any)
		if !ok {
			return badRequest(typeInvalidValue, "The value for %s must be an object.", s.ID)
		}
		return dp.applyMap(op.op, map[string]any{s.ID: values})
	}
	a, ok := dp.rs.lookup(p.AttributePath)
	if !ok {
		return badRequest(typeInvalidPath, "Unknown attribute %q in path %q.", p.AttributePath.String(), op.rawPath)
	}
	if a.readOnly || (a.parent != nil && a.parent.readOnly) {
		return mutability(a)
	}
	if op.null {
		// Assigning null unassigns what the path names (RFC 7643 §2.5): a replace, or an add
		// to a single value, is the remove of it. An add to a multi-valued attribute, or to
		// elements of one, adds values, and null adds none.
		if op.op == "add" && a.multiValued() && p.SubAttribute == nil {
			return nil
		}
		op.op, op.null = "remove", false
	}
	if p.ValueExpression != nil {
		if a.parent != nil || !a.multiValued() || !a.complex() {
			return badRequest(typeInvalidPath, "%q: [filters] apply to multi-valued complex attributes only.", op.rawPath)
		}
		var sub *attr
		if p.SubAttribute != nil {
			if sub, ok = a.sub(*p.SubAttribute); !ok {
				return badRequest(typeInvalidPath, "%s has no sub-attribute %q.", a.key, *p.SubAttribute)
			}
			if sub.readOnly {
				return mutability(sub)
			}
		}
		if err := dp.res.ValidatePath(p); err != nil {
			return badRequest(typeInvalidPath, "%s", err.Error())
		}
		return dp.applyFiltered(op, a, p.ValueExpression, sub)
	}
	if op.op == "remove" {
		return dp.remove(a, op)
	}
	return dp.set(op.op, a, op.value)
}

// applyMap applies a path-less add or replace: each key an attribute, a dotted
// ("name.givenName") or URN-qualified one, an extension container, or a path with a value
// filter ("emails[type eq \"work\"].value"), which applies as that path would. Unknown and
// read-only attributes are ignored, as on POST. An attribute named twice (as "name" and
// "name.givenName", or in its extension's container and by its URN) is refused: which one
// wins would otherwise depend on the order a map is walked in.
func (dp *docPatcher) applyMap(op string, values map[string]any) *Error {
	type entry struct {
		a   *attr
		key string // as sent, for messages
		v   any
	}
	var plain []entry
	var filtered, nulled []string
	filteredValue := map[string]any{}
	for k, v := range values {
		k = colonAfterURN(k) // "urn:…:User.manager", as a path may be written
		lk := strings.ToLower(k)
		if lk == "schemas" || lk == "meta" {
			continue
		}
		if strings.Contains(k, "[") {
			filtered = append(filtered, k)
			filteredValue[k] = v
			continue
		}
		if lk == "id" {
			if s, _ := v.(string); s != "" && s != dp.id {
				return badRequest(typeMutability, "id is read-only; the value names another resource.")
			}
			continue
		}
		if ext, ok := dp.rs.extension(k); ok {
			if v == nil { // null unassigns the extension, as at its path
				nulled = append(nulled, ext)
				continue
			}
			inner, ok := v.(map[string]any)
			if !ok {
				return badRequest(typeInvalidValue, "%s must be an object.", ext)
			}
			for ik, iv := range inner {
				a, ok := dp.rs.lookupKey(ext + ":" + ik) // "manager", or "manager.value"
				if !ok || a.readOnly || (a.parent != nil && a.parent.readOnly) {
					continue
				}
				plain = append(plain, entry{a, k + ":" + ik, iv})
			}
			continue
		}
		a, ok := dp.rs.lookupKey(k)
		if !ok || a.readOnly || (a.parent != nil && a.parent.readOnly) || dp.skip[strings.ToLower(a.key)] {
			continue
		}
		if v == nil && op == "add" && a.multiValued() {
			continue // an add of null adds no value, as at its path
		}
		plain = append(plain, entry{a, k, v})
	}
	// In path order: the same value is applied, or refused with the same message, every
	// time, and a complex attribute comes before its sub-attributes (its path is their prefix).
	slices.SortFunc(plain, func(x, y entry) int { return strings.Compare(x.a.path()+"\x00"+x.key, y.a.path()+"\x00"+y.key) })
	named := map[string]string{} // attribute path → the key that named it
	for _, e := range plain {
		path := e.a.path()
		other, twice := named[path]
		if e.a.parent != nil && !twice {
			other, twice = named[e.a.parent.path()]
		}
		if twice {
			return badRequest(typeInvalidValue, "The value names %s twice (as %q and %q); name each attribute once.",
				path, clip(other), clip(e.key))
		}
		named[path] = e.key
		if slices.Contains(nulled, e.a.ext) {
			return badRequest(typeInvalidValue, "The value names %s twice (as null and as %q); name each attribute once.",
				e.a.ext, clip(e.key))
		}
	}
	for _, ext := range nulled {
		delete(dp.doc, ext)
	}
	for _, e := range plain {
		if err := dp.set(op, e.a, e.v); err != nil {
			return err
		}
	}
	// Filtered keys apply after the plain ones, in a fixed order: a value holding both
	// "emails" and "emails[type eq \"work\"].value" means the same on every request.
	slices.Sort(filtered)
	for _, k := range filtered {
		if err := dp.applyPathKey(op, k, filteredValue[k]); err != nil {
			return err
		}
	}
	return nil
}

// colonAfterURN writes a path that joins a schema URN to its attribute with a dot
// ("urn:…:enterprise:2.0:User.manager", as Microsoft's SCIM Inbound collection sends it) with
// the colon RFC 7644 section 3.10 asks for. Only a known schema URN followed by a dot is
// rewritten, so nothing else can be read differently.
func colonAfterURN(path string) string {
	for _, urn := range []string{enterpriseURN, userURN, groupURN} {
		if len(path) > len(urn)+1 && strings.EqualFold(path[:len(urn)], urn) && path[len(urn)] == '.' {
			return path[:len(urn)] + ":" + path[len(urn)+1:]
		}
	}
	return path
}

// applyPathKey applies a path-less value's key that is a filtered path, as the same operation
// with that path. Silently skipping it would answer success for a change never made.
func (dp *docPatcher) applyPathKey(op, key string, v any) *Error {
	p, err := expr.ParsePath(key)
	if err != nil {
		return badRequest(typeInvalidPath, "The key %q of a path-less value: %s", clip(key), err.Error())
	}
	if dp.skip[strings.ToLower(p.AttributePath.AttributeName)] {
		if v == nil {
			return nil // handled by the members patcher (memberPatcher.apply), which removes them
		}
		return badRequest(typeInvalidPath, "The key %q of a path-less value: send a filter on %s as the operation's path.",
			clip(key), p.AttributePath.AttributeName)
	}
	// A null unassigns, as it does for every other key of a path-less value.
	return dp.apply(patchOp{op: op, rawPath: key, path: &p, value: v, hasValue: v != nil, null: v == nil})
}

// container returns the map holding attribute a (the document, an extension's map, or the
// map of a single-valued complex parent), creating it when create is set.
func (dp *docPatcher) container(a *attr, create bool) map[string]any {
	m := dp.doc
	if a.ext != "" {
		inner, _ := m[a.ext].(map[string]any)
		if inner == nil {
			if !create {
				return nil
			}
			inner = map[string]any{}
			m[a.ext] = inner
		}
		m = inner
	}
	if a.parent != nil {
		parent, _ := m[a.parent.key].(map[string]any)
		if parent == nil {
			if !create {
				return nil
			}
			parent = map[string]any{}
			m[a.parent.key] = parent
		}
		m = parent
	}
	return m
}

// set applies add or replace of a value at an attribute without a filter.
func (dp *docPatcher) set(op string, a *attr, v any) *Error {
	if a.parent != nil && a.parent.multiValued() {
		// "emails.value": the sub-attribute of every element.
		cv, err := coerce(a, v)
		if err != nil {
			return err
		}
		if cv == nil {
			return dp.remove(a, patchOp{op: "remove"})
		}
		list, _ := dp.container(a.parent, false)[a.parent.key].([]any)
		for _, el := range list {
			if m, ok := el.(map[string]any); ok {
				m[a.key] = cv
			}
		}
		return nil
	}
	cv, err := coerce(a, v)
	if err != nil {
		return err
	}
	if a.complex() && !a.multiValued() {
		raw := v
		if l, ok := v.([]any); ok && len(l) == 1 {
			raw = l[0] // Entra's legacy form: the value wrapped in a one-element list
		}
		if rm, ok := raw.(map[string]any); ok {
			return dp.merge(a, rm, cv)
		}
	}
	m := dp.container(a, cv != nil)
	if m == nil {
		return nil
	}
	if cv == nil {
		delete(m, a.key)
		return nil
	}
	switch {
	case a.multiValued():
		// Elements this operation makes hold content, or are not made (see dropEmptied).
		added, _ := cv.([]any)
		added = slices.DeleteFunc(added, func(el any) bool {
			em, ok := el.(map[string]any)
			return ok && !hasContent(em)
		})
		if err := onePrimary(a.key, added); err != nil {
			return err
		}
		if op == "replace" {
			if len(added) == 0 {
				delete(m, a.key)
				return nil
			}
			m[a.key] = clearExtraPrimaries(added, -1)
			return nil
		}
		list, _ := m[a.key].([]any)
		for _, el := range added {
			i := indexOfValue(list, el)
			if i < 0 {
				list, i = append(list, el), len(list)
			} else if em, ok := el.(map[string]any); ok {
				// The value is there already: what else is given updates it (a primary flag
				// moved to it, a type), as a replace of that element would.
				if cur, ok := list[i].(map[string]any); ok {
					maps.Copy(cur, em)
				}
			}
			if isPrimary(list[i]) {
				list = clearExtraPrimaries(list, i)
			}
		}
		m[a.key] = list
	case a.complex():
		// Both add and replace merge the sub-attributes given (RFC 7644 §3.5.2.1, §3.5.2.3).
		cur, _ := m[a.key].(map[string]any)
		if cur == nil {
			cur = map[string]any{}
		}
		for k, sv := range cv.(map[string]any) {
			cur[k] = sv
		}
		m[a.key] = cur
	default:
		m[a.key] = cv
	}
	return nil
}

// merge applies the sub-attributes of an object given for a single-valued complex attribute
// (name, manager): add and replace both merge them (RFC 7644 §3.5.2.1, §3.5.2.3), those not
// given stay, and one given as null or "" is unassigned (RFC 7643 §2.5). cv is raw, coerced.
func (dp *docPatcher) merge(a *attr, raw map[string]any, cv any) *Error {
	m := dp.container(a, true)
	cur, _ := m[a.key].(map[string]any)
	if cur == nil {
		cur = map[string]any{}
	}
	for k, sv := range raw {
		if sub, ok := a.sub(k); ok {
			if c, err := coerceSimple(sub, sv); err == nil && c == nil {
				delete(cur, sub.key)
			}
		}
	}
	given, _ := cv.(map[string]any)
	for k, sv := range given {
		cur[k] = sv
	}
	if len(cur) == 0 {
		delete(m, a.key)
		return nil
	}
	m[a.key] = cur
	return nil
}

// remove removes an attribute (path without a filter). A value on a multi-valued attribute
// removes just the elements listed (Entra's legacy form), never the whole attribute.
func (dp *docPatcher) remove(a *attr, op patchOp) *Error {
	if a.parent != nil && a.parent.multiValued() {
		m := dp.container(a.parent, false)
		list, _ := m[a.parent.key].([]any)
		if list == nil {
			return nil
		}
		had := contentOf(list, nil)
		for _, el := range list {
			if em, ok := el.(map[string]any); ok {
				delete(em, a.key)
			}
		}
		dropEmptied(m, a.parent.key, list, had)
		return nil
	}
	m := dp.container(a, false)
	if m == nil {
		return nil
	}
	if op.hasValue && a.multiValued() {
		drop, err := coerce(a, op.value)
		if err != nil {
			return err
		}
		list, _ := m[a.key].([]any)
		kept := list[:0:0]
		for _, el := range list {
			if !containsValue(drop.([]any), el) {
				kept = append(kept, el)
			}
		}
		m[a.key] = kept
		return nil
	}
	delete(m, a.key)
	return nil
}

// applyFiltered applies an operation to the elements of a multi-valued attribute that match
// a value filter. An add or replace that matches nothing creates the element when the filter
// pins it down (emails[type eq "work"].value on a user with no work email, SPEC §8.5);
// otherwise it is 400 noTarget. A remove that matches nothing changes nothing.
func (dp *docPatcher) applyFiltered(op patchOp, a *attr, f filter.Expression, sub *attr) *Error {
	m := dp.container(a, op.op != "remove")
	if m == nil {
		return nil
	}
	list, _ := m[a.key].([]any)
	var matched []int
	for i, el := range list {
		if em, ok := el.(map[string]any); ok && dp.res.MatchElement(filter.AttributePath{AttributeName: a.key, URIPrefix: uriOf(a)}, f, em) {
			matched = append(matched, i)
		}
	}
	if op.op == "remove" {
		if sub != nil {
			had := contentOf(list, matched)
			for _, i := range matched {
				delete(list[i].(map[string]any), sub.key)
			}
			dropEmptied(m, a.key, list, had)
			return nil
		}
		kept := list[:0:0]
		for i, el := range list {
			if !contains(matched, i) {
				kept = append(kept, el)
			}
		}
		m[a.key] = kept
		return nil
	}
	var patch map[string]any
	if sub != nil {
		v, err := coerce(sub, op.value)
		if err != nil {
			return err
		}
		patch = map[string]any{sub.key: v}
	} else {
		v, err := coerceElement(a, op.value)
		if err != nil {
			return err
		}
		pm, ok := v.(map[string]any)
		if _, obj := op.value.(map[string]any); !ok && obj {
			pm, ok = map[string]any{}, true // every sub-attribute given was null or ""
		}
		if !ok {
			return badRequest(typeInvalidValue, "The value for %q must be an object.", op.rawPath)
		}
		patch = pm
	}
	had := contentOf(list, matched)
	// The sub-attributes a filter of equalities fixes (type eq "work"): a new element gets them,
	// and so does one replaced whole unless the value sets them, so that the same request
	// matches the same element next time instead of adding another.
	seed := map[string]any{}
	if eq, ok := equalities(f); ok {
		for k, v := range eq {
			if s, ok := a.sub(k); ok {
				if cv, err := coerceSimple(s, v); err == nil && cv != nil {
					seed[s.key] = cv
				}
			}
		}
	} else if len(matched) == 0 {
		return badRequest(typeNoTarget, "No value of %s matches %q.", a.key, op.rawPath)
	}
	if len(matched) == 0 {
		list = append(list, maps.Clone(seed))
		matched = []int{len(list) - 1}
		had[len(list)-1] = true // made by this operation: dropped if it is left empty
	}
	for _, i := range matched {
		el := list[i].(map[string]any)
		if op.op == "replace" && sub == nil {
			el = maps.Clone(seed)
			list[i] = el
		}
		for k, v := range patch {
			if v == nil {
				delete(el, k)
			} else {
				el[k] = v
			}
		}
		// An element about to be dropped takes the primary flag from no other.
		if dropped := had[i] && !hasContent(el); isPrimary(el) && !dropped {
			list = clearExtraPrimaries(list, i)
		}
	}
	dropEmptied(m, a.key, list, had)
	return nil
}

func uriOf(a *attr) *string {
	if a.ext == "" {
		return nil
	}
	s := a.ext
	return &s
}

// equalities returns the sub-attribute values a filter made only of eq comparisons joined by
// and fixes, such as type eq "work".
func equalities(f filter.Expression) (map[string]any, bool) {
	out := map[string]any{}
	var walk func(f filter.Expression) bool
	walk = func(f filter.Expression) bool {
		switch x := f.(type) {
		case *filter.LogicalExpression:
			return strings.EqualFold(string(x.Operator), "and") && walk(x.Left) && walk(x.Right)
		case *filter.AttributeExpression:
			if x.Operator != filter.EQ || x.AttributePath.SubAttribute != nil {
				return false
			}
			out[x.AttributePath.AttributeName] = x.CompareValue
			return true
		}
		return false
	}
	return out, walk(f)
}

func contains(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// containsValue reports whether list holds el, comparing complex values by their "value"
// sub-attribute when both have one (so removing {"value": "x"} removes x whatever its other
// sub-attributes), else whole.
func containsValue(list []any, el any) bool { return indexOfValue(list, el) >= 0 }

// indexOfValue is the position in list of the element holding el's value (the whole element
// when it has no value sub-attribute), or -1.
func indexOfValue(list []any, el any) int {
	ev, eok := valueOf(el)
	for i, x := range list {
		if xv, ok := valueOf(x); ok && eok {
			if xv == ev {
				return i
			}
			continue
		}
		if reflect.DeepEqual(x, el) {
			return i
		}
	}
	return -1
}

func valueOf(el any) (any, bool) {
	m, ok := el.(map[string]any)
	if !ok {
		return nil, false
	}
	v, ok := m["value"]
	return v, ok && v != nil
}

// onePrimary refuses a list of values of attribute key with more than one primary (RFC 7643
// section 2.4): POST, PUT and PATCH alike.
func onePrimary(key string, list []any) *Error {
	n := 0
	for _, el := range list {
		if isPrimary(el) {
			n++
		}
	}
	if n > 1 {
		return badRequest(typeInvalidValue, "At most one of %s may have \"primary\": true (RFC 7643 section 2.4).", key)
	}
	return nil
}

func isPrimary(el any) bool {
	m, _ := el.(map[string]any)
	p, _ := m["primary"].(bool)
	return p
}

// clearExtraPrimaries leaves at most one element with primary true (RFC 7643 §2.4): the one
// at keep, or the first when keep is -1.
func clearExtraPrimaries(list []any, keep int) []any {
	seen := false
	for i, el := range list {
		if !isPrimary(el) {
			continue
		}
		if (keep >= 0 && i != keep) || (keep < 0 && seen) {
			delete(el.(map[string]any), "primary")
		}
		seen = true
	}
	return list
}

// validateDoc checks a patched document against the schema with the library's validator (the
// same one POST and PUT bodies pass) and returns its canonical form.
func validateDoc(rs *resourceSchema, doc map[string]any, externalID string) (map[string]any, *Error) {
	// Round-trip through JSON so the validator sees plain decoded values.
	b, _ := json.Marshal(doc)
	var in map[string]any
	_ = json.Unmarshal(b, &in)
	in["schemas"] = []any{rs.core.ID}
	if externalID != "" {
		in["externalId"] = externalID
	}
	pruneEmpty(in)
	out, serr := rs.validate(in)
	if serr != nil {
		return nil, serr
	}
	delete(out, "schemas")
	return out, nil
}

// valueCounts is how many values each multi-valued attribute of a document holds.
func valueCounts(doc map[string]any) map[string]int {
	n := map[string]int{}
	for k, v := range doc {
		if list, ok := v.([]any); ok {
			n[k] = len(list)
		}
	}
	return n
}

// checkGrowth bounds what a PATCH's operations add up to as a POST bounds a value: each
// operation's value is checked on its own, and a resource a client reads back must be one it
// can PUT. An attribute that held more before (written when no such check was made) may
// shrink or stay as it is, so that its user can still be patched, deactivated above all.
func checkGrowth(before map[string]int, doc map[string]any) *Error {
	for k, v := range doc {
		if list, ok := v.([]any); ok && len(list) > maxElements && len(list) > before[k] {
			return badRequest(typeInvalidValue, "%s: at most %d values are allowed.", k, maxElements)
		}
	}
	return nil
}

// pruneEmpty drops the complex values, and extension containers, that operations left with
// no sub-attribute (removing manager.value leaves manager {}): RFC 7643 §2.5 treats an
// attribute without a value as unassigned, and unassigned attributes are not returned.
func pruneEmpty(m map[string]any) {
	for k, v := range m {
		inner, ok := v.(map[string]any)
		if !ok {
			continue
		}
		pruneEmpty(inner)
		if len(inner) == 0 {
			delete(m, k)
		}
	}
}

// contentOf records which elements of list (those at idx; every one when idx is nil) hold
// content (hasContent) before an operation changes them, for dropEmptied.
func contentOf(list []any, idx []int) map[int]bool {
	had := map[int]bool{}
	for i, el := range list {
		if em, ok := el.(map[string]any); ok && (idx == nil || slices.Contains(idx, i)) && hasContent(em) {
			had[i] = true
		}
	}
	return had
}

// dropEmptied stores list as m[key] without the elements an operation emptied: those that held
// content before it (had, from contentOf, or made by it) and hold nothing now but a type and a
// primary flag. Entra clears a work email by setting emails[type eq "work"].value to "" or
// null, and an email without an address is no email. A list so left with no element is
// unassigned. Elements that held no more before the operation stay as they were stored, so
// that a PATCH which changes nothing writes nothing, unless it left them with no field at all.
func dropEmptied(m map[string]any, key string, list []any, had map[int]bool) {
	kept := list[:0:0]
	dropped := false
	for i, el := range list {
		if em, ok := el.(map[string]any); ok && (had[i] && !hasContent(em) || len(em) == 0) {
			dropped = true
			continue
		}
		kept = append(kept, el)
	}
	if len(kept) == 0 && dropped {
		delete(m, key)
		return
	}
	m[key] = kept
}

// hasContent reports whether an element of a multi-valued attribute holds anything besides
// the type and primary flag that qualify its value.
func hasContent(el map[string]any) bool {
	for k, v := range el {
		if v != nil && !strings.EqualFold(k, "type") && !strings.EqualFold(k, "primary") {
			return true
		}
	}
	return false
}

// withExternalID is the core schema plus externalId, as the library validates POST bodies.
func withExternalID(s schema.Schema) schema.Schema {
	for _, a := range schema.CommonAttributes() {
		if a.Name() == "externalId" {
			attrs := make([]schema.CoreAttribute, 0, len(s.Attributes)+1)
			s.Attributes = append(append(attrs, s.Attributes...), a)
		}
	}
	return s
}

// fromLibrary turns a library validation error into ours, keeping its status and type.
func fromLibrary(e scimerrors.ScimError) *Error {
	detail := e.Detail
	if detail == "" {
		detail = "The resource does not fit its schema."
	}
	return &Error{Status: e.Status, ScimType: string(e.ScimType), Detail: detail}
}

// patchAnswer is whether a PATCH answers with the resource (200) or nothing (204).
func patchWantsBody(r *http.Request) bool {
	q := r.URL.Query()
	return q.Get("attributes") != "" || q.Get("excludedAttributes") != ""
}
