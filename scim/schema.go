package scim

import (
	"strings"

	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
	filter "github.com/scim2/filter-parser/v2"
)

// Schema URNs Rollcall serves.
const (
	userURN       = schema.UserSchema
	groupURN      = schema.GroupSchema
	enterpriseURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	patchOpURN    = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
	listURN       = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
	errorURN      = "urn:ietf:params:scim:api:messages:2.0:Error"
	searchURN     = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
	spcURN        = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
)

// userSchema is RFC 7643's core User schema without "password": SCIM-provisioned users sign in
// through their IdP, so Rollcall neither advertises nor returns a password. A password an IdP
// sends anyway (in POST, PUT, or PATCH as Okta's password sync does) is kept as a hash only,
// out of the resource.
func userSchema() schema.Schema {
	s := schema.CoreUserSchema()
	attrs := make([]schema.CoreAttribute, 0, len(s.Attributes))
	for _, a := range s.Attributes {
		if a.Name() != "password" {
			attrs = append(attrs, a)
		}
	}
	s.Attributes = attrs
	return s
}

// groupSchema is RFC 7643's core Group schema with the uniqueness Rollcall enforces: two groups
// of one connection may not share a displayName once normalized (trimmed, lower-cased, white
// space as "_"), because each group is an IdP group, which roles are mapped to by that name.
func groupSchema() schema.Schema {
	s := schema.CoreGroupSchema()
	for i, a := range s.Attributes {
		if a.Name() == "displayName" {
			s.Attributes[i] = schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
				Description: optional.NewString("A human-readable name for the Group. REQUIRED. Unique within " +
					"the identity provider's connection, ignoring case and taking white space as \"_\"."),
				Name:       "displayName",
				Required:   true,
				Uniqueness: schema.AttributeUniquenessServer(),
			}))
		}
	}
	return s
}

// attr describes one attribute a path can name: a top-level attribute of the core schema or
// an extension, or a sub-attribute of a complex one.
type attr struct {
	// key is where the attribute lives in a resource document: its canonical name, under
	// the extension URN for extension attributes.
	key       string
	ext       string // the extension URN, or "" for core attributes
	def       schema.CoreAttribute
	parent    *attr // for sub-attributes
	subs      map[string]*attr
	readOnly  bool
	immutable bool
}

func (a *attr) multiValued() bool { return a.def.MultiValued() }
func (a *attr) complex() bool     { return a.def.HasSubAttributes() }
func (a *attr) typ() string       { return a.def.AttributeType() }

// sub returns the sub-attribute named (case-insensitively).
func (a *attr) sub(name string) (*attr, bool) {
	s, ok := a.subs[strings.ToLower(name)]
	return s, ok
}

// resourceSchema indexes the attributes of one resource type for case-insensitive lookup by
// name, by URN-qualified name and by container URN.
type resourceSchema struct {
	name       string // "User" or "Group"
	endpoint   string // "/Users" or "/Groups"
	core       schema.Schema
	extensions []schema.Schema
	// posted is core with externalId, the schema the library validates a POST or PUT body
	// against (made once here; the library makes it on every request).
	posted   schema.Schema
	attrs    map[string]*attr // by lower-cased name, core attributes only
	extAttrs map[string]map[string]*attr
}

func newResourceSchema(name, endpoint string, core schema.Schema, exts ...schema.Schema) *resourceSchema {
	rs := &resourceSchema{name: name, endpoint: endpoint, core: core, extensions: exts, posted: withExternalID(core),
		attrs: map[string]*attr{}, extAttrs: map[string]map[string]*attr{}}
	add := func(m map[string]*attr, ext string, a schema.CoreAttribute) {
		at := &attr{key: a.Name(), ext: ext, def: a, subs: map[string]*attr{},
			readOnly: a.Mutability() == "readOnly", immutable: a.Mutability() == "immutable"}
		for _, s := range a.SubAttributes() {
			at.subs[strings.ToLower(s.Name())] = &attr{key: s.Name(), ext: ext, def: s, parent: at, subs: map[string]*attr{},
				readOnly: s.Mutability() == "readOnly", immutable: s.Mutability() == "immutable"}
		}
		m[strings.ToLower(a.Name())] = at
	}
	for _, a := range core.Attributes {
		add(rs.attrs, "", a)
	}
	for _, a := range schema.CommonAttributes() {
		if a.Name() == "schemas" {
			continue
		}
		add(rs.attrs, "", a)
	}
	rs.attrs["id"].readOnly = true
	for _, e := range exts {
		m := map[string]*attr{}
		for _, a := range e.Attributes {
			add(m, e.ID, a)
		}
		rs.extAttrs[strings.ToLower(e.ID)] = m
	}
	return rs
}

// extension returns the canonical URN of an extension named case-insensitively.
func (rs *resourceSchema) extension(urn string) (string, bool) {
	for _, e := range rs.extensions {
		if strings.EqualFold(e.ID, urn) {
			return e.ID, true
		}
	}
	return "", false
}

// lookup resolves an attribute path: an optional URN prefix (the core schema's or an
// extension's), a name and an optional sub-attribute.
func (rs *resourceSchema) lookup(p filter.AttributePath) (*attr, bool) {
	m := rs.attrs
	if uri := p.URI(); uri != "" && !strings.EqualFold(uri, rs.core.ID) {
		ext, ok := rs.extAttrs[strings.ToLower(uri)]
		if !ok {
			return nil, false
		}
		m = ext
	}
	a, ok := m[strings.ToLower(p.AttributeName)]
	if !ok && p.URI() == "" {
		// RFC 7644 §3.10: the URN may be left out when the name is unambiguous.
		for _, e := range rs.extensions {
			if a, ok = rs.extAttrs[strings.ToLower(e.ID)][strings.ToLower(p.AttributeName)]; ok {
				break
			}
		}
	}
	if !ok {
		return nil, false
	}
	if p.SubAttribute != nil {
		return a.sub(*p.SubAttribute)
	}
	return a, true
}

// lookupKey resolves a key of a path-less PATCH value: a plain name, a dotted name
// ("name.givenName") or a URN-qualified name ("urn:…:User:employeeNumber", "urn:…:User:manager.value").
func (rs *resourceSchema) lookupKey(key string) (*attr, bool) {
	var p filter.AttributePath
	name := key
	if strings.HasPrefix(strings.ToLower(key), "urn:") {
		i := strings.LastIndexByte(key, ':')
		uri := key[:i]
		p.URIPrefix = &uri
		name = key[i+1:]
	}
	if n, sub, ok := strings.Cut(name, "."); ok {
		p.AttributeName, p.SubAttribute = n, &sub
	} else {
		p.AttributeName = name
	}
	return rs.lookup(p)
}

var (
	usersSchema  = newResourceSchema("User", "/Users", userSchema(), schema.ExtensionEnterpriseUser())
	groupsSchema = newResourceSchema("Group", "/Groups", groupSchema())
)

// path returns the attribute's lower-cased path: "username", "name.givenname",
// "urn:…:enterprise:2.0:user:manager.value".
func (a *attr) path() string {
	k := strings.ToLower(a.key)
	if a.parent != nil {
		k = strings.ToLower(a.parent.key) + "." + k
	}
	if a.ext != "" {
		k = strings.ToLower(a.ext) + ":" + k
	}
	return k
}
