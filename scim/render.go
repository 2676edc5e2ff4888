package scim

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/scim2/filter-parser/v2"

	"github.com/rollcall/rollcall/scim/expr"
)

// timeLayout shows meta.created and meta.lastModified as they are stored: in UTC, to the
// microsecond (xsd:dateTime allows any fraction of a second). Shown to the second, two
// changes within one second looked alike, and a client reading changes since a watermark
// with a fraction of a second (an Entra delta read) could not be answered right: the change
// made later in that second was either missed or shown with a time before the watermark.
const timeLayout = "2006-01-02T15:04:05.000000Z07:00"

// timeUnit is the precision of timeLayout and of the stored times.
const timeUnit = time.Microsecond

func formatTime(t time.Time) string { return t.UTC().Format(timeLayout) }

// etag is the weak entity tag of a resource version (RFC 7644 §3.14).
func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// checkPreconditions enforces a write's If-Match and If-None-Match headers against the
// resource's current version (RFC 7232 §3.1-3.2, which RFC 7644 §3.14 builds on): 412 when
// If-Match lists no tag that matches, or when If-None-Match lists one that does or is "*"
// (the resource exists). Weak comparison, as RFC 7232 allows on SCIM's weak tags.
func checkPreconditions(r *http.Request, version int64) *Error {
	if h := r.Header.Get("If-Match"); h != "" && !matchesETag(h, version) {
		return errorf(http.StatusPreconditionFailed, "", "The resource has changed: If-Match %s does not match its version %s.", h, etag(version))
	}
	if h := r.Header.Get("If-None-Match"); h != "" && matchesETag(h, version) {
		return errorf(http.StatusPreconditionFailed, "", "If-None-Match %s matches the resource's version %s: the resource exists as it is.", h, etag(version))
	}
	return nil
}

// matchesETag reports whether a comma-separated list of entity tags (or "*") includes the
// version, comparing weakly (W/ is ignored).
func matchesETag(header string, version int64) bool {
	want := strconv.FormatInt(version, 10)
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" {
			return true
		}
		t = strings.TrimPrefix(t, "W/")
		if strings.Trim(t, `"`) == want && len(t) >= 2 && t[0] == '"' && t[len(t)-1] == '"' {
			return true
		}
	}
	return false
}

// location is the absolute URL of a resource.
func (h *Handler) location(rs *resourceSchema, id string) string {
	return h.cfg.BaseURL + Prefix + rs.endpoint + "/" + url.PathEscape(id)
}

// meta is the rendered meta attribute, its times in timeLayout.
type meta struct {
	ResourceType string `json:"resourceType"`
	Created      string `json:"created,omitempty"`
	LastModified string `json:"lastModified,omitempty"`
	Location     string `json:"location"`
	Version      string `json:"version,omitempty"`
}

// stored is what every resource has besides its attributes.
type stored struct {
	id, externalID   string
	created, updated time.Time
	version          int64
	// members: a group created with members, which its answer streams from the store.
	members bool
}

// libraryResource is the form the elimity server renders (for POST and PUT answers).
func libraryResource(s stored, attrs map[string]any) scim.Resource {
	res := scim.Resource{ID: s.id, Attributes: attrs, Meta: scim.Meta{
		Created: &s.created, LastModified: &s.updated, Version: etag(s.version),
	}}
	if s.externalID != "" {
		res.ExternalID = optional.NewString(s.externalID)
	}
	return res
}

// render builds a resource exactly as the library renders one (so GET and list answers look
// like POST and PUT answers), then applies the projection.
func (h *Handler) render(rs *resourceSchema, s stored, attrs map[string]any, p projection) map[string]any {
	out := make(map[string]any, len(attrs)+4)
	for k, v := range attrs {
		out[k] = v
	}
	out["id"] = s.id
	if s.externalID != "" {
		out["externalId"] = s.externalID
	}
	schemas := []string{rs.core.ID}
	for _, e := range rs.extensions {
		schemas = append(schemas, e.ID)
	}
	out["schemas"] = schemas
	out["meta"] = meta{
		ResourceType: rs.name,
		Created:      formatTime(s.created),
		LastModified: formatTime(s.updated),
		Location:     h.location(rs, s.id),
		Version:      etag(s.version),
	}
	p.apply(out)
	return out
}

// projection is a request's attributes or excludedAttributes (RFC 7644 §3.4.2.5), as
// lower-cased paths: "username", "name.givenname", "urn:…:user:employeenumber", "members".
type projection struct {
	include  map[string]bool
	exclude  map[string]bool
	explicit bool // attributes was given
	// elements holds, for a multi-valued attribute that attributes named only with value
	// filters (emails[type eq "work"]), the filters an element must match one of to be
	// returned.
	elements map[string][]func(map[string]any) bool
}

// parseProjection reads attributes and excludedAttributes from a query: comma-separated
// lists.
func parseProjection(rs *resourceSchema, attributes, excluded string) (projection, *Error) {
	return projectionOf(rs, splitAttributeList(attributes), splitAttributeList(excluded))
}

// maxElementTerms bounds the comparisons of all value filters in one attributes list: each
// is evaluated on every element of every resource returned.
const maxElementTerms = 16

// projectionOf reads attributes and excludedAttributes given as lists (as a search body
// holds them).
//
// RFC 7644 asks for plain attribute paths there. attributes also takes a value filter on a
// multi-valued attribute, as Microsoft's SCIM reference server and its test collection do:
// attributes=emails[type eq "work"] returns only the work emails, and
// emails[type eq "work"].value only their value. An attribute named with several filters
// returns the elements any of them matches, with the sub-attributes any of them names; named
// also without a filter, it returns all its elements.
func projectionOf(rs *resourceSchema, attributes, excluded []string) (projection, *Error) {
	var p projection
	// unfiltered are the attributes also named without a value filter: all their elements
	// are returned.
	unfiltered := map[string]bool{}
	terms := 0
	parse := func(list []string, filters bool) (map[string]bool, *Error) {
		m := map[string]bool{}
		for _, raw := range list {
			raw = strings.TrimSpace(raw)
			if raw == "" {
				continue
			}
			if len(raw) > 200 || strings.ContainsAny(raw, " []()\"") {
				if !filters || !strings.Contains(raw, "[") {
					return nil, badRequest(typeInvalidValue, "%q is not an attribute path.", clip(raw))
				}
				key, sub, keep, n, err := elementFilter(rs, raw)
				if err != nil {
					return nil, err
				}
				if terms += n; terms > maxElementTerms {
					return nil, badRequest(typeInvalidValue, "The value filters in attributes hold more than %d comparisons in all.", maxElementTerms)
				}
				m[key+sub] = true
				if p.elements == nil {
					p.elements = map[string][]func(map[string]any) bool{}
				}
				p.elements[key] = append(p.elements[key], keep)
				continue
			}
			path := canonicalPath(rs, raw)
			m[path] = true
			prefix, rest := "", path
			if i := strings.LastIndexByte(path, ':'); i >= 0 {
				prefix, rest = path[:i+1], path[i+1:]
			}
			top, _, _ := strings.Cut(rest, ".")
			unfiltered[prefix+top] = true
		}
		return m, nil
	}
	var err *Error
	if len(attributes) > 0 {
		if p.include, err = parse(attributes, true); err != nil {
			return p, err
		}
		p.explicit = len(p.include) > 0
		for k := range unfiltered {
			delete(p.elements, k)
		}
	}
	if len(excluded) > 0 {
		if p.exclude, err = parse(excluded, false); err != nil {
			return p, err
		}
	}
	return p, nil
}

// clip shortens a client's text quoted back in an error, at a character boundary.
func clip(s string) string { return clipTo(s, 120) }

// clipTo cuts s to at most most bytes of whole characters, marking the cut with "…".
func clipTo(s string, most int) string {
	if len(s) <= most {
		return s
	}
	n := most
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// splitAttributeList splits a comma-separated attributes list, leaving commas inside value
// filters (brackets and quoted strings) alone.
func splitAttributeList(list string) []string {
	if list == "" {
		return nil
	}
	var out []string
	depth, quoted, start := 0, false, 0
	for i := 0; i < len(list); i++ {
		switch c := list[i]; {
		case quoted && c == '\\':
			i++
		case c == '"':
			quoted = !quoted
		case quoted:
		case c == '[':
			depth++
		case c == ']':
			depth--
		case c == ',' && depth <= 0:
			out = append(out, list[start:i])
			start = i + 1
		}
	}
	return append(out, list[start:])
}

// elementFilter reads one attributes entry with a value filter on a multi-valued complex
// attribute: the attribute's projection key, the sub-attribute part of the path (".value"
// or ""), the test an element passes and the comparisons it holds.
func elementFilter(rs *resourceSchema, raw string) (string, string, func(map[string]any) bool, int, *Error) {
	path, err := expr.ParsePath(raw)
	if err != nil || path.ValueExpression == nil {
		return "", "", nil, 0, badRequest(typeInvalidValue, "%q is not an attribute path or a value filter on one.", clip(raw))
	}
	res, name := resolverFor(rs), expr.FormatPath(filter.Path{AttributePath: path.AttributePath})
	if a, ok := res.Attribute(path.AttributePath); !ok || a.Sub != nil || !a.Attribute.MultiValued() {
		return "", "", nil, 0, badRequest(typeInvalidValue, "attributes: %q is not a multi-valued attribute; only those take a value filter.", clip(name))
	}
	if err := res.ValidatePath(path); err != nil {
		var ve *expr.ValidationError
		if errors.As(err, &ve) {
			return "", "", nil, 0, badRequest(typeInvalidValue, "attributes: %s: %s", clip(ve.Attribute), ve.Msg)
		}
		return "", "", nil, 0, badRequest(typeInvalidValue, "attributes: %q is not a valid value filter.", clip(raw))
	}
	keep, err := res.ElementMatcher(path.AttributePath, path.ValueExpression)
	if err != nil {
		return "", "", nil, 0, badRequest(typeInvalidValue, "attributes: %q is not a valid value filter.", clip(raw))
	}
	key, sub := canonicalPath(rs, name), ""
	if path.SubAttribute != nil {
		sub = "." + strings.ToLower(*path.SubAttribute)
	}
	return key, sub, keep, countTerms(path.ValueExpression), nil
}

// countTerms counts the comparisons of a filter.
func countTerms(e filter.Expression) int {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		return countTerms(e.Left) + countTerms(e.Right)
	case *filter.NotExpression:
		return countTerms(e.Expression)
	case *filter.ValuePath:
		return countTerms(e.ValueFilter)
	}
	return 1
}

// canonicalPath lower-cases a path and drops the core schema's URN prefix, so that
// "urn:…:core:2.0:User:userName" and "userName" are the same path.
func canonicalPath(rs *resourceSchema, path string) string {
	lp := strings.ToLower(path)
	if core := strings.ToLower(rs.core.ID) + ":"; strings.HasPrefix(lp, core) {
		lp = lp[len(core):]
	}
	return lp
}

// wants reports whether the attribute at the top-level path (lower-cased) is returned, so
// that expensive attributes (members, groups) are not even read when they are not.
func (p projection) wants(path string) bool {
	if p.explicit {
		if p.include[path] {
			return true
		}
		for k := range p.include {
			if strings.HasPrefix(k, path+".") {
				return true
			}
		}
		return false
	}
	return !p.exclude[path]
}

// apply removes what the projection leaves out. id and schemas are always returned.
func (p projection) apply(res map[string]any) {
	if !p.explicit && len(p.exclude) == 0 {
		return
	}
	for k, v := range res {
		lk := strings.ToLower(k)
		if lk == "id" || lk == "schemas" {
			continue
		}
		if strings.HasPrefix(lk, "urn:") {
			inner, ok := v.(map[string]any)
			if !ok {
				continue
			}
			if p.explicit && p.include[lk] {
				continue
			}
			if p.exclude[lk] {
				delete(res, k)
				continue
			}
			p.filter(lk+":", inner)
			if len(inner) == 0 {
				delete(res, k)
			}
			continue
		}
		p.filterOne(res, k, lk, v)
	}
}

func (p projection) filter(prefix string, m map[string]any) {
	for k, v := range m {
		p.filterOne(m, k, prefix+strings.ToLower(k), v)
	}
}

// filterOne decides one attribute (path lk) of m, descending into sub-attributes when only
// some of them are named.
func (p projection) filterOne(m map[string]any, k, lk string, v any) {
	if p.exclude[lk] {
		delete(m, k)
		return
	}
	if p.explicit && !p.wants(lk) {
		delete(m, k)
		return
	}
	switch x := v.(type) {
	case map[string]any:
		m[k] = p.subAttributes(lk, x)
	case []any:
		out := make([]any, 0, len(x))
		for _, el := range x {
			if el, ok := p.element(lk, el); ok {
				out = append(out, el)
			}
		}
		if len(out) == 0 && p.elements[lk] != nil {
			delete(m, k)
			return
		}
		m[k] = out
	case meta:
		if p.explicit && !p.include[lk] {
			sm := map[string]any{}
			for sk, sv := range map[string]string{"resourcetype": x.ResourceType, "created": x.Created,
				"lastmodified": x.LastModified, "location": x.Location, "version": x.Version} {
				if p.include[lk+"."+sk] {
					sm[metaKey(sk)] = sv
				}
			}
			m[k] = sm
		}
	}
}

// element projects one element of the multi-valued attribute at path lk: whether a value
// filter keeps it, and which of its sub-attributes are returned.
func (p projection) element(lk string, el any) (any, bool) {
	em, ok := el.(map[string]any)
	if keep := p.elements[lk]; keep != nil && (!ok || !slices.ContainsFunc(keep, func(f func(map[string]any) bool) bool { return f(em) })) {
		return nil, false
	}
	if ok {
		return p.subAttributes(lk, em), true
	}
	return el, true
}

// subAttributes returns a copy of the complex value at path lk with the sub-attributes the
// projection returns.
func (p projection) subAttributes(lk string, m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for sk, v := range m {
		sp := lk + "." + strings.ToLower(sk)
		if !p.exclude[sp] && (!p.explicit || p.include[lk] || p.include[sp]) {
			out[sk] = v
		}
	}
	return out
}

func metaKey(lower string) string {
	switch lower {
	case "resourcetype":
		return "resourceType"
	case "lastmodified":
		return "lastModified"
	}
	return lower
}

// writeResource answers with one resource, its ETag and Content-Location.
func (h *Handler) writeResource(w http.ResponseWriter, status int, rs *resourceSchema, s stored, res map[string]any) {
	w.Header().Set("ETag", etag(s.version))
	w.Header().Set("Content-Location", h.location(rs, s.id))
	writeJSON(w, status, res)
}
