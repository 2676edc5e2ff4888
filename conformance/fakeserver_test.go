package conformance

// A small in-memory SCIM service provider that behaves as the suite expects,
// so the suite itself is tested end to end without Rollcall's server. It is
// a test double, not a reference implementation: it knows only the
// attributes the suite uses.

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
)

type attrDef struct {
	name    string
	multi   bool
	complex bool
	boolean bool
	subs    []string
}

func defs(list ...attrDef) map[string]attrDef {
	m := map[string]attrDef{}
	for _, d := range list {
		m[strings.ToLower(d.name)] = d
	}
	return m
}

var (
	multiSubs = []string{"value", "display", "type", "primary", "$ref"}
	userDefs  = defs(attrDef{name: "userName"}, attrDef{name: "name", complex: true, subs: []string{"formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix"}}, attrDef{name: "displayName"}, attrDef{name: "nickName"}, attrDef{name: "title"}, attrDef{name: "userType"}, attrDef{name: "preferredLanguage"}, attrDef{name: "locale"}, attrDef{name: "timezone"}, attrDef{name: "active", boolean: true}, attrDef{name: "password"}, attrDef{name: "externalId"}, attrDef{name: "emails", multi: true, complex: true, subs: multiSubs}, attrDef{name: "phoneNumbers", multi: true, complex: true, subs: multiSubs}, attrDef{name: "addresses", multi: true, complex: true, subs: []string{"formatted", "streetAddress", "locality", "region", "postalCode", "country", "type", "primary"}}, attrDef{name: "roles", multi: true, complex: true, subs: multiSubs})
	entDefs   = defs(attrDef{name: "employeeNumber"}, attrDef{name: "costCenter"}, attrDef{name: "organization"}, attrDef{name: "division"}, attrDef{name: "department"}, attrDef{name: "manager", complex: true, subs: []string{"value", "$ref", "displayName"}})
	groupDefs = defs(attrDef{name: "displayName"}, attrDef{name: "externalId"}, attrDef{name: "members", multi: true, complex: true, subs: []string{"value", "$ref", "display", "type"}})
)

type scimErr struct {
	status   int
	scimType string
	detail   string
}

func (e *scimErr) Error() string { return e.detail }

func bad(scimType, format string, args ...any) *scimErr {
	return &scimErr{http.StatusBadRequest, scimType, fmt.Sprintf(format, args...)}
}

type fakeRes struct {
	id, kind, owner string
	attrs           map[string]any
	created, mod    time.Time
	version, seq    int
}

type fakeServer struct {
	mu     sync.Mutex
	seq    int
	res    map[string]*fakeRes // by id, users and groups
	tokens map[string]string   // bearer token → connection
	base   string              // absolute base URL, set once listening
	bug    string              // one deliberate defect, for mutation tests
}

func newFakeServer(tokens map[string]string) *fakeServer {
	return &fakeServer{res: map[string]*fakeRes{}, tokens: tokens}
}

func (s *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := strings.CutPrefix(r.URL.Path, "/scim/v2")
	if !ok {
		writeErr(w, &scimErr{http.StatusNotFound, "", "not found"})
		return
	}
	auth := r.Header.Get("Authorization")
	tok, isBearer := strings.CutPrefix(auth, "Bearer ")
	conn := s.tokens[tok]
	if !isBearer || conn == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="scim"`)
		s.writeErr(w, &scimErr{http.StatusUnauthorized, "", "invalid or missing bearer token"})
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parts := strings.Split(strings.Trim(p, "/"), "/")
	var err *scimErr
	switch {
	case p == "/ServiceProviderConfig" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, s.spc())
	case p == "/ResourceTypes" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, listOf(s.resourceTypes()))
	case p == "/Schemas" && r.Method == http.MethodGet:
		writeJSON(w, http.StatusOK, listOf(fakeSchemas()))
	case len(parts) == 2 && parts[0] == "Schemas" && r.Method == http.MethodGet:
		err = &scimErr{http.StatusNotFound, "", "no such schema"}
		for _, sc := range fakeSchemas() {
			if sc.(map[string]any)["id"] == parts[1] {
				writeJSON(w, http.StatusOK, sc)
				err = nil
			}
		}
	case (parts[0] == "Users" || parts[0] == "Groups") && len(parts) <= 2:
		kind := strings.TrimSuffix(parts[0], "s")
		id := ""
		if len(parts) == 2 {
			id = parts[1]
		}
		err = s.resource(w, r, kind, id, conn)
	default:
		err = &scimErr{http.StatusNotFound, "", "no such endpoint"}
	}
	if err != nil {
		s.writeErr(w, err)
	}
}

func (s *fakeServer) resource(w http.ResponseWriter, r *http.Request, kind, id, conn string) *scimErr {
	var res *fakeRes
	if id != "" {
		res = s.res[id]
		if res == nil || res.kind != kind || (kind == "User" && r.Method != http.MethodGet && res.owner != conn && s.bug != "ownership ignored") {
			return &scimErr{http.StatusNotFound, "", fmt.Sprintf("%s %s not found", kind, id)}
		}
		if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != etag(res) && s.bug != "If-Match ignored" {
			return &scimErr{http.StatusPreconditionFailed, "", "version mismatch"}
		}
	}
	switch {
	case r.Method == http.MethodGet && id == "":
		return s.list(w, r, kind)
	case r.Method == http.MethodGet:
		s.write(w, r, http.StatusOK, res)
	case r.Method == http.MethodPost && id == "":
		body, err := s.readObject(w, r)
		if err != nil {
			return err
		}
		attrs, err := s.canonResource(kind, body)
		if err != nil {
			return err
		}
		if err := s.checkUnique(kind, attrs, ""); err != nil {
			return err
		}
		s.seq++
		now := time.Now().UTC()
		res = &fakeRes{id: fmt.Sprintf("%s-%d-%s", strings.ToLower(kind), s.seq, randomHex(3)), kind: kind, owner: conn, attrs: attrs, created: now, mod: now, version: 1, seq: s.seq}
		s.res[res.id] = res
		w.Header().Set("Location", s.location(res))
		s.write(w, r, http.StatusCreated, res)
	case r.Method == http.MethodPut && id != "":
		body, err := s.readObject(w, r)
		if err != nil {
			return err
		}
		attrs, err := s.canonResource(kind, body)
		if err != nil {
			return err
		}
		if err := s.checkUnique(kind, attrs, id); err != nil {
			return err
		}
		if s.bug == "PUT merges" {
			for k, v := range attrs {
				res.attrs[k] = v
			}
			attrs = res.attrs
		}
		res.attrs, res.mod = attrs, time.Now().UTC()
		res.version++
		s.write(w, r, http.StatusOK, res)
	case r.Method == http.MethodPatch && id != "":
		body, err := s.readObject(w, r)
		if err != nil {
			return err
		}
		attrs, err := s.patch(kind, res.attrs, body)
		if err != nil {
			return err
		}
		if err := s.checkUnique(kind, attrs, id); err != nil {
			return err
		}
		res.attrs, res.mod = attrs, time.Now().UTC()
		res.version++
		if kind == "Group" {
			w.WriteHeader(http.StatusNoContent)
			return nil
		}
		s.write(w, r, http.StatusOK, res)
	case r.Method == http.MethodDelete && id != "":
		delete(s.res, id)
		for _, g := range s.res {
			if ms, ok := g.attrs["members"].([]any); ok {
				g.attrs["members"] = slices.DeleteFunc(ms, func(m any) bool { return str(m, "value") == id })
			}
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		return &scimErr{http.StatusMethodNotAllowed, "", "method not allowed"}
	}
	return nil
}

func (s *fakeServer) readObject(w http.ResponseWriter, r *http.Request) (map[string]any, *scimErr) {
	limit := int64(1 << 20)
	if s.bug == "no body limit" {
		limit = 1 << 30
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &scimErr{http.StatusRequestEntityTooLarge, "", "body larger than 1 MiB"}
		}
		return nil, bad("invalidSyntax", "reading body: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		return nil, bad("invalidSyntax", "body is not a JSON object")
	}
	return m, nil
}

func (s *fakeServer) location(res *fakeRes) string {
	return s.base + "/" + res.kind + "s/" + res.id
}

func etag(res *fakeRes) string { return fmt.Sprintf(`W/"%d"`, res.version) }

func (s *fakeServer) render(res *fakeRes) map[string]any {
	out := deepCopy(res.attrs).(map[string]any)
	delete(out, "password")
	out["id"] = res.id
	schemas := []any{urnUser}
	if res.kind == "Group" {
		schemas = []any{urnGroup}
	} else if _, ok := out[urnEnterprise]; ok {
		schemas = append(schemas, urnEnterprise)
	}
	out["schemas"] = schemas
	out["meta"] = map[string]any{
		"resourceType": res.kind,
		"created":      res.created.Format(time.RFC3339Nano),
		"lastModified": res.mod.Format(time.RFC3339Nano),
		"location":     s.location(res),
		"version":      etag(res),
	}
	return out
}

func (s *fakeServer) write(w http.ResponseWriter, r *http.Request, status int, res *fakeRes) {
	w.Header().Set("ETag", etag(res))
	m := s.render(res)
	if s.bug != "excludedAttributes ignored" {
		m = project(m, r)
	}
	if s.bug == "password echoed" {
		if pw, ok := res.attrs["password"]; ok {
			m["password"] = pw
		}
	}
	ct := mediaSCIM
	if s.bug == "application/json responses" {
		ct = "application/json"
	}
	writeJSONAs(w, status, m, ct)
}

func project(m map[string]any, r *http.Request) map[string]any {
	if a := r.URL.Query().Get("attributes"); a != "" {
		keep := map[string]bool{"id": true, "schemas": true}
		for _, n := range strings.Split(a, ",") {
			top, _, _ := strings.Cut(strings.TrimSpace(n), ".")
			keep[strings.ToLower(top)] = true
		}
		for k := range m {
			if !keep[strings.ToLower(k)] {
				delete(m, k)
			}
		}
	}
	for _, n := range strings.Split(r.URL.Query().Get("excludedAttributes"), ",") {
		for k := range m {
			if strings.EqualFold(k, strings.TrimSpace(n)) && k != "id" {
				delete(m, k)
			}
		}
	}
	return m
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	writeJSONAs(w, status, v, mediaSCIM)
}

func writeJSONAs(w http.ResponseWriter, status int, v any, ct string) {
	w.Header().Set("Content-Type", ct)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *fakeServer) writeErr(w http.ResponseWriter, e *scimErr) {
	if s.bug == "error status as a number" {
		writeJSON(w, e.status, map[string]any{"schemas": []any{urnError}, "status": e.status, "detail": e.detail, "scimType": e.scimType})
		return
	}
	writeErr(w, e)
}

func writeErr(w http.ResponseWriter, e *scimErr) {
	body := map[string]any{"schemas": []any{urnError}, "status": strconv.Itoa(e.status), "detail": e.detail}
	if e.scimType != "" {
		body["scimType"] = e.scimType
	}
	writeJSON(w, e.status, body)
}

func listOf(items []any) map[string]any {
	return map[string]any{"schemas": []any{urnListResponse}, "totalResults": len(items), "itemsPerPage": len(items), "startIndex": 1, "Resources": items}
}

func (s *fakeServer) spc() map[string]any {
	return map[string]any{
		"schemas":        []any{urnSPC},
		"patch":          map[string]any{"supported": true},
		"bulk":           map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 1 << 20},
		"filter":         map[string]any{"supported": true, "maxResults": 100},
		"changePassword": map[string]any{"supported": false},
		"sort":           map[string]any{"supported": true},
		"etag":           map[string]any{"supported": true},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "description": "Bearer token of an IdP connection",
		}},
	}
}

func (s *fakeServer) resourceTypes() []any {
	return []any{
		map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": "User", "name": "User", "endpoint": "/Users", "schema": urnUser,
			"schemaExtensions": []any{map[string]any{"schema": urnEnterprise, "required": false}}},
		map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:ResourceType"}, "id": "Group", "name": "Group", "endpoint": "/Groups", "schema": urnGroup},
	}
}

func fakeSchemas() []any {
	mk := func(id string, d map[string]attrDef) any {
		var attrs []any
		for _, a := range d {
			attrs = append(attrs, map[string]any{"name": a.name, "multiValued": a.multi})
		}
		return map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:Schema"}, "id": id, "attributes": attrs}
	}
	return []any{mk(urnUser, userDefs), mk(urnGroup, groupDefs), mk(urnEnterprise, entDefs)}
}

// canonResource builds stored attributes from a POST or PUT body: known
// attributes under their canonical names, unknown ones, nulls, id and meta
// dropped.
func (s *fakeServer) canonResource(kind string, body map[string]any) (map[string]any, *scimErr) {
	attrs := map[string]any{}
	d := userDefs
	if kind == "Group" {
		d = groupDefs
	}
	for k, v := range body {
		if v == nil {
			continue
		}
		if kind == "User" && strings.EqualFold(k, urnEnterprise) {
			ext, ok := v.(map[string]any)
			if !ok {
				return nil, bad("invalidValue", "%s must be an object", urnEnterprise)
			}
			e := map[string]any{}
			for ek, ev := range ext {
				if def, ok := entDefs[strings.ToLower(ek)]; ok && ev != nil {
					cv, err := s.canonValue(def, ev)
					if err != nil {
						return nil, err
					}
					e[def.name] = cv
				}
			}
			if len(e) > 0 {
				attrs[urnEnterprise] = e
			}
			continue
		}
		def, ok := d[strings.ToLower(k)]
		if !ok {
			continue
		}
		cv, err := s.canonValue(def, v)
		if err != nil {
			return nil, err
		}
		if !isEmpty(cv) {
			attrs[def.name] = cv
		}
	}
	key := "userName"
	if kind == "Group" {
		key = "displayName"
	}
	if str(attrs, key) == "" && !(s.bug == "userName optional" && kind == "User") {
		return nil, bad("invalidValue", "%s is required", key)
	}
	return attrs, nil
}

func (s *fakeServer) canonValue(def attrDef, v any) (any, *scimErr) {
	switch {
	case def.boolean:
		return s.toBool(def.name, v)
	case def.multi:
		var list []any
		switch v := v.(type) {
		case []any:
			list = v
		case map[string]any:
			list = []any{v}
		default:
			return nil, bad("invalidValue", "%s must be a list", def.name)
		}
		out := []any{}
		for _, e := range list {
			m, ok := e.(map[string]any)
			if !ok {
				return nil, bad("invalidValue", "%s elements must be objects", def.name)
			}
			cm, err := s.canonSubs(def, m)
			if err != nil {
				return nil, err
			}
			if def.name == "members" {
				if u := s.res[str(cm, "value")]; u == nil {
					if s.bug == "unknown member fails the whole add" {
						return nil, bad("invalidValue", "unknown member %s", str(cm, "value"))
					}
					continue // unknown members are dropped, not fatal
				}
				if slices.ContainsFunc(out, func(x any) bool { return str(x, "value") == str(cm, "value") }) {
					continue
				}
			}
			out = append(out, cm)
		}
		return out, nil
	case def.complex:
		if def.name == "manager" && s.bug != "manager must be an object" {
			switch x := v.(type) {
			case string:
				return map[string]any{"value": x}, nil
			case []any:
				if len(x) == 1 {
					v = x[0]
				}
			}
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, bad("invalidValue", "%s must be an object", def.name)
		}
		return s.canonSubs(def, m)
	default:
		if _, ok := v.(string); !ok {
			return nil, bad("invalidValue", "%s must be a string", def.name)
		}
		return v, nil
	}
}

func (s *fakeServer) canonSubs(def attrDef, m map[string]any) (map[string]any, *scimErr) {
	out := map[string]any{}
	for k, x := range m {
		if x == nil {
			continue
		}
		for _, sub := range def.subs {
			if strings.EqualFold(k, sub) {
				if sub == "primary" {
					b, err := s.toBool(sub, x)
					if err != nil {
						return nil, err
					}
					x = b
				}
				out[sub] = x
			}
		}
	}
	return out, nil
}

func (s *fakeServer) toBool(name string, v any) (any, *scimErr) {
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		if b, err := strconv.ParseBool(strings.ToLower(v)); err == nil && s.bug != "string booleans rejected" {
			return b, nil
		}
	}
	return nil, bad("invalidValue", "%s must be a boolean", name)
}

func (s *fakeServer) checkUnique(kind string, attrs map[string]any, self string) *scimErr {
	if kind != "User" {
		return nil
	}
	for _, r := range s.res {
		same := strings.EqualFold(str(r.attrs, "userName"), str(attrs, "userName"))
		if s.bug == "userName case-sensitive" {
			same = str(r.attrs, "userName") == str(attrs, "userName")
		}
		if r.kind == "User" && r.id != self && same {
			return &scimErr{http.StatusConflict, "uniqueness", "userName is taken"}
		}
	}
	return nil
}

// patch applies a PatchOp to a copy of attrs, all or nothing.
func (s *fakeServer) patch(kind string, attrs, body map[string]any) (map[string]any, *scimErr) {
	if !hasString(body["schemas"], urnPatchOp) {
		return nil, bad("invalidValue", "schemas must be [%s]", urnPatchOp)
	}
	raw, _ := field(body, "Operations")
	ops, _ := raw.([]any)
	if len(ops) == 0 {
		return nil, bad("invalidValue", "Operations must be a non-empty list")
	}
	out := deepCopy(attrs).(map[string]any)
	if s.bug == "PATCH not atomic" {
		out = attrs
	}
	for _, o := range ops {
		m, ok := o.(map[string]any)
		if !ok {
			return nil, bad("invalidSyntax", "an operation must be an object")
		}
		op := strings.ToLower(str(m, "op"))
		if op != "add" && op != "replace" && op != "remove" {
			return nil, bad("invalidValue", "unknown op %q", str(m, "op"))
		}
		value, hasValue := field(m, "value")
		if err := s.applyOp(kind, out, op, str(m, "path"), value, hasValue); err != nil {
			return nil, err
		}
	}
	return out, nil
}

type patchPath struct {
	ent    bool
	def    attrDef
	filter fnode
	sub    string
}

func parsePatchPath(kind, p string) (*patchPath, *scimErr) {
	pp := &patchPath{}
	rest := p
	switch {
	case kind == "User" && len(p) > len(urnEnterprise) && strings.EqualFold(p[:len(urnEnterprise)+1], urnEnterprise+":"):
		pp.ent, rest = true, p[len(urnEnterprise)+1:]
	case kind == "User" && len(p) > len(urnUser) && strings.EqualFold(p[:len(urnUser)+1], urnUser+":"):
		rest = p[len(urnUser)+1:]
	case kind == "Group" && len(p) > len(urnGroup) && strings.EqualFold(p[:len(urnGroup)+1], urnGroup+":"):
		rest = p[len(urnGroup)+1:]
	}
	attr, after := rest, ""
	if i := strings.IndexByte(rest, '['); i >= 0 {
		j := strings.LastIndexByte(rest, ']')
		if j < i {
			return nil, bad("invalidPath", "unbalanced [ in %q", p)
		}
		attr, after = rest[:i], rest[j+1:]
		f, err := parseFilter(rest[i+1 : j])
		if err != nil {
			return nil, bad("invalidPath", "filter in %q: %v", p, err)
		}
		pp.filter = f
		if after != "" {
			sub, ok := strings.CutPrefix(after, ".")
			if !ok || sub == "" || strings.ContainsAny(sub, ".[]") {
				return nil, bad("invalidPath", "bad path %q", p)
			}
			pp.sub = sub
		}
	} else if strings.ContainsAny(rest, "]") {
		return nil, bad("invalidPath", "bad path %q", p)
	} else {
		segs := strings.Split(rest, ".")
		if len(segs) > 2 || slices.Contains(segs, "") {
			return nil, bad("invalidPath", "bad path %q", p)
		}
		attr = segs[0]
		if len(segs) == 2 {
			pp.sub = segs[1]
		}
	}
	d := userDefs
	switch {
	case pp.ent:
		d = entDefs
	case kind == "Group":
		d = groupDefs
	}
	def, ok := d[strings.ToLower(attr)]
	if !ok {
		return nil, bad("invalidPath", "no attribute %q", attr)
	}
	pp.def = def
	if pp.sub != "" {
		found := false
		for _, s := range def.subs {
			if strings.EqualFold(s, pp.sub) {
				pp.sub, found = s, true
			}
		}
		if !found {
			return nil, bad("invalidPath", "no sub-attribute %q of %s", pp.sub, def.name)
		}
	}
	if pp.filter != nil && !def.multi {
		return nil, bad("invalidPath", "%s is not multi-valued", def.name)
	}
	return pp, nil
}

func (s *fakeServer) applyOp(kind string, attrs map[string]any, op, path string, value any, hasValue bool) *scimErr {
	if path == "" {
		if op == "remove" {
			return bad("noTarget", "remove needs a path")
		}
		m, ok := value.(map[string]any)
		if !ok {
			return bad("invalidValue", "a path-less %s needs an object value", op)
		}
		for k, v := range m {
			switch {
			case strings.EqualFold(k, "id") || strings.EqualFold(k, "schemas") || strings.EqualFold(k, "meta"):
				continue
			case kind == "User" && strings.EqualFold(k, urnEnterprise):
				ext, ok := v.(map[string]any)
				if !ok {
					return bad("invalidValue", "%s must be an object", k)
				}
				for ek, ev := range ext {
					if err := s.applyOp(kind, attrs, op, urnEnterprise+":"+ek, ev, true); err != nil {
						return err
					}
				}
			case s.bug == "dotted keys ignored" && strings.Contains(k, "."):
				continue
			default:
				if err := s.applyOp(kind, attrs, op, k, v, true); err != nil {
					return err
				}
			}
		}
		return nil
	}
	pp, err := parsePatchPath(kind, path)
	if err != nil {
		return err
	}
	m := attrs
	if pp.ent {
		e, ok := attrs[urnEnterprise].(map[string]any)
		if !ok {
			e = map[string]any{}
			attrs[urnEnterprise] = e
		}
		m = e
		defer func() {
			if len(e) == 0 {
				delete(attrs, urnEnterprise)
			}
		}()
	}
	if op != "remove" && !hasValue {
		return bad("invalidValue", "%s needs a value", op)
	}
	def := pp.def
	if op != "remove" && value == nil && s.bug != "null value refused" {
		// Assigning null unassigns (RFC 7643 §2.5); adding null to a list adds nothing.
		if op == "add" && def.multi && pp.filter == nil && pp.sub == "" {
			return nil
		}
		op, hasValue = "remove", false
	} else if op != "remove" && value == nil {
		return bad("invalidValue", "%s needs a value", op)
	}
	list, _ := m[def.name].([]any)
	defer func() {
		if isEmpty(m[def.name]) {
			delete(m, def.name)
		}
	}()
	switch {
	case pp.filter == nil && pp.sub == "":
		switch {
		case op == "remove" && def.multi && hasValue && s.bug != "remove with a value list removes all":
			cv, err := s.canonValue(def, value)
			if err != nil {
				return err
			}
			m[def.name] = slices.DeleteFunc(list, func(x any) bool {
				return slices.ContainsFunc(cv.([]any), func(y any) bool { return str(x, "value") == str(y, "value") })
			})
		case op == "remove":
			delete(m, def.name)
		case def.multi:
			cv, err := s.canonValue(def, value)
			if err != nil {
				return err
			}
			if op == "replace" {
				m[def.name] = cv
				return nil
			}
			for _, x := range cv.([]any) {
				dup := slices.ContainsFunc(list, func(y any) bool {
					if def.name == "members" {
						return str(x, "value") == str(y, "value")
					}
					return reflect.DeepEqual(x, y)
				})
				if !dup {
					list = append(list, x)
				}
			}
			m[def.name] = list
		case def.complex && def.name != "manager":
			cv, err := s.canonValue(def, value)
			if err != nil {
				return err
			}
			old, _ := m[def.name].(map[string]any)
			if old == nil {
				old = map[string]any{}
			}
			for k, x := range cv.(map[string]any) {
				old[k] = x
			}
			m[def.name] = old
		default:
			cv, err := s.canonValue(def, value)
			if err != nil {
				return err
			}
			m[def.name] = cv
		}
	case pp.filter == nil:
		set := func(target map[string]any) *scimErr {
			if op == "remove" {
				delete(target, pp.sub)
				return nil
			}
			v := value
			if pp.sub == "primary" {
				b, err := s.toBool("primary", v)
				if err != nil {
					return err
				}
				v = b
			}
			target[pp.sub] = v
			return nil
		}
		if def.multi {
			for _, x := range list {
				if err := set(x.(map[string]any)); err != nil {
					return err
				}
			}
			return nil
		}
		target, _ := m[def.name].(map[string]any)
		if target == nil {
			if op == "remove" {
				return nil
			}
			target = map[string]any{}
			m[def.name] = target
		}
		return set(target)
	default:
		var hits []int
		for i, x := range list {
			if pp.filter.eval(x.(map[string]any)) {
				hits = append(hits, i)
			}
		}
		if op == "remove" {
			if pp.sub == "" {
				m[def.name] = slices.DeleteFunc(list, func(x any) bool { return pp.filter.eval(x.(map[string]any)) })
			} else {
				for _, i := range hits {
					delete(list[i].(map[string]any), pp.sub)
				}
			}
			return nil
		}
		if pp.sub == "" {
			if len(hits) == 0 {
				return bad("noTarget", "no value matches %q", path)
			}
			cv, err := s.canonSubs(def, asMap(value))
			if err != nil {
				return err
			}
			for _, i := range hits {
				for k, x := range cv {
					list[i].(map[string]any)[k] = x
				}
			}
			return nil
		}
		if len(hits) == 0 {
			// Entra ID: set emails[type eq "work"].value on a user without one.
			c, ok := pp.filter.(*fcmp)
			if !ok || c.op != "eq" || len(c.path) != 1 {
				return bad("noTarget", "no value matches %q", path)
			}
			m[def.name] = append(list, map[string]any{c.path[0]: c.val, pp.sub: value})
			return nil
		}
		for _, i := range hits {
			list[i].(map[string]any)[pp.sub] = value
		}
	}
	return nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func (s *fakeServer) list(w http.ResponseWriter, r *http.Request, kind string) *scimErr {
	q := r.URL.Query()
	var f fnode
	if fs := q.Get("filter"); fs != "" {
		var err error
		if f, err = parseFilter(fs); err != nil {
			return bad("invalidFilter", "%v", err)
		}
		if err := checkFilterAttrs(kind, f); err != nil {
			return bad("invalidFilter", "%v", err)
		}
	}
	var all []*fakeRes
	for _, res := range s.res {
		if s.bug == "inactive users hidden" && res.attrs["active"] == false {
			continue
		}
		if res.kind == kind && (f == nil || f.eval(s.render(res))) {
			all = append(all, res)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	if by := q.Get("sortBy"); by != "" {
		desc := q.Get("sortOrder") == "descending"
		sort.SliceStable(all, func(i, j int) bool {
			a, b := strings.ToLower(str(all[i].attrs, by)), strings.ToLower(str(all[j].attrs, by))
			if desc {
				return a > b
			}
			return a < b
		})
	}
	start, count := 1, 100
	if v, err := strconv.Atoi(q.Get("startIndex")); err == nil && v > 1 {
		start = v
	}
	if v, err := strconv.Atoi(q.Get("count")); err == nil {
		count = min(max(v, 0), 100)
	}
	page := []any{}
	for i := start - 1; i < len(all) && len(page) < count; i++ {
		m := s.render(all[i])
		if s.bug != "excludedAttributes ignored" {
			m = project(m, r)
		}
		page = append(page, m)
	}
	body := map[string]any{
		"schemas": []any{urnListResponse}, "totalResults": len(all), "startIndex": start, "itemsPerPage": len(page), "Resources": page,
	}
	switch s.bug {
	case "itemsPerPage is the requested count":
		body["itemsPerPage"] = count
	case "no match is 404":
		if len(all) == 0 {
			return &scimErr{http.StatusNotFound, "", "no match"}
		}
	case "numbers as strings":
		body["totalResults"] = strconv.Itoa(len(all))
	}
	writeJSON(w, http.StatusOK, body)
	return nil
}

// The filter language of RFC 7644 §3.4.2.2, evaluated on rendered resources.

type fnode interface{ eval(ctx map[string]any) bool }

type (
	fcmp struct {
		path []string
		op   string
		val  any
	}
	fbool struct {
		op   string
		l, r fnode
	}
	fnot   struct{ x fnode }
	fvalue struct {
		path   []string
		filter fnode
		sub    *fcmp // the attr[filter].sub op value form
	}
)

func (c *fcmp) eval(ctx map[string]any) bool {
	vals := valuesAt(ctx, c.path)
	if c.op == "pr" {
		return slices.ContainsFunc(vals, func(v any) bool { return !isEmpty(v) })
	}
	if c.op == "ne" {
		return !(&fcmp{c.path, "eq", c.val}).eval(ctx)
	}
	exact := strings.EqualFold(c.path[0], "id") || strings.EqualFold(c.path[0], "externalId")
	for _, v := range vals {
		if compare(v, c.op, c.val, exact, strings.EqualFold(c.path[0], "meta")) {
			return true
		}
	}
	return false
}

func (b *fbool) eval(ctx map[string]any) bool {
	if b.op == "and" {
		return b.l.eval(ctx) && b.r.eval(ctx)
	}
	return b.l.eval(ctx) || b.r.eval(ctx)
}

func (n *fnot) eval(ctx map[string]any) bool { return !n.x.eval(ctx) }

func (v *fvalue) eval(ctx map[string]any) bool {
	for _, e := range valuesAt(ctx, v.path) {
		m, ok := e.(map[string]any)
		if ok && v.filter.eval(m) && (v.sub == nil || v.sub.eval(m)) {
			return true
		}
	}
	return false
}

func valuesAt(x any, path []string) []any {
	if len(path) == 0 {
		if arr, ok := x.([]any); ok {
			return arr
		}
		return []any{x}
	}
	switch x := x.(type) {
	case map[string]any:
		v, ok := field(x, path[0])
		if !ok {
			return nil
		}
		return valuesAt(v, path[1:])
	case []any:
		var out []any
		for _, e := range x {
			out = append(out, valuesAt(e, path)...)
		}
		return out
	}
	return nil
}

func compare(v any, op string, want any, exact, date bool) bool {
	switch w := want.(type) {
	case bool:
		return op == "eq" && v == w
	case float64:
		f, ok := v.(float64)
		return ok && cmpOrdered(f, w, op)
	case string:
		s, ok := v.(string)
		if !ok {
			return false
		}
		if date {
			a, err1 := time.Parse(time.RFC3339Nano, s)
			b, err2 := time.Parse(time.RFC3339Nano, w)
			if err1 == nil && err2 == nil {
				return cmpOrdered(a.UnixNano(), b.UnixNano(), op)
			}
		}
		if !exact {
			s, w = strings.ToLower(s), strings.ToLower(w)
		}
		switch op {
		case "co":
			return strings.Contains(s, w)
		case "sw":
			return strings.HasPrefix(s, w)
		case "ew":
			return strings.HasSuffix(s, w)
		}
		return cmpOrdered(s, w, op)
	}
	return false
}

func cmpOrdered[T int64 | float64 | string](a, b T, op string) bool {
	switch op {
	case "eq":
		return a == b
	case "gt":
		return a > b
	case "ge":
		return a >= b
	case "lt":
		return a < b
	case "le":
		return a <= b
	}
	return false
}

func checkFilterAttrs(kind string, f fnode) error {
	d := userDefs
	if kind == "Group" {
		d = groupDefs
	}
	var check func(f fnode) error
	check = func(f fnode) error {
		switch f := f.(type) {
		case *fcmp:
			return checkAttr(d, f.path)
		case *fvalue:
			return checkAttr(d, f.path)
		case *fbool:
			if err := check(f.l); err != nil {
				return err
			}
			return check(f.r)
		case *fnot:
			return check(f.x)
		}
		return nil
	}
	return check(f)
}

func checkAttr(d map[string]attrDef, path []string) error {
	top := strings.ToLower(path[0])
	if _, ok := d[top]; ok || top == "id" || top == "meta" || top == strings.ToLower(urnEnterprise) {
		return nil
	}
	return fmt.Errorf("unknown attribute %q", path[0])
}

type filterParser struct {
	toks []string
	i    int
}

func parseFilter(s string) (fnode, error) {
	toks, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	p := &filterParser{toks: toks}
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.i != len(p.toks) {
		return nil, fmt.Errorf("unexpected %q", p.toks[p.i])
	}
	return f, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ':
			i++
		case strings.IndexByte("()[]", c) >= 0:
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, fmt.Errorf("unterminated string")
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" ()[]\"", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func (p *filterParser) peek() string {
	if p.i < len(p.toks) {
		return p.toks[p.i]
	}
	return ""
}

func (p *filterParser) next() string { t := p.peek(); p.i++; return t }

func (p *filterParser) or() (fnode, error) {
	l, err := p.and()
	for err == nil && strings.EqualFold(p.peek(), "or") {
		p.next()
		var r fnode
		if r, err = p.and(); err == nil {
			l = &fbool{"or", l, r}
		}
	}
	return l, err
}

func (p *filterParser) and() (fnode, error) {
	l, err := p.unary()
	for err == nil && strings.EqualFold(p.peek(), "and") {
		p.next()
		var r fnode
		if r, err = p.unary(); err == nil {
			l = &fbool{"and", l, r}
		}
	}
	return l, err
}

func (p *filterParser) unary() (fnode, error) {
	switch t := p.peek(); {
	case strings.EqualFold(t, "not"):
		p.next()
		if p.next() != "(" {
			return nil, fmt.Errorf("not must be followed by (")
		}
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		return &fnot{x}, nil
	case t == "(":
		p.next()
		x, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		return x, nil
	}
	return p.attrExpr()
}

func splitAttrPath(t string) ([]string, error) {
	if t == "" || !unicode.IsLetter(rune(t[0])) {
		return nil, fmt.Errorf("want an attribute, got %q", t)
	}
	if len(t) > len(urnEnterprise) && strings.EqualFold(t[:len(urnEnterprise)+1], urnEnterprise+":") {
		return append([]string{urnEnterprise}, strings.Split(t[len(urnEnterprise)+1:], ".")...), nil
	}
	parts := strings.Split(t, ".")
	if len(parts) > 2 || slices.Contains(parts, "") {
		return nil, fmt.Errorf("bad attribute path %q", t)
	}
	return parts, nil
}

func (p *filterParser) attrExpr() (fnode, error) {
	path, err := splitAttrPath(p.next())
	if err != nil {
		return nil, err
	}
	if p.peek() == "[" {
		p.next()
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != "]" {
			return nil, fmt.Errorf("missing ]")
		}
		v := &fvalue{path: path, filter: inner}
		if sub, ok := strings.CutPrefix(p.peek(), "."); ok {
			p.next()
			c, err := p.comparison([]string{sub})
			if err != nil {
				return nil, err
			}
			v.sub = c
		}
		return v, nil
	}
	return p.comparison(path)
}

func (p *filterParser) comparison(path []string) (*fcmp, error) {
	op := strings.ToLower(p.next())
	switch op {
	case "pr":
		return &fcmp{path: path, op: op}, nil
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
	default:
		return nil, fmt.Errorf("unknown operator %q", op)
	}
	t := p.next()
	var val any
	switch {
	case t == "":
		return nil, fmt.Errorf("missing value after %s", op)
	case strings.HasPrefix(t, `"`):
		if err := json.Unmarshal([]byte(t), &val); err != nil {
			return nil, fmt.Errorf("bad string %s", t)
		}
	case t == "true" || t == "false":
		val = t == "true"
	case t == "null":
	default:
		f, err := strconv.ParseFloat(t, 64)
		if err != nil {
			return nil, fmt.Errorf("bad value %q", t)
		}
		val = f
	}
	return &fcmp{path: path, op: op, val: val}, nil
}

func deepCopy(x any) any {
	switch x := x.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, v := range x {
			m[k] = deepCopy(v)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, v := range x {
			s[i] = deepCopy(v)
		}
		return s
	}
	return x
}
