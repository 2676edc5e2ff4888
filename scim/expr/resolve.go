package expr

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/elimity-com/scim/schema"
	"github.com/scim2/filter-parser/v2"
)

// Resolver resolves attribute paths against a resource type's schemas and
// evaluates filters on documents of that resource type.
type Resolver struct {
	// Core is the resource schema, such as schema.CoreUserSchema(). The
	// common attributes (id, externalId, meta, schemas) resolve as well,
	// with or without Core's URN.
	Core schema.Schema
	// Extensions are the schema extensions of the resource type, such as
	// schema.ExtensionEnterpriseUser().
	Extensions []schema.Schema
	// Fold is the case folding that compares values of attributes that are
	// not caseExact, so that a store which folds otherwise can be matched
	// exactly; nil is strings.ToLower.
	Fold func(string) string
}

func (r Resolver) fold() func(string) string {
	if r.Fold != nil {
		return r.Fold
	}
	return strings.ToLower
}

// Resolved is an attribute path resolved against a Resolver's schemas.
type Resolved struct {
	// Schema is the ID of the schema that defines the attribute: Core.ID for
	// core and common attributes, or an extension's ID.
	Schema string
	// Extension reports whether the attribute is an extension attribute,
	// stored in documents under the key Schema.
	Extension bool
	// Attribute is the top-level attribute.
	Attribute schema.CoreAttribute
	// Sub is the sub-attribute the path names, or nil.
	Sub *schema.CoreAttribute
}

// Leaf returns the attribute the path ends in: Sub if set, else Attribute.
func (a Resolved) Leaf() schema.CoreAttribute {
	if a.Sub != nil {
		return *a.Sub
	}
	return a.Attribute
}

// ValidationError reports a filter or path that is well formed but does not
// fit the schemas. Its message names the attribute and is safe to show to a
// SCIM client.
type ValidationError struct {
	Attribute string // the attribute path as the client wrote it
	Msg       string

	path bool
}

func (e *ValidationError) Error() string {
	if e.path {
		return "invalid path: " + e.Msg
	}
	return "invalid filter: " + e.Msg
}

// commonAttributes never changes after initialisation; it is shared to
// avoid rebuilding it for every lookup.
var commonAttributes = schema.Attributes(schema.CommonAttributes())

// Attribute resolves an attribute path (name or name.sub, as used outside
// value filters), case-insensitively. A path with a URN prefix is looked up
// in the schema with that ID; the common attributes count as part of Core.
// A path without one is looked up in Core, then in the common attributes,
// then in each extension in order: RFC 7644 §3.10 only says clients SHOULD
// qualify extension attributes, and some IdPs do not.
func (r Resolver) Attribute(p filter.AttributePath) (Resolved, bool) {
	res, err := r.resolve(p)
	return res, err == nil
}

// Schema reports whether p names a whole schema rather than an attribute:
// ParsePath returns a bare URN such as
// urn:ietf:params:scim:schemas:extension:enterprise:2.0:User as URI
// "urn:…:2.0" and attribute "User". It returns Core or the extension named.
func (r Resolver) Schema(p filter.AttributePath) (schema.Schema, bool) {
	if p.URIPrefix == nil || p.SubAttribute != nil {
		return schema.Schema{}, false
	}
	id := *p.URIPrefix + ":" + p.AttributeName
	if strings.EqualFold(id, r.Core.ID) {
		return r.Core, true
	}
	for _, s := range r.Extensions {
		if strings.EqualFold(id, s.ID) {
			return s, true
		}
	}
	return schema.Schema{}, false
}

func (r Resolver) resolve(p filter.AttributePath) (Resolved, error) {
	unknown := &ValidationError{Attribute: pathString(p), Msg: fmt.Sprintf("unknown attribute %q", pathString(p))}
	res, ok := r.lookupTop(p)
	if !ok {
		return Resolved{}, unknown
	}
	if p.SubAttribute == nil {
		return res, nil
	}
	if !isComplex(res.Attribute) {
		return Resolved{}, unknown
	}
	sub, ok := res.Attribute.SubAttributes().ContainsAttribute(*p.SubAttribute)
	if !ok {
		return Resolved{}, unknown
	}
	res.Sub = &sub
	return res, nil
}

func (r Resolver) lookupTop(p filter.AttributePath) (Resolved, bool) {
	name := p.AttributeName
	core := func() (Resolved, bool) {
		if a, ok := r.Core.Attributes.ContainsAttribute(name); ok {
			return Resolved{Schema: r.Core.ID, Attribute: a}, true
		}
		if a, ok := commonAttributes.ContainsAttribute(name); ok {
			return Resolved{Schema: r.Core.ID, Attribute: a}, true
		}
		return Resolved{}, false
	}
	if p.URIPrefix != nil {
		uri := *p.URIPrefix
		if strings.EqualFold(uri, r.Core.ID) {
			return core()
		}
		for _, s := range r.Extensions {
			if strings.EqualFold(uri, s.ID) {
				a, ok := s.Attributes.ContainsAttribute(name)
				return Resolved{Schema: s.ID, Extension: true, Attribute: a}, ok
			}
		}
		return Resolved{}, false
	}
	if res, ok := core(); ok {
		return res, true
	}
	for _, s := range r.Extensions {
		if a, ok := s.Attributes.ContainsAttribute(name); ok {
			return Resolved{Schema: s.ID, Extension: true, Attribute: a}, true
		}
	}
	return Resolved{}, false
}

// ref is an attribute path resolved either at the top level (outer == nil)
// or inside the value filter of the attribute outer.
type ref struct {
	Resolved
	name string // as written, for messages
	// self marks "value" inside a value filter on a multi-valued attribute
	// without sub-attributes: it names the element itself.
	self bool
	// inElem marks a name resolved inside a value filter.
	inElem bool
}

func (r Resolver) resolveIn(outer *schema.CoreAttribute, p filter.AttributePath) (ref, error) {
	if outer == nil {
		res, err := r.resolve(p)
		return ref{Resolved: res, name: pathString(p)}, err
	}
	name := outer.Name() + "." + pathString(p)
	unknown := &ValidationError{Attribute: name, Msg: fmt.Sprintf("unknown attribute %q in the value filter of %q", pathString(p), outer.Name())}
	if p.URIPrefix != nil || p.SubAttribute != nil {
		return ref{}, unknown
	}
	if !isComplex(*outer) {
		if !strings.EqualFold(p.AttributeName, "value") {
			return ref{}, unknown
		}
		elem := *outer
		return ref{Resolved: Resolved{Attribute: elem}, name: name, self: true, inElem: true}, nil
	}
	sub, ok := outer.SubAttributes().ContainsAttribute(p.AttributeName)
	if !ok {
		return ref{}, unknown
	}
	return ref{Resolved: Resolved{Attribute: sub}, name: name, inElem: true}, nil
}

// Validate reports whether every attribute in e resolves (see Attribute) and
// every comparison can hold for that attribute's type:
//   - value paths are allowed on complex or multi-valued attributes, and
//     inside the brackets only their sub-attributes may be named;
//   - a complex attribute compared without a sub-attribute compares its
//     "value" sub-attribute (emails eq "x"); one without "value" allows pr only;
//   - gt, ge, lt and le are not allowed on boolean or binary attributes, and
//     co, sw and ew only on string, reference and binary attributes;
//   - the compare value must suit the type: a string for string, reference
//     and binary; true/false (or the strings "true"/"false" in any case) for
//     boolean; a number for integer and decimal; an RFC 3339 string for
//     dateTime. null is allowed with eq and ne only;
//   - pr is allowed on every attribute.
//
// The error is a *ValidationError naming the attribute.
func (r Resolver) Validate(e filter.Expression) error {
	return r.check(e, nil)
}

// ValidatePath is Validate for a PATCH path. It accepts a bare schema URN
// (see Schema) as well as attribute paths.
func (r Resolver) ValidatePath(p filter.Path) error {
	err := r.checkPath(p)
	if v, ok := err.(*ValidationError); ok {
		v.path = true
	}
	return err
}

func (r Resolver) checkPath(p filter.Path) error {
	if p.ValueExpression == nil && p.SubAttribute == nil {
		if _, ok := r.Schema(p.AttributePath); ok {
			return nil
		}
	}
	res, err := r.resolve(p.AttributePath)
	if err != nil {
		return err
	}
	if p.ValueExpression == nil {
		if p.SubAttribute != nil {
			return &ValidationError{Attribute: FormatPath(p), Msg: fmt.Sprintf("%q needs a value filter before its sub-attribute", pathString(p.AttributePath))}
		}
		return nil
	}
	outer, err := valuePathTarget(res, pathString(p.AttributePath))
	if err != nil {
		return err
	}
	if err := r.check(p.ValueExpression, &outer); err != nil {
		return err
	}
	if p.SubAttribute != nil {
		if _, ok := outer.SubAttributes().ContainsAttribute(*p.SubAttribute); !ok || !isComplex(outer) {
			name := pathString(p.AttributePath) + "." + *p.SubAttribute
			return &ValidationError{Attribute: name, Msg: fmt.Sprintf("unknown attribute %q", name)}
		}
	}
	return nil
}

// Normalize validates e (see Validate) and returns a copy in which every
// comparison is spelled out the way Match evaluates it, for translators
// that must agree with Match:
//   - operators and logical operators are lower case;
//   - a complex attribute compared without a sub-attribute names its
//     "value" sub-attribute (emails eq "x" becomes emails.value eq "x");
//   - each compare value has the Go type of its attribute: string for
//     string, reference and binary (an unquoted integer becomes its
//     digits), bool for boolean (also from "True"), int, float64 or
//     json.Number for integer and decimal, time.Time for dateTime, and nil
//     for null.
//
// Attribute names and URIs are kept as written.
func (r Resolver) Normalize(e filter.Expression) (filter.Expression, error) {
	if err := r.Validate(e); err != nil {
		return nil, err
	}
	return r.normalize(e, nil), nil
}

func (r Resolver) normalize(e filter.Expression, outer *schema.CoreAttribute) filter.Expression {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		t, _ := r.compile(e, outer)
		p := e.AttributePath
		if t.implicit {
			name := t.leaf.Name()
			p.SubAttribute = &name
		}
		return &filter.AttributeExpression{AttributePath: p, Operator: t.op, CompareValue: t.value}
	case *filter.LogicalExpression:
		op := filter.LogicalOperator(strings.ToLower(string(e.Operator)))
		return &filter.LogicalExpression{Left: r.normalize(e.Left, outer), Right: r.normalize(e.Right, outer), Operator: op}
	case *filter.NotExpression:
		return &filter.NotExpression{Expression: r.normalize(e.Expression, outer)}
	case *filter.ValuePath:
		res, _ := r.resolve(e.AttributePath)
		return &filter.ValuePath{AttributePath: e.AttributePath, ValueFilter: r.normalize(e.ValueFilter, &res.Attribute)}
	}
	return e
}

func (r Resolver) check(e filter.Expression, outer *schema.CoreAttribute) error {
	switch e := e.(type) {
	case *filter.AttributeExpression:
		if e != nil {
			_, err := r.compile(e, outer)
			return err
		}
	case *filter.LogicalExpression:
		if e != nil {
			if !isLogical(e.Operator) {
				return &ValidationError{Msg: fmt.Sprintf("unknown logical operator %q", e.Operator)}
			}
			if err := r.check(e.Left, outer); err != nil {
				return err
			}
			return r.check(e.Right, outer)
		}
	case *filter.NotExpression:
		if e != nil {
			return r.check(e.Expression, outer)
		}
	case *filter.ValuePath:
		if e != nil {
			name := pathString(e.AttributePath)
			if outer != nil {
				return &ValidationError{Attribute: name, Msg: "value filters cannot be nested"}
			}
			res, err := r.resolve(e.AttributePath)
			if err != nil {
				return err
			}
			attr, err := valuePathTarget(res, name)
			if err != nil {
				return err
			}
			return r.check(e.ValueFilter, &attr)
		}
	}
	return &ValidationError{Msg: "empty filter expression"}
}

// valuePathTarget returns the attribute whose elements a value filter on res selects.
func valuePathTarget(res Resolved, name string) (schema.CoreAttribute, error) {
	if res.Sub != nil {
		return schema.CoreAttribute{}, &ValidationError{Attribute: name, Msg: fmt.Sprintf("value filter on sub-attribute %q; put it on the attribute", name)}
	}
	if !isComplex(res.Attribute) && !res.Attribute.MultiValued() {
		return schema.CoreAttribute{}, &ValidationError{Attribute: name, Msg: fmt.Sprintf("value filter on %q, which is neither multi-valued nor complex", name)}
	}
	return res.Attribute, nil
}

func isLogical(op filter.LogicalOperator) bool {
	return strings.EqualFold(string(op), string(filter.AND)) || strings.EqualFold(string(op), string(filter.OR))
}

func isComplex(a schema.CoreAttribute) bool { return a.AttributeType() == "complex" }

// term is a comparison resolved and checked against the schemas.
type term struct {
	ref
	leaf     schema.CoreAttribute // the attribute whose values are compared
	implicit bool                 // leaf is the "value" sub-attribute the filter left out
	op       filter.CompareOperator
	value    any // nil, string, bool, time.Time, or a number (see compareNumbers)
	fold     func(string) string
}

func (r Resolver) compile(e *filter.AttributeExpression, outer *schema.CoreAttribute) (term, error) {
	rf, err := r.resolveIn(outer, e.AttributePath)
	if err != nil {
		return term{}, err
	}
	t := term{ref: rf, leaf: rf.Leaf(), op: filter.CompareOperator(strings.ToLower(string(e.Operator))), fold: r.fold()}
	fail := func(format string, args ...any) (term, error) {
		return term{}, &ValidationError{Attribute: rf.name, Msg: fmt.Sprintf(format, args...)}
	}
	if !knownOperator(t.op) {
		return fail("unknown operator %q", e.Operator)
	}
	if t.op == filter.PR {
		return t, nil
	}
	if isComplex(t.leaf) {
		v, ok := t.leaf.SubAttributes().ContainsAttribute("value")
		if !ok {
			return fail("%q is a complex attribute; compare one of its sub-attributes", rf.name)
		}
		t.leaf, t.implicit = v, true
	}
	typ := t.leaf.AttributeType()
	switch {
	case isOrdering(t.op) && (typ == "boolean" || typ == "binary"):
		return fail("operator %q is not allowed on %s attribute %q", t.op, typ, rf.name)
	case isSubstring(t.op) && typ != "string" && typ != "reference" && typ != "binary":
		return fail("operator %q is not allowed on %s attribute %q", t.op, typ, rf.name)
	}
	v := e.CompareValue
	if v == nil {
		if t.op != filter.EQ && t.op != filter.NE {
			return fail("operator %q needs a value, not null", t.op)
		}
		return t, nil
	}
	switch typ {
	case "boolean":
		b, ok := toBool(v)
		if !ok {
			return fail("attribute %q needs true or false", rf.name)
		}
		t.value = b
	case "integer", "decimal":
		if !isNumber(v) {
			return fail("attribute %q needs a number", rf.name)
		}
		t.value = v
	case "dateTime":
		tm, ok := toTime(v)
		if !ok {
			return fail("attribute %q needs a date and time such as \"2011-05-13T04:42:34Z\"", rf.name)
		}
		t.value = tm
	default:
		s, ok := v.(string)
		if !ok {
			s, ok = integerText(v)
		}
		if !ok {
			return fail("attribute %q needs a string value", rf.name)
		}
		t.value = s
	}
	return t, nil
}

// integerText returns the digits of an integer compare value: a client
// that sends externalId eq 12345 (IdP examples do) means the string
// "12345". Only integers are
// accepted: a float64 no longer knows how it was written ("1.50").
func integerText(v any) (string, bool) {
	switch v := v.(type) {
	case int:
		return strconv.Itoa(v), true
	case json.Number:
		if isJSONNumber(string(v)) && !strings.ContainsAny(string(v), ".eE") {
			return string(v), true
		}
	}
	return "", false
}

func isOrdering(op filter.CompareOperator) bool {
	return op == filter.GT || op == filter.GE || op == filter.LT || op == filter.LE
}

func isSubstring(op filter.CompareOperator) bool {
	return op == filter.CO || op == filter.SW || op == filter.EW
}

// toBool accepts true and false, and the strings "true" and "false" in any
// case, which Entra ID sends for booleans.
func toBool(v any) (bool, bool) {
	switch v := v.(type) {
	case bool:
		return v, true
	case string:
		switch {
		case strings.EqualFold(v, "true"):
			return true, true
		case strings.EqualFold(v, "false"):
			return false, true
		}
	}
	return false, false
}

// toTime accepts a time.Time or an RFC 3339 string, with or without
// fractional seconds. A string without a zone offset (allowed by
// xsd:dateTime) is taken as UTC.
func toTime(v any) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, true
	case string:
		s := strings.ToUpper(v) // RFC 3339 allows "t" and "z"
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t, true
		}
		if t, err := time.ParseInLocation("2006-01-02T15:04:05.999999999", s, time.UTC); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
