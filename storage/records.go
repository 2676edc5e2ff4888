package storage

import (
	"encoding/json"
	"slices"
	"strings"
	"time"

	"github.com/rollcall/rollcall/rbac"
)

// Tenant is one customer. Every other record belongs to exactly one tenant.
type Tenant struct {
	ID        string
	Name      string
	CreatedAt time.Time
}

// ConnectionKind says which identity provider a connection talks to.
type ConnectionKind string

// The identity providers Rollcall knows.
const (
	KindOkta    ConnectionKind = "okta"
	KindEntra   ConnectionKind = "entra"
	KindGeneric ConnectionKind = "generic"
)

// Valid reports whether k is a known kind.
func (k ConnectionKind) Valid() bool {
	return k == KindOkta || k == KindEntra || k == KindGeneric
}

// Connection is one identity provider configured in a tenant: its OIDC settings, its SCIM
// tokens and its group-mapping switch.
type Connection struct {
	ID       string
	TenantID string
	Name     string
	Kind     ConnectionKind
	// GroupMapping makes the connection's IdP groups decide its SSO users' roles.
	GroupMapping bool
	OIDC         OIDCSettings
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// OIDCSettings are what the sign-in flow needs to talk to the connection's provider.
type OIDCSettings struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
	GroupsClaim  string
}

// Token is a SCIM bearer token of one connection. Only a hash of its secret is stored.
type Token struct {
	ID           string
	TenantID     string
	ConnectionID string
	// Hint is the last characters of the secret, so administrators can tell tokens apart.
	Hint       string
	CreatedAt  time.Time
	ExpiresAt  *time.Time
	RevokedAt  *time.Time
	LastUsedAt *time.Time
}

// UserKind distinguishes people from API accounts.
type UserKind string

// User kinds.
const (
	UserHuman   UserKind = "human"
	UserService UserKind = "service"
)

// AuthMethod is how a user signs in.
type AuthMethod string

// Sign-in methods: through the user's IdP connection, or with a password Rollcall checks.
const (
	AuthSSO      AuthMethod = "sso"
	AuthPassword AuthMethod = "password"
)

// User is a person or system of a tenant. Users pushed over SCIM belong to (are owned by) the
// connection that pushed them; local users have no ConnectionID.
type User struct {
	ID           string
	Seq          int64
	TenantID     string
	ConnectionID string
	Kind         UserKind
	Auth         AuthMethod
	UserName     string
	// ExternalID is the IdP's identifier; empty when absent.
	ExternalID string
	Active     bool
	// Email is the primary email, used to link a first SSO sign-in.
	Email        string
	OrgGroup     string
	PasswordHash string
	OIDCIssuer   string
	OIDCSubject  string
	// Doc is the SCIM representation as the IdP last sent it (core and extension attributes,
	// without id, externalId and meta), as a JSON object.
	Doc json.RawMessage
	// Profile and Values are indexed copies of Doc's attributes, for filtering and sorting.
	Profile   Profile
	Values    []Value
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
	// Groups are the groups of the scope read in that the user is a direct member of, in
	// creation order; filled by User and LockUser, and by a listing with Query.WithGroups.
	Groups []GroupRef
}

// Profile holds the singular string attributes of a user that filters and sorting can use.
// An empty string means absent.
type Profile struct {
	DisplayName       string
	NickName          string
	ProfileURL        string
	Title             string
	UserType          string
	PreferredLanguage string
	Locale            string
	Timezone          string
	NameFormatted     string
	FamilyName        string
	GivenName         string
	MiddleName        string
	HonorificPrefix   string
	HonorificSuffix   string
	EmployeeNumber    string
	CostCenter        string
	Organization      string
	Division          string
	Department        string
	ManagerID         string
}

// Value is one element of a multi-valued user attribute (emails, phoneNumbers, ims, photos,
// entitlements, roles, x509Certificates, addresses). Address elements use the address fields.
type Value struct {
	Attr    string
	Value   string
	Display string
	Type    string
	// Primary is nil when the element does not say (which is not the same as false to a
	// filter such as emails[primary eq false]).
	Primary       *bool
	Formatted     string
	StreetAddress string
	Locality      string
	Region        string
	PostalCode    string
	Country       string
}

// SameValues reports whether a and b hold the same elements of each attribute in the same
// order: whether rows stored for a would be those for b. Attributes may come in any order.
func SameValues(a, b []Value) bool {
	if len(a) != len(b) {
		return false
	}
	sorted := func(vs []Value) []Value {
		out := slices.Clone(vs)
		slices.SortStableFunc(out, func(x, y Value) int { return strings.Compare(x.Attr, y.Attr) })
		return out
	}
	a, b = sorted(a), sorted(b)
	for i := range a {
		x, y := a[i], b[i]
		if (x.Primary == nil) != (y.Primary == nil) || (x.Primary != nil && *x.Primary != *y.Primary) {
			return false
		}
		x.Primary, y.Primary = nil, nil
		if x != y {
			return false
		}
	}
	return true
}

// Group is an IdP group of one connection: pushed over SCIM, or seen in a login's groups claim.
type Group struct {
	ID           string
	Seq          int64
	TenantID     string
	ConnectionID string
	// DisplayName is the name exactly as the IdP sent it.
	DisplayName string
	// NormalizedName is the key the group is known by (rbac.NormalizeGroupName).
	NormalizedName string
	ExternalID     string
	// SCIM is set for groups pushed over SCIM: they are resources of the SCIM endpoint.
	SCIM bool
	// SeenAtLogin is set once the group appeared in a sign-in's groups claim.
	SeenAtLogin bool
	// MappedRoleID is the role the group maps to, if any (filled by reads).
	MappedRoleID string
	Doc          json.RawMessage
	Version      int64
	CreatedAt    time.Time
	UpdatedAt    time.Time
	LastSeenAt   time.Time
}

// GroupRef names a group a user belongs to.
type GroupRef struct {
	ID          string
	DisplayName string
}

// Member is one member of a group.
type Member struct {
	ID      string
	Type    string // "User" or "Group"
	Display string
}

// AuditEvent records who did what to what, when, from where, with what result. Events are
// append-only and outlive the records they name.
type AuditEvent struct {
	ID string
	// Seq orders events as they were written (filled by reads).
	Seq        int64
	TenantID   string
	At         time.Time
	ActorType  string // "connection", "user", "system"
	ActorID    string
	Action     string // e.g. "scim.user.create"
	TargetType string
	TargetID   string
	Result     string // "success" or a short failure reason
	Cause      string // what triggered it: "scim", "admin", "login", "mapping"
	RequestID  string
	SourceIP   string
	Before     json.RawMessage
	After      json.RawMessage
	Detail     json.RawMessage
}

// AuditQuery filters the audit log. Zero fields match everything.
type AuditQuery struct {
	ActorID  string
	Action   string
	TargetID string
	Since    time.Time
	Until    time.Time
	Limit    int
	// Before continues a listing after the event at that position (its At and Seq).
	Before *AuditPosition
}

// AuditPosition is the place of an event in the newest-first order of the audit log.
type AuditPosition struct {
	At  time.Time
	Seq int64
}

// PermissionSet is a tenant's named collection of permissions.
type PermissionSet struct {
	ID          string
	TenantID    string
	Name        string
	Description string
	// Builtin marks the sets every tenant starts with.
	Builtin     bool
	Permissions []rbac.Permission
	// Roles is how many roles hold the set (filled by reads).
	Roles     int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Role is a tenant's named collection of permission sets, optionally mapped to one IdP group
// per connection.
type Role struct {
	ID               string
	TenantID         string
	Name             string
	Description      string
	Builtin          bool
	PermissionSetIDs []string
	// Mappings and Users are filled by reads: the role's IdP group per connection, and how
	// many users hold it.
	Mappings  []RoleMapping
	Users     int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RoleMapping maps a role to one IdP group of one connection.
type RoleMapping struct {
	RoleID       string
	ConnectionID string
	GroupID      string
	CreatedAt    time.Time
}

// RoleAssignment is one role of one user, with where it came from.
type RoleAssignment struct {
	UserID    string
	RoleID    string
	Source    rbac.Source
	CreatedAt time.Time
}

// RoleChange is a role granted to or revoked from a user by a recomputation.
type RoleChange struct {
	UserID  string
	RoleID  string
	Source  rbac.Source
	Granted bool
}

// SessionKind says what a session is for.
type SessionKind string

// Session kinds: a browser sign-in, or an API token a service user exchanged its password for.
const (
	SessionBrowser SessionKind = "browser"
	SessionAPI     SessionKind = "api"
)

// Session is a signed-in session; only a hash of its id is stored.
type Session struct {
	IDHash       []byte
	Kind         SessionKind
	TenantID     string
	UserID       string
	ConnectionID string
	CreatedAt    time.Time
	ExpiresAt    time.Time
	LastSeenAt   time.Time
}
