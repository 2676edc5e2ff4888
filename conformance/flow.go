package conformance

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strings"
)

// fixtures holds the recorded IdP flows: testdata/<idp>/<flow>.json.
//
//go:embed testdata
var fixtures embed.FS

// A flow is one recorded IdP exchange: an ordered list of steps, each a
// request the IdP sends and what a conforming service provider answers.
// The format extends the one of elimity-com/scim's internal/idp_test with
// variables; README.md describes it.
type flow struct {
	Description string            `json:"description"`
	Source      string            `json:"source"`
	Vars        map[string]string `json:"vars,omitempty"`
	Steps       []step            `json:"steps"`

	name string // "<idp>/<file name without .json>"
}

type step struct {
	Name        string          `json:"name"`
	Method      string          `json:"method"`
	Path        string          `json:"path"`
	Request     json.RawMessage `json:"request,omitempty"`
	StatusCode  int             `json:"statusCode,omitempty"`
	StatusCodes []int           `json:"statusCodes,omitempty"`
	Response    json.RawMessage `json:"response,omitempty"`

	request  any // decoded Request
	response any // decoded Response
}

func (s *step) codes() []int {
	if s.StatusCode != 0 {
		return []int{s.StatusCode}
	}
	return s.StatusCodes
}

// loadFlows reads and checks every fixture under dir of fsys, sorted by name.
func loadFlows(fsys fs.FS, dir string) ([]*flow, error) {
	var flows []*flow
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || path.Ext(p) != ".json" {
			return nil
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		name := strings.TrimSuffix(strings.TrimPrefix(p, dir+"/"), ".json")
		f, err := parseFlow(name, b)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		flows = append(flows, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(flows, func(i, j int) bool { return flows[i].name < flows[j].name })
	return flows, nil
}

var methods = []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete}

// parseFlow decodes a fixture strictly and checks that every variable it
// uses is defined before its use, so a broken fixture fails in unit tests
// rather than against a server.
func parseFlow(name string, b []byte) (*flow, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	f := &flow{name: name}
	if err := dec.Decode(f); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the flow object")
	}
	if f.Description == "" || f.Source == "" {
		return nil, fmt.Errorf("description and source are required")
	}
	if len(f.Steps) == 0 {
		return nil, fmt.Errorf("no steps")
	}
	bound := map[string]bool{"rand": true, "uuid": true}
	for k, v := range f.Vars {
		if builtins[k] {
			return nil, fmt.Errorf("vars: %q is a built-in name", k)
		}
		if err := checkUses(v, bound); err != nil {
			return nil, fmt.Errorf("vars.%s: %w", k, err)
		}
	}
	for k := range f.Vars {
		bound[k] = true
	}
	for i := range f.Steps {
		s := &f.Steps[i]
		where := fmt.Sprintf("step %d (%s)", i+1, s.Name)
		if s.Name == "" {
			return nil, fmt.Errorf("%s: name is required", where)
		}
		if !slices.Contains(methods, s.Method) {
			return nil, fmt.Errorf("%s: method %q is not one of %v", where, s.Method, methods)
		}
		if !strings.HasPrefix(s.Path, "/") {
			return nil, fmt.Errorf("%s: path %q must start with /", where, s.Path)
		}
		if (s.StatusCode == 0) == (len(s.StatusCodes) == 0) {
			return nil, fmt.Errorf("%s: give exactly one of statusCode and statusCodes", where)
		}
		if err := checkUses(s.Path, bound); err != nil {
			return nil, fmt.Errorf("%s: path: %w", where, err)
		}
		if len(s.Request) > 0 {
			if err := json.Unmarshal(s.Request, &s.request); err != nil {
				return nil, fmt.Errorf("%s: request: %w", where, err)
			}
			var err error
			walkStrings(s.request, func(str string) {
				if err == nil {
					err = checkUses(str, bound)
				}
			})
			if err != nil {
				return nil, fmt.Errorf("%s: request: %w", where, err)
			}
		}
		if len(s.Response) > 0 {
			if err := json.Unmarshal(s.Response, &s.response); err != nil {
				return nil, fmt.Errorf("%s: response: %w", where, err)
			}
			if slices.Contains(s.codes(), http.StatusNoContent) && len(s.codes()) == 1 {
				return nil, fmt.Errorf("%s: a 204 step cannot expect a response body", where)
			}
			var err error
			walkStrings(s.response, func(str string) {
				if err != nil {
					return
				}
				if m := wholePlaceholder.FindStringSubmatch(str); m != nil && !builtins[m[1]] {
					bound[m[1]] = true // a capture
					return
				}
				err = checkUses(str, bound)
			})
			if err != nil {
				return nil, fmt.Errorf("%s: response: %w", where, err)
			}
		}
	}
	return f, nil
}

// checkUses reports a placeholder in s that is neither built in nor bound.
func checkUses(s string, bound map[string]bool) error {
	for _, m := range placeholder.FindAllStringSubmatch(s, -1) {
		if n := m[1]; n != "*" && !builtins[n] && !bound[n] {
			return fmt.Errorf("${%s} is used before it is defined or captured", n)
		}
	}
	return nil
}

// walkStrings calls fn for every string in a decoded JSON value, keys included.
func walkStrings(x any, fn func(string)) {
	switch x := x.(type) {
	case string:
		fn(x)
	case map[string]any:
		for k, v := range x {
			fn(k)
			walkStrings(v, fn)
		}
	case []any:
		for _, v := range x {
			walkStrings(v, fn)
		}
	}
}

// encodePathQuery percent-encodes the query of a fixture path, which is
// written unencoded as IdP documentation shows it
// (/Users?filter=userName eq "x"&count=100). Query values must not contain
// '&'.
func encodePathQuery(p string) string {
	base, query, ok := strings.Cut(p, "?")
	if !ok {
		return p
	}
	parts := strings.Split(query, "&")
	for i, part := range parts {
		k, v, _ := strings.Cut(part, "=")
		parts[i] = queryEscape(k) + "=" + queryEscape(v)
	}
	return base + "?" + strings.Join(parts, "&")
}

// queryEscape escapes s for a query, spaces as %20: some SCIM servers do not
// decode '+'.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// runFlow replays f against the target. A failing step stops the flow, as
// later steps depend on its captures. Resources created by a POST are
// deleted when the case ends.
func runFlow(e *env, f *flow) {
	t := e.t
	t.Helper()
	if f.Description != "" {
		t.Logf("flow %s: %s (source: %s)", f.name, f.Description, f.Source)
	}
	v := vars{"rand": randomHex(5)}
	for k, s := range f.Vars {
		x, err := v.expandString(s)
		if err != nil {
			t.Fatalf("flow %s: vars.%s: %v", f.name, k, err)
		}
		v[k] = x
	}
	for i := range f.Steps {
		s := &f.Steps[i]
		where := fmt.Sprintf("step %d/%d %q", i+1, len(f.Steps), s.Name)
		p, err := v.expandString(s.Path)
		if err != nil {
			t.Fatalf("%s: path: %v", where, err)
		}
		var body any
		if s.request != nil {
			if body, err = v.expandValue(s.request); err != nil {
				t.Fatalf("%s: request: %v", where, err)
			}
		}
		r := e.do(s.Method, encodePathQuery(p), body)
		if s.Method == http.MethodPost && r.Status == http.StatusCreated {
			if id := str(r.JSON, "id"); id != "" {
				e.cleanupDelete(strings.TrimSuffix(strings.SplitN(p, "?", 2)[0], "/") + "/" + url.PathEscape(id))
			}
		}
		if !slices.Contains(s.codes(), r.Status) {
			t.Fatalf("%s: want status %s\n%s", where, codesString(s.codes()), r)
		}
		if r.Status == http.StatusNoContent {
			if len(bytes.TrimSpace(r.Body)) > 0 {
				t.Errorf("%s: 204 No Content must have an empty body\n%s", where, r)
			}
			continue
		}
		if len(r.Body) > 0 {
			e.checkSCIMContentType(r)
		}
		if s.response == nil {
			continue
		}
		if r.JSON == nil {
			t.Fatalf("%s: want a JSON body matching %s\n%s", where, brief(s.response), r)
		}
		if errs := v.match(s.response, r.JSON); len(errs) > 0 {
			t.Fatalf("%s: response does not match the fixture:\n  %s\n%s", where, strings.Join(errs, "\n  "), r)
		}
	}
}

func codesString(codes []int) string {
	s := make([]string, len(codes))
	for i, c := range codes {
		s[i] = fmt.Sprint(c)
	}
	return strings.Join(s, " or ")
}
