package expr

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// Match reports whether the SCIM resource doc matches e, with the semantics
// described in the package documentation. doc is a resource as encoding/json
// decodes it (strings, bool, float64 or json.Number, []any, map[string]any,
// nil); extension attributes sit in a map under their schema's URN.
//
// A filter that Validate rejects matches nothing. Match never panics, even
// on documents that do not follow the schemas: a value of the wrong type
// simply compares false.
func (r Resolver) Match(e filter.Expression, doc map[string]any) bool {
	if r.Validate(e) != nil {
		return false
	}
	return r.eval(e, doc, nil, nil)
}

// MatchElement reports whether elem, one element of the multi-valued complex
// attribute attr (such as one map of "emails" or "members"), satisfies the
// value filter e, the part of a value path inside the brackets. Names in e
// are sub-attributes of attr. It is false when attr is not a complex
// attribute of the schemas or e does not validate against its sub-attributes.
func (r Resolver) MatchElement(attr filter.AttributePath, e filter.Expression, elem map[string]any) bool {
	res, err := r.resolve(attr)
	if err != nil || res.Sub != nil || !isComplex(res.Attribute) {
		return false
	}
	if r.check(e, &res.Attribute) != nil {
		return false
	}
	return r.eval(e, nil, &res.Attribute, elem)
}

// ElementMatcher is MatchElement with attr and e checked once, for testing many elements:
// it fails where MatchElement would be false for every element.
func (r Resolver) ElementMatcher(attr filter.AttributePath, e filter.Expression) (func(elem map[string]any) bool, error) {
	res, err := r.resolve(attr)
	if err != nil {
		return nil, err
	}
	if res.Sub != nil || !isComplex(res.Attribute) {
		return nil, &ValidationError{Attribute: pathString(attr), Msg: fmt.Sprintf("%q is not a complex attribute", pathString(attr))}
	}
	outer := res.Attribute
	if err := r.check(e, &outer); err != nil {
		return nil, err
	}
	return func(elem map[string]any) bool { return r.eval(e, nil, &outer, elem) }, nil
}

// eval evaluates a validated e, on doc at the top level (outer == nil) or on
// elem, one element of the attribute outer, inside a value filter.
func (r Resolver) eval(e filter.Expression, doc map[string]any, outer *schema.CoreAttribute, elem any) bool {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		t, err := r.compile(e, outer)
		if err != nil {
			return false
		}
		return t.match(t.values(doc, elem))
	case *filter.LogicalExpression:
		if strings.EqualFold(string(e.Operator), string(filter.AND)) {
			return r.eval(e.Left, doc, outer, elem) && r.eval(e.Right, doc, outer, elem)
		}
		return r.eval(e.Left, doc, outer, elem) || r.eval(e.Right, doc, outer, elem)
	case *filter.NotExpression:
		return !r.eval(e.Expression, doc, outer, elem)
	case *filter.ValuePath:
		res, err := r.resolve(e.AttributePath)
		if err != nil {
			return false
		}
		objects := isComplex(res.Attribute)
		for _, el := range list(topValue(res, doc)) {
			// An element of a complex attribute that is not an object is
			// malformed; skip it rather than match it as an empty element.
			if _, ok := el.(map[string]any); objects && !ok {
				continue
			}
			if r.eval(e.ValueFilter, doc, &res.Attribute, el) {
				return true
			}
		}
	}
	return false
}

// topValue returns the value of res's top-level attribute in doc.
func topValue(res Resolved, doc map[string]any) any {
	if res.Extension {
		ext, _ := lookup(doc, res.Schema).(map[string]any)
		return lookup(ext, res.Attribute.Name())
	}
	return lookup(doc, res.Attribute.Name())
}

// values returns every value of t's leaf attribute, with multi-valued
// attributes flattened and nulls dropped.
func (t term) values(doc map[string]any, elem any) []any {
	var v any
	switch {
	case t.self:
		v = elem
	case t.inElem:
		m, _ := elem.(map[string]any)
		v = lookup(m, t.Attribute.Name())
	default:
		v = topValue(t.Resolved, doc)
	}
	var out []any
	for _, x := range list(v) {
		if t.Sub == nil && !t.implicit {
			out = append(out, x)
			continue
		}
		m, ok := x.(map[string]any)
		if !ok {
			continue
		}
		out = append(out, list(lookup(m, t.leaf.Name()))...)
	}
	return out
}

// match applies t's operator to the values of its attribute: true if any
// value satisfies it, except that ne also holds when there is no value.
func (t term) match(vals []any) bool {
	switch {
	case t.op == filter.PR:
		return anyPresent(vals)
	case t.value == nil && t.op == filter.EQ:
		return !anyPresent(vals)
	case t.value == nil: // ne null
		return anyPresent(vals)
	case t.op == filter.NE && len(vals) == 0:
		return true
	}
	for _, v := range vals {
		if c, ok := t.compare(v); ok && t.holds(c) {
			return true
		}
	}
	return false
}

// holds reports whether t's operator holds given the result of compare.
func (t term) holds(c int) bool {
	switch t.op {
	case filter.EQ, filter.CO, filter.SW, filter.EW:
		return c == 0
	case filter.NE:
		return c != 0
	case filter.GT:
		return c > 0
	case filter.GE:
		return c >= 0
	case filter.LT:
		return c < 0
	case filter.LE:
		return c <= 0
	}
	return false
}

// compare compares the document value v with t's compare value. For eq, ne
// and the ordering operators it returns v's order relative to the compare
// value; for co, sw and ew it returns 0 when the operator holds and 1
// otherwise. ok is false when v cannot be compared (wrong type).
func (t term) compare(v any) (c int, ok bool) {
	switch t.leaf.AttributeType() {
	case "boolean":
		b, ok := toBool(v)
		want, ok2 := t.value.(bool)
		switch {
		case !ok || !ok2:
			return 0, false
		case b == want:
			return 0, true
		}
		return 1, true
	case "integer", "decimal":
		return compareNumbers(v, t.value)
	case "dateTime":
		tm, ok := toTime(v)
		want, ok2 := t.value.(time.Time)
		if !ok || !ok2 {
			return 0, false
		}
		return tm.Compare(want), true
	}
	s, ok := v.(string)
	if !ok {
		return 0, false
	}
	want, ok := t.value.(string)
	if !ok {
		return 0, false
	}
	if !t.leaf.CaseExact() {
		s, want = t.fold(s), t.fold(want)
	}
	holds := true
	switch t.op {
	case filter.CO:
		holds = strings.Contains(s, want)
	case filter.SW:
		holds = strings.HasPrefix(s, want)
	case filter.EW:
		holds = strings.HasSuffix(s, want)
	default:
		return strings.Compare(s, want), true
	}
	if holds {
		return 0, true
	}
	return 1, true
}

// anyPresent reports whether any value is present in the sense of the pr
// operator: not null, not "", not an empty array or object, and for arrays
// and objects, holding at least one present value.
func anyPresent(vals []any) bool {
	for _, v := range vals {
		if present(v) {
			return true
		}
	}
	return false
}

func present(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case string:
		return v != ""
	case []any:
		return anyPresent(v)
	case []string:
		for _, s := range v {
			if s != "" {
				return true
			}
		}
		return false
	case []map[string]any:
		for _, m := range v {
			if present(m) {
				return true
			}
		}
		return false
	case map[string]any:
		for _, x := range v {
			if present(x) {
				return true
			}
		}
		return false
	}
	return true
}

// list returns the values of a possibly multi-valued attribute value, without
// nulls. A single value is a list of one, so documents that store a
// multi-valued attribute as a single value still match.
func list(v any) []any {
	var out []any
	switch v := v.(type) {
	case nil:
	case []any:
		for _, x := range v {
			if x != nil {
				out = append(out, x)
			}
		}
	case []map[string]any:
		for _, x := range v {
			if x != nil {
				out = append(out, x)
			}
		}
	case []string:
		for _, x := range v {
			out = append(out, x)
		}
	default:
		out = append(out, v)
	}
	return out
}

// lookup returns m's value for the attribute name, matching the key
// case-insensitively. An exact key wins; among keys that differ only in case
// the smallest wins, so the result does not depend on map order.
func lookup(m map[string]any, name string) any {
	if v, ok := m[name]; ok {
		return v
	}
	key, found := "", false
	for k := range m {
		if strings.EqualFold(k, name) && (!found || k < key) {
			key, found = k, true
		}
	}
	if !found {
		return nil
	}
	return m[key]
}

// maxExactDigits bounds the integers compared exactly with math/big, so that
// a huge number in a document cannot make a comparison slow.
const maxExactDigits = MaxFilterLength

// compareNumbers compares two numbers exactly: an int64 against a float64
// that differs from it beyond 2^53 compares as different. Decimal strings
// (json.Number with a fraction or exponent) are first rounded to float64.
func compareNumbers(a, b any) (int, bool) {
	if x, ok := a.(float64); ok {
		if y, ok := b.(float64); ok && !math.IsNaN(x) && !math.IsNaN(y) {
			return cmpOrdered(x, y), true
		}
	}
	if x, ok := a.(int); ok {
		if y, ok := b.(int); ok {
			return cmpOrdered(x, y), true
		}
	}
	x, ok := bigNumber(a)
	if !ok {
		return 0, false
	}
	y, ok := bigNumber(b)
	if !ok {
		return 0, false
	}
	return x.Cmp(y), true
}

func cmpOrdered[T int | float64](x, y T) int {
	switch {
	case x < y:
		return -1
	case x > y:
		return 1
	}
	return 0
}

// bigNumber converts v to an exact big.Float, or reports that v is not a number.
func bigNumber(v any) (*big.Float, bool) {
	switch v := v.(type) {
	case int:
		return new(big.Float).SetInt64(int64(v)), true
	case int32:
		return new(big.Float).SetInt64(int64(v)), true
	case int64:
		return new(big.Float).SetInt64(v), true
	case uint32:
		return new(big.Float).SetInt64(int64(v)), true
	case float32:
		return floatNumber(float64(v))
	case float64:
		return floatNumber(v)
	case json.Number:
		s := string(v)
		if !isJSONNumber(s) {
			return nil, false
		}
		if !strings.ContainsAny(s, ".eE") && len(s) <= maxExactDigits {
			i, ok := new(big.Int).SetString(s, 10)
			if !ok {
				return nil, false
			}
			return new(big.Float).SetInt(i), true
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, false
		}
		return floatNumber(f)
	}
	return nil, false
}

func floatNumber(f float64) (*big.Float, bool) {
	if math.IsNaN(f) {
		return nil, false
	}
	return new(big.Float).SetFloat64(f), true
}

// isNumber reports whether v is a number that compareNumbers accepts.
func isNumber(v any) bool {
	_, ok := bigNumber(v)
	return ok
}
