package storage

// Filter is a condition on stored resources, built by callers from a protocol's own filter
// language (the scim package translates SCIM filters) and turned into SQL by the backends.
// Every node evaluates to true or false, never to "unknown": a comparison with an absent
// field is false, except Ne, which is true (an absent value is not equal to anything).
type Filter interface{ filter() }

// Field names a singular field of a resource, or a field of an element inside Any.
type Field string

// Fields common to users and groups.
const (
	FieldID          Field = "id"
	FieldExternalID  Field = "externalId"
	FieldCreated     Field = "meta.created"
	FieldModified    Field = "meta.lastModified"
	FieldDisplayName Field = "displayName"
)

// Group fields that are not SCIM attributes: pushed over SCIM, seen in a sign-in's groups
// claim, mapped to a role.
const (
	FieldSCIM        Field = "scim"
	FieldSeenAtLogin Field = "seenAtLogin"
	FieldMapped      Field = "mapped"
)

// User fields that are not SCIM attributes.
const (
	FieldKind       Field = "kind"
	FieldAuth       Field = "auth"
	FieldConnection Field = "connectionId"
	FieldOrgGroup   Field = "orgGroup"
)

// User fields.
const (
	FieldUserName          Field = "userName"
	FieldActive            Field = "active"
	FieldNickName          Field = "nickName"
	FieldProfileURL        Field = "profileUrl"
	FieldTitle             Field = "title"
	FieldUserType          Field = "userType"
	FieldPreferredLanguage Field = "preferredLanguage"
	FieldLocale            Field = "locale"
	FieldTimezone          Field = "timezone"
	FieldNameFormatted     Field = "name.formatted"
	FieldFamilyName        Field = "name.familyName"
	FieldGivenName         Field = "name.givenName"
	FieldMiddleName        Field = "name.middleName"
	FieldHonorificPrefix   Field = "name.honorificPrefix"
	FieldHonorificSuffix   Field = "name.honorificSuffix"
	FieldEmployeeNumber    Field = "employeeNumber"
	FieldCostCenter        Field = "costCenter"
	FieldOrganization      Field = "organization"
	FieldDivision          Field = "division"
	FieldDepartment        Field = "department"
	FieldManagerID         Field = "manager.value"
)

// Element fields, valid inside Any.
const (
	ElemValue         Field = "value"
	ElemDisplay       Field = "display"
	ElemType          Field = "type"
	ElemPrimary       Field = "primary"
	ElemFormatted     Field = "formatted"
	ElemStreetAddress Field = "streetAddress"
	ElemLocality      Field = "locality"
	ElemRegion        Field = "region"
	ElemPostalCode    Field = "postalCode"
	ElemCountry       Field = "country"
)

// Set names a multi-valued attribute whose elements Any ranges over.
type Set string

// Sets of users (the multi-valued attributes, and the groups a user is a member of) and of
// groups (their members).
const (
	SetEmails           Set = "emails"
	SetPhoneNumbers     Set = "phoneNumbers"
	SetIMs              Set = "ims"
	SetPhotos           Set = "photos"
	SetAddresses        Set = "addresses"
	SetEntitlements     Set = "entitlements"
	SetRoles            Set = "roles"
	SetX509Certificates Set = "x509Certificates"
	SetGroups           Set = "groups"
	SetMembers          Set = "members"
)

// ValueSets are the sets stored as user Values (Value.Attr is one of them).
var ValueSets = []Set{SetEmails, SetPhoneNumbers, SetIMs, SetPhotos, SetAddresses, SetEntitlements, SetRoles, SetX509Certificates}

// PrimaryValue is a sort field (Query.SortBy only) of users: the value of the primary element
// of the value set s, else of its first element, as RFC 7644 section 3.4.2.3 sorts by a
// multi-valued attribute. Users without one sort as absent values do, last.
func PrimaryValue(s Set) Field { return Field("primary:" + string(s)) }

// LookupSets are the value sets whose values are indexed for lookups (a filter such as
// emails.value eq "…" finds its users by index). The others (photos, addresses and
// certificates) are stored and filtered by, without an index.
var LookupSets = []Set{SetEmails, SetPhoneNumbers, SetIMs, SetEntitlements, SetRoles}

// MaxIndexedBytes bounds, in bytes, an externalId and the value of an element of a LookupSet.
// A backend may refuse longer ones (a PostgreSQL B-tree entry holds at most 2 704 bytes, and
// lower-casing can lengthen a string), so callers check before they write. It is far beyond any
// real identifier, address or role name.
const MaxIndexedBytes = 1024

// Op is a comparison operator.
type Op string

// Comparison operators, as in SCIM.
const (
	OpEq      Op = "eq"
	OpNe      Op = "ne"
	OpCo      Op = "co"
	OpSw      Op = "sw"
	OpEw      Op = "ew"
	OpGt      Op = "gt"
	OpGe      Op = "ge"
	OpLt      Op = "lt"
	OpLe      Op = "le"
	OpPresent Op = "pr"
)

// Compare compares a field with a value. Value is a string, bool, int64, float64 or
// time.Time (for the meta fields), and nil for OpPresent. Fold compares strings ignoring case.
type Compare struct {
	Field Field
	Op    Op
	Value any
	Fold  bool
}

// And is true when both sides are.
type And struct{ Left, Right Filter }

// Or is true when either side is.
type Or struct{ Left, Right Filter }

// Not negates a filter.
type Not struct{ Filter Filter }

// Any is true when at least one element of the set satisfies Where (nil: the set is not empty).
type Any struct {
	Set   Set
	Where Filter
}

// Const is a filter that is always true or always false.
type Const bool

func (Compare) filter() {}
func (And) filter()     {}
func (Or) filter()      {}
func (Not) filter()     {}
func (Any) filter()     {}
func (Const) filter()   {}
