package scim

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	filter "github.com/scim2/filter-parser/v2"

	"github.com/rollcall/rollcall/storage"
)

// Translating SCIM filters to storage filters. Every attribute of the User and Group schemas
// that can be compared is mapped to a stored field; whatever is not mapped is 400
// invalidFilter, never an unfiltered answer. The semantics match the in-memory evaluation of
// package expr (which the fuzz test checks): strings fold with rbac.Fold unless the
// attribute is caseExact; a comparison with an absent value is false, except ne, which is
// true; a multi-valued attribute matches when any of its values does.

// fieldMap maps lower-cased attribute paths (extension attributes as "urn:…:user:name") to
// stored fields, and multi-valued attributes to sets.
type fieldMap struct {
	fields map[string]storage.Field
	sets   map[string]storage.Set
}

const entLower = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user:"

var userFieldMap = fieldMap{
	fields: map[string]storage.Field{
		"id": storage.FieldID, "externalid": storage.FieldExternalID, "username": storage.FieldUserName,
		"active": storage.FieldActive, "displayname": storage.FieldDisplayName, "nickname": storage.FieldNickName,
		"profileurl": storage.FieldProfileURL, "title": storage.FieldTitle, "usertype": storage.FieldUserType,
		"preferredlanguage": storage.FieldPreferredLanguage, "locale": storage.FieldLocale, "timezone": storage.FieldTimezone,
		"name.formatted": storage.FieldNameFormatted, "name.familyname": storage.FieldFamilyName,
		"name.givenname": storage.FieldGivenName, "name.middlename": storage.FieldMiddleName,
		"name.honorificprefix": storage.FieldHonorificPrefix, "name.honorificsuffix": storage.FieldHonorificSuffix,
		"meta.created": storage.FieldCreated, "meta.lastmodified": storage.FieldModified,
		entLower + "employeenumber": storage.FieldEmployeeNumber, entLower + "costcenter": storage.FieldCostCenter,
		entLower + "organization": storage.FieldOrganization, entLower + "division": storage.FieldDivision,
		entLower + "department": storage.FieldDepartment, entLower + "manager.value": storage.FieldManagerID,
	},
	sets: map[string]storage.Set{
		"emails": storage.SetEmails, "phonenumbers": storage.SetPhoneNumbers, "ims": storage.SetIMs,
		"photos": storage.SetPhotos, "addresses": storage.SetAddresses, "entitlements": storage.SetEntitlements,
		"roles": storage.SetRoles, "x509certificates": storage.SetX509Certificates, "groups": storage.SetGroups,
	},
}

var groupFieldMap = fieldMap{
	fields: map[string]storage.Field{
		"id": storage.FieldID, "externalid": storage.FieldExternalID, "displayname": storage.FieldDisplayName,
		"meta.created": storage.FieldCreated, "meta.lastmodified": storage.FieldModified,
	},
	sets: map[string]storage.Set{"members": storage.SetMembers},
}

// elemFields are the stored fields of an element of a set, by lower-cased sub-attribute.
var elemFields = map[string]storage.Field{
	"value": storage.ElemValue, "display": storage.ElemDisplay, "type": storage.ElemType, "primary": storage.ElemPrimary,
	"formatted": storage.ElemFormatted, "streetaddress": storage.ElemStreetAddress, "locality": storage.ElemLocality,
	"region": storage.ElemRegion, "postalcode": storage.ElemPostalCode, "country": storage.ElemCountry,
}

type translator struct {
	rs *resourceSchema
	fm fieldMap
}

func translatorFor(rs *resourceSchema) translator {
	if rs == groupsSchema {
		return translator{rs: rs, fm: groupFieldMap}
	}
	return translator{rs: rs, fm: userFieldMap}
}

func invalidFilter(format string, args ...any) *Error {
	return badRequest(typeInvalidFilter, format, args...)
}

// filter translates a whole filter.
func (t translator) filter(e filter.Expression) (storage.Filter, *Error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, err := t.filter(e.Left)
		if err != nil {
			return nil, err
		}
		r, err := t.filter(e.Right)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(string(e.Operator), "or") {
			return storage.Or{Left: l, Right: r}, nil
		}
		return storage.And{Left: l, Right: r}, nil
	case *filter.NotExpression:
		f, err := t.filter(e.Expression)
		if err != nil {
			return nil, err
		}
		return storage.Not{Filter: f}, nil
	case *filter.ValuePath:
		a, set, err := t.set(e.AttributePath)
		if err != nil {
			return nil, err
		}
		where, err := t.element(a, e.ValueFilter)
		if err != nil {
			return nil, err
		}
		return storage.Any{Set: set, Where: where}, nil
	case *filter.AttributeExpression:
		return t.compare(e)
	}
	return nil, invalidFilter("The filter has an unsupported form.")
}

// set resolves the attribute of a value path, which must be a multi-valued one.
func (t translator) set(p filter.AttributePath) (*attr, storage.Set, *Error) {
	a, ok := t.rs.lookup(filter.AttributePath{URIPrefix: p.URIPrefix, AttributeName: p.AttributeName})
	if !ok {
		return nil, "", invalidFilter("Unknown attribute %q.", p.String())
	}
	set, ok := t.fm.sets[strings.ToLower(a.key)]
	if !ok || p.SubAttribute != nil {
		return nil, "", invalidFilter("%q is not a multi-valued attribute; [filters] apply to those only.", p.String())
	}
	return a, set, nil
}

// element translates the filter inside a value path, whose attribute names are the set's
// sub-attributes.
func (t translator) element(a *attr, e filter.Expression) (storage.Filter, *Error) {
	switch e := e.(type) {
	case *filter.LogicalExpression:
		l, err := t.element(a, e.Left)
		if err != nil {
			return nil, err
		}
		r, err := t.element(a, e.Right)
		if err != nil {
			return nil, err
		}
		if strings.EqualFold(string(e.Operator), "or") {
			return storage.Or{Left: l, Right: r}, nil
		}
		return storage.And{Left: l, Right: r}, nil
	case *filter.NotExpression:
		f, err := t.element(a, e.Expression)
		if err != nil {
			return nil, err
		}
		return storage.Not{Filter: f}, nil
	case *filter.AttributeExpression:
		name := e.AttributePath.AttributeName
		if e.AttributePath.SubAttribute != nil && strings.EqualFold(name, a.key) {
			name = *e.AttributePath.SubAttribute // "emails[emails.type eq …]"
		}
		sub, ok := a.sub(name)
		if !ok {
			return nil, invalidFilter("%q has no sub-attribute %q.", a.key, name)
		}
		f, ok := elemFields[strings.ToLower(sub.key)]
		if !ok {
			return nil, invalidFilter("Filtering on %s.%s is not supported.", a.key, sub.key)
		}
		return t.leaf(sub, f, e)
	}
	return nil, invalidFilter("Value filters of %q cannot nest value paths.", a.key)
}

func (t translator) compare(e *filter.AttributeExpression) (storage.Filter, *Error) {
	p := e.AttributePath
	a, ok := t.rs.lookup(p)
	if !ok {
		return nil, invalidFilter("Unknown attribute %q.", p.String())
	}
	top := a
	if a.parent != nil {
		top = a.parent
	}
	if set, ok := t.fm.sets[strings.ToLower(top.key)]; ok {
		// emails.value eq "x", emails eq "x" (the value sub-attribute), emails pr.
		sub := a
		if a.parent == nil {
			if e.Operator == filter.PR {
				return storage.Any{Set: set}, nil
			}
			if sub, ok = a.sub("value"); !ok {
				return nil, invalidFilter("%q cannot be compared directly.", p.String())
			}
		}
		f, ok := elemFields[strings.ToLower(sub.key)]
		if !ok {
			return nil, invalidFilter("Filtering on %q is not supported.", p.String())
		}
		where, err := t.leaf(sub, f, e)
		if err != nil {
			return nil, err
		}
		if e.Operator == filter.NE && e.CompareValue != nil {
			// ne holds when some value differs, or when there is no value at all.
			present := storage.Compare{Field: f, Op: storage.OpPresent}
			return storage.Or{
				Left:  storage.Not{Filter: storage.Any{Set: set, Where: present}},
				Right: storage.Any{Set: set, Where: storage.And{Left: present, Right: where}},
			}, nil
		}
		return storage.Any{Set: set, Where: where}, nil
	}
	key := a.path()
	switch key {
	case "meta.resourcetype":
		// Every resource of an endpoint has its type: the comparison is the same for all.
		// resourceType is caseExact (RFC 7643 §3.1).
		if e.Operator == filter.PR {
			return storage.Const(true), nil
		}
		s, ok := e.CompareValue.(string)
		if !ok {
			return storage.Const(e.Operator == filter.NE), nil
		}
		return storage.Const(compareText(t.rs.name, storage.Op(strings.ToLower(string(e.Operator))), s)), nil
	case entLower + "manager":
		key = entLower + "manager.value"
		sub, _ := a.sub("value")
		a = sub
	case "name":
		if e.Operator == filter.PR {
			var f storage.Filter = storage.Const(false)
			for _, k := range []string{"formatted", "familyname", "givenname", "middlename", "honorificprefix", "honorificsuffix"} {
				f = storage.Or{Left: f, Right: storage.Compare{Field: t.fm.fields["name."+k], Op: storage.OpPresent}}
			}
			return f, nil
		}
	}
	field, ok := t.fm.fields[key]
	if !ok {
		return nil, invalidFilter("Filtering on %q is not supported.", p.String())
	}
	return t.leaf(a, field, e)
}

// leaf translates one comparison with a stored field, coercing the compare value to the
// attribute's type.
func (t translator) leaf(a *attr, f storage.Field, e *filter.AttributeExpression) (storage.Filter, *Error) {
	op := storage.Op(strings.ToLower(string(e.Operator)))
	if op == storage.OpPresent {
		return storage.Compare{Field: f, Op: op}, nil
	}
	ordering := op == storage.OpGt || op == storage.OpGe || op == storage.OpLt || op == storage.OpLe
	switch a.typ() {
	case "boolean":
		if ordering || op == storage.OpCo || op == storage.OpSw || op == storage.OpEw {
			return nil, invalidFilter("%s is a boolean: only eq, ne and pr apply.", a.key)
		}
		var b bool
		switch v := e.CompareValue.(type) {
		case bool:
			b = v
		case string:
			var ok bool
			if b, ok = parseBool(v); !ok {
				return storage.Const(false), nil
			}
		default:
			return storage.Const(false), nil
		}
		return storage.Compare{Field: f, Op: op, Value: b}, nil
	case "dateTime":
		s, ok := e.CompareValue.(string)
		if !ok {
			return nil, invalidFilter("%s is a dateTime: compare it with a quoted RFC 3339 time.", a.key)
		}
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, invalidFilter("%s is a dateTime and %q is not an RFC 3339 time.", a.key, s)
		}
		if op == storage.OpCo || op == storage.OpSw || op == storage.OpEw {
			return nil, invalidFilter("%s is a dateTime: co, sw and ew do not apply.", a.key)
		}
		return shownTime(f, op, tm), nil
	}
	var s string
	switch v := e.CompareValue.(type) {
	case string:
		if strings.ContainsRune(v, 0) {
			return nil, invalidFilter("The filter value for %s contains a NUL character.", a.key)
		}
		s = v
	case int:
		s = strconv.Itoa(v)
	case int64:
		s = strconv.FormatInt(v, 10)
	case float64:
		s = strconv.FormatFloat(v, 'f', -1, 64)
	case json.Number:
		s = v.String()
	case nil:
		// "eq null" means absent (RFC 7644 §3.4.2.2 treats null as unassigned).
		pr := storage.Compare{Field: f, Op: storage.OpPresent}
		switch op {
		case storage.OpEq:
			return storage.Not{Filter: pr}, nil
		case storage.OpNe:
			return pr, nil
		}
		return storage.Const(false), nil
	default:
		return storage.Const(false), nil
	}
	return storage.Compare{Field: f, Op: op, Value: s, Fold: !a.def.CaseExact()}, nil
}

// compareText applies a string comparison operator to two texts (already folded when the
// attribute is not caseExact), as the database compares them.
func compareText(have string, op storage.Op, want string) bool {
	switch op {
	case storage.OpEq:
		return have == want
	case storage.OpNe:
		return have != want
	case storage.OpCo:
		return strings.Contains(have, want)
	case storage.OpSw:
		return strings.HasPrefix(have, want)
	case storage.OpEw:
		return strings.HasSuffix(have, want)
	case storage.OpGt:
		return have > want
	case storage.OpGe:
		return have >= want
	case storage.OpLt:
		return have < want
	case storage.OpLe:
		return have <= want
	}
	return false
}

// shownTime compares a stored time as it is shown (timeLayout, to the microsecond, as stored). A
// filter may name a time to the nanosecond: such a value lies between two shown values, and
// each comparison becomes bounds on the stored instant ("eq" it matches nothing, "ge" it
// starts at the next shown instant).
func shownTime(f storage.Field, op storage.Op, v time.Time) storage.Filter {
	shown := v.Truncate(timeUnit)
	next := shown.Add(timeUnit) // the next instant shown
	exact := shown.Equal(v)
	at := func(op storage.Op, t time.Time) storage.Filter { return storage.Compare{Field: f, Op: op, Value: t} }
	during := storage.And{Left: at(storage.OpGe, shown), Right: at(storage.OpLt, next)}
	switch {
	case op == storage.OpEq && exact:
		return during
	case op == storage.OpEq:
		return storage.Const(false)
	case op == storage.OpNe && exact:
		return storage.Not{Filter: during}
	case op == storage.OpNe:
		return storage.Const(true)
	case op == storage.OpGt, op == storage.OpGe && !exact:
		return at(storage.OpGe, next)
	case op == storage.OpGe:
		return at(storage.OpGe, shown)
	case op == storage.OpLt && exact:
		return at(storage.OpLt, shown)
	default: // le, and lt between two shown instants
		return at(storage.OpLt, next)
	}
}
