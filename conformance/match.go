package conformance

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"
	"regexp"
	"sort"
	"strings"
)

// Placeholders in fixtures. A string that is exactly one of these markers
// has a special meaning in an expected response; see README.md.
const (
	markAny       = "${*}"         // present, any value
	markEmpty     = "${empty}"     // absent, null, "", [] or {}
	markNumber    = "${number}"    // a JSON number
	markUnordered = "${unordered}" // first element of an array: same elements, any order
	markContains  = "${contains}"  // first element of an array: at least these elements, any order
)

// placeholder matches ${name}; name is * or an identifier.
var placeholder = regexp.MustCompile(`\$\{(\*|[A-Za-z_][A-Za-z0-9_]*)\}`)

// wholePlaceholder matches a string that is nothing but one ${name}.
var wholePlaceholder = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// builtin names that are never captured.
var builtins = map[string]bool{"rand": true, "uuid": true, "empty": true, "number": true, "unordered": true, "contains": true}

// vars holds the values a flow has defined or captured so far. Values keep
// their JSON type (string, float64, bool, map, slice, nil).
type vars map[string]any

func (v vars) clone() vars {
	c := make(vars, len(v))
	for k, x := range v {
		c[k] = x
	}
	return c
}

// expandString replaces every ${name} in s with the value of name. ${uuid}
// gives a fresh random UUID at each occurrence. An unknown name is an error.
func (v vars) expandString(s string) (string, error) {
	var err error
	out := placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name := m[2 : len(m)-1]
		if name == "uuid" {
			return newUUID()
		}
		x, ok := v[name]
		if !ok {
			if err == nil {
				err = fmt.Errorf("unbound variable ${%s} in %q", name, s)
			}
			return m
		}
		return scalarString(x)
	})
	return out, err
}

// expandValue returns a copy of the decoded JSON value x with placeholders
// substituted in every string. A string that is exactly "${name}" becomes the
// variable's value with its own JSON type, so a captured number or object
// stays one.
func (v vars) expandValue(x any) (any, error) {
	switch x := x.(type) {
	case string:
		if m := wholePlaceholder.FindStringSubmatch(x); m != nil && m[1] != "uuid" {
			val, ok := v[m[1]]
			if !ok {
				return nil, fmt.Errorf("unbound variable ${%s}", m[1])
			}
			return val, nil
		}
		return v.expandString(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ek, err := v.expandString(k)
			if err != nil {
				return nil, err
			}
			ev, err := v.expandValue(e)
			if err != nil {
				return nil, err
			}
			out[ek] = ev
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			ev, err := v.expandValue(e)
			if err != nil {
				return nil, err
			}
			out[i] = ev
		}
		return out, nil
	default:
		return x, nil
	}
}

// match compares actual against the expectation expected as a subset and
// returns one line per mismatch (nil when it matches). Captures made along
// the way are added to v only when the whole value matches.
//
// Rules: every key of an expected object must be present in actual (looked
// up exactly, else ignoring case, as RFC 7643 §2.1 makes attribute names
// case-insensitive) and match; extra keys are allowed. An expected null
// matches an absent key or null. Arrays match element by element and must
// have the same length, unless the first expected element is "${unordered}"
// (same elements in any order) or "${contains}" (at least these elements,
// in any order). Strings, numbers and booleans match when equal, with their
// JSON type. The markers "${*}", "${empty}", "${number}" and "${name}" are
// described with the constants above and in README.md.
func (v vars) match(expected, actual any) []string {
	m := &matcher{v: v.clone()}
	m.value("$", expected, actual, true)
	if len(m.errs) == 0 {
		for k, x := range m.v {
			v[k] = x
		}
	}
	return m.errs
}

type matcher struct {
	v    vars
	errs []string
}

func (m *matcher) errorf(path, format string, args ...any) {
	m.errs = append(m.errs, path+": "+fmt.Sprintf(format, args...))
}

func (m *matcher) value(path string, exp, act any, present bool) {
	switch e := exp.(type) {
	case nil:
		if present && act != nil {
			m.errorf(path, "want absent or null, got %s", brief(act))
		}
	case string:
		m.str(path, e, act, present)
	case map[string]any:
		if !present {
			m.errorf(path, "missing, want %s", brief(exp))
			return
		}
		a, ok := act.(map[string]any)
		if !ok {
			m.errorf(path, "want an object, got %s", brief(act))
			return
		}
		keys := make([]string, 0, len(e))
		for k := range e {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			av, ok := field(a, k)
			m.value(path+"."+k, e[k], av, ok)
		}
	case []any:
		if !present {
			m.errorf(path, "missing, want %s", brief(exp))
			return
		}
		a, ok := act.([]any)
		if !ok {
			m.errorf(path, "want an array, got %s", brief(act))
			return
		}
		m.array(path, e, a)
	default: // float64, bool
		if !present {
			m.errorf(path, "missing, want %s", brief(exp))
			return
		}
		if !reflect.DeepEqual(exp, act) {
			m.errorf(path, "want %s, got %s", brief(exp), brief(act))
		}
	}
}

func (m *matcher) str(path, e string, act any, present bool) {
	switch e {
	case markAny:
		if !present {
			m.errorf(path, "missing, want any value")
		}
		return
	case markEmpty:
		if present && !isEmpty(act) {
			m.errorf(path, "want absent or empty, got %s", brief(act))
		}
		return
	case markNumber:
		if _, ok := act.(float64); !present || !ok {
			m.errorf(path, "want a JSON number, got %s", briefPresent(act, present))
		}
		return
	}
	if sub := wholePlaceholder.FindStringSubmatch(e); sub != nil && !builtins[sub[1]] {
		name := sub[1]
		if !present {
			m.errorf(path, "missing, want a value for ${%s}", name)
			return
		}
		if bound, ok := m.v[name]; ok {
			if !reflect.DeepEqual(bound, act) {
				m.errorf(path, "want ${%s} = %s, got %s", name, brief(bound), brief(act))
			}
			return
		}
		m.v[name] = act
		return
	}
	if !present {
		m.errorf(path, "missing, want %q", e)
		return
	}
	s, ok := act.(string)
	if !ok {
		m.errorf(path, "want a string matching %q, got %s", e, brief(act))
		return
	}
	re, err := m.pattern(e)
	if err != nil {
		m.errorf(path, "%v", err)
		return
	}
	if !re.MatchString(s) {
		m.errorf(path, "want %q, got %q", m.show(e), s)
	}
}

// pattern turns a template such as "${*}/Users/${id}" into a regular
// expression: bound variables become their literal value, ${*} matches any
// text. An unbound variable inside a longer string is an error, since it
// cannot be captured unambiguously.
func (m *matcher) pattern(tmpl string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, loc := range placeholder.FindAllStringSubmatchIndex(tmpl, -1) {
		b.WriteString(regexp.QuoteMeta(tmpl[last:loc[0]]))
		name := tmpl[loc[2]:loc[3]]
		switch {
		case name == "*":
			b.WriteString("(?s:.*)")
		default:
			x, ok := m.v[name]
			if !ok {
				return nil, fmt.Errorf("template %q uses unbound variable ${%s}", tmpl, name)
			}
			b.WriteString(regexp.QuoteMeta(scalarString(x)))
		}
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(tmpl[last:]))
	b.WriteString("$")
	return regexp.Compile(b.String())
}

// show renders a template with its bound variables for messages.
func (m *matcher) show(tmpl string) string {
	return placeholder.ReplaceAllStringFunc(tmpl, func(s string) string {
		if x, ok := m.v[s[2:len(s)-1]]; ok {
			return scalarString(x)
		}
		return s
	})
}

func (m *matcher) array(path string, exp, act []any) {
	mode := ""
	if len(exp) > 0 {
		if s, ok := exp[0].(string); ok && (s == markUnordered || s == markContains) {
			mode, exp = s, exp[1:]
		}
	}
	if mode != markContains && len(exp) != len(act) {
		m.errorf(path, "want %d elements, got %d: %s", len(exp), len(act), brief(act))
		return
	}
	if mode == "" {
		for i := range exp {
			m.value(fmt.Sprintf("%s[%d]", path, i), exp[i], act[i], true)
		}
		return
	}
	// Any order: find an assignment of distinct actual elements to the
	// expected ones by backtracking (arrays in fixtures are small), keeping
	// the captures of the assignment that works.
	used := make([]bool, len(act))
	var assign func(i int, v vars) vars
	assign = func(i int, v vars) vars {
		if i == len(exp) {
			return v
		}
		for j := range act {
			if used[j] {
				continue
			}
			sub := &matcher{v: v.clone()}
			sub.value(path, exp[i], act[j], true)
			if len(sub.errs) > 0 {
				continue
			}
			used[j] = true
			if got := assign(i+1, sub.v); got != nil {
				return got
			}
			used[j] = false
		}
		return nil
	}
	if got := assign(0, m.v); got != nil {
		m.v = got
		return
	}
	// Name the first expected element that matches nothing, for the message.
	for _, e := range exp {
		found := false
		for _, a := range act {
			sub := &matcher{v: m.v.clone()}
			sub.value(path, e, a, true)
			if len(sub.errs) == 0 {
				found = true
				break
			}
		}
		if !found {
			m.errorf(path, "no element matches %s; got %s", brief(e), brief(act))
			return
		}
	}
	m.errorf(path, "elements cannot all be matched at once (%s); got %s", mode, brief(act))
}

// field looks name up in obj exactly, else ignoring case.
func field(obj map[string]any, name string) (any, bool) {
	if x, ok := obj[name]; ok {
		return x, true
	}
	for k, x := range obj {
		if strings.EqualFold(k, name) {
			return x, true
		}
	}
	return nil, false
}

func isEmpty(x any) bool {
	switch x := x.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// scalarString renders a variable's value inside a larger string.
func scalarString(x any) string {
	if s, ok := x.(string); ok {
		return s
	}
	b, _ := json.Marshal(x)
	return string(b)
}

// brief renders a JSON value for a message, cut to a readable length.
func brief(x any) string {
	b, err := json.Marshal(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return excerpt(b, 200)
}

func briefPresent(x any, present bool) string {
	if !present {
		return "nothing (absent)"
	}
	return brief(x)
}

// excerpt returns b as a string of at most n bytes, marking a cut.
func excerpt(b []byte, n int) string {
	if len(b) <= n {
		return string(b)
	}
	return fmt.Sprintf("%s… (%d bytes)", b[:n], len(b))
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}
