// Package storage defines the records Rollcall persists, the errors its backends return and the
// contract (Store) that every backend meets. Backends live in subpackages (sqlite, postgres); the
// shared conformance suite that proves they agree is storagetest.
package storage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rollcall/rollcall/rbac"
)

// Sentinel errors. Backends translate driver errors into these in exactly one place, so no
// caller ever sees (or leaks to a client) a driver's own error text.
var (
	// ErrNotFound means the record does not exist in the caller's scope.
	ErrNotFound = errors.New("storage: not found")
	// ErrConflict means a uniqueness rule was violated. The error is a *ConflictError that
	// names the rule.
	ErrConflict = errors.New("storage: conflict")
	// ErrUnavailable means the database could not be reached or was too busy to answer in
	// time. The request changed nothing and may be retried.
	ErrUnavailable = errors.New("storage: unavailable")
	// ErrInUse means a record cannot be deleted or changed because others still refer to it.
	ErrInUse = errors.New("storage: in use")
)

// Constraint names a uniqueness rule of the schema.
type Constraint string

// The uniqueness rules a ConflictError can name.
const (
	UniqueTenantName     Constraint = "tenant name"
	UniqueConnectionName Constraint = "connection name"
	UniqueUserName       Constraint = "userName"
	UniqueUserSubject    Constraint = "sso subject"
	UniqueGroupName      Constraint = "group name"
	UniqueRoleName       Constraint = "role name"
	UniquePermissionSet  Constraint = "permission set name"
	UniqueRoleMapping    Constraint = "role mapping"
	UniqueRecord         Constraint = "record"
)

// ConflictError is returned (wrapping ErrConflict) when a write breaks a uniqueness rule.
type ConflictError struct {
	Constraint Constraint
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("storage: %s already in use", e.Constraint)
}

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

// Scope is the part of a tenant one caller may see. A SCIM client sees the resources of its own
// IdP connection; ConnectionID is empty for callers that see the whole tenant.
type Scope struct {
	TenantID     string
	ConnectionID string
}

// Store is what every backend promises. Reads outside a transaction see committed data;
// everything a request changes, and its audit event, goes through one call to Tx.
type Store interface {
	Reader
	// Tx runs fn in one transaction and commits if fn returns nil. A backend may run fn more
	// than once when the database asks for a retry (serialization failure, deadlock), so fn
	// must not have effects outside the transaction other than setting its own results.
	Tx(ctx context.Context, fn func(Tx) error) error
	// CreateUser writes a new user (as Tx.CreateUser) and the audit event of its creation (as
	// Tx.AppendAudit), both or neither. A new user needs no reads first, so a backend may send
	// the writes in one round trip instead of a transaction's five: identity providers create
	// users by the thousand.
	CreateUser(ctx context.Context, u User, event AuditEvent) error
	// Ping reports whether the database answers; it returns ErrUnavailable when it does not.
	Ping(ctx context.Context) error
	// Close releases the backend's connections.
	Close() error
}

// Reader reads records. Every method returns ErrNotFound for a record outside the scope asked.
type Reader interface {
	Tenant(ctx context.Context, id string) (Tenant, error)
	TenantByName(ctx context.Context, name string) (Tenant, error)
	Connection(ctx context.Context, tenantID, id string) (Connection, error)
	ConnectionByName(ctx context.Context, tenantID, name string) (Connection, error)
	Connections(ctx context.Context, tenantID string) ([]Connection, error)
	// StoredClientSecret returns one OIDC client secret as some connection of any tenant
	// stores it (sealed), or "" when none stores one: enough to tell, at start, whether a
	// secret key opens what the database holds.
	StoredClientSecret(ctx context.Context) (string, error)

	// TokenBySecretHash returns the live (not revoked, not expired at now) token with this
	// hash, and its connection.
	TokenBySecretHash(ctx context.Context, hash []byte, now time.Time) (Token, Connection, error)
	Tokens(ctx context.Context, tenantID, connectionID string) ([]Token, error)

	// User reads a user of the scope with its Values and its Groups of the scope.
	User(ctx context.Context, scope Scope, id string) (User, error)
	// Users lists the users of scope that match q, in q's order, and counts all matches
	// when q.Count is set.
	Users(ctx context.Context, scope Scope, q Query) (Page[User], error)
	// GroupsOfUsers returns, per user id, the groups of the scope each user is a direct member of.
	GroupsOfUsers(ctx context.Context, scope Scope, userIDs []string) (map[string][]GroupRef, error)

	Group(ctx context.Context, scope Scope, id string) (Group, error)
	// GroupByName finds a group by its normalized name within one connection.
	GroupByName(ctx context.Context, scope Scope, normalized string) (Group, error)
	Groups(ctx context.Context, scope Scope, q Query) (Page[Group], error)
	// Members calls fn for each member of the group, in a stable order, without holding them
	// all in memory, and without holding a database connection while fn runs (fn may write to
	// a slow client, or read the store). It stops at and returns fn's first error.
	Members(ctx context.Context, scope Scope, groupID string, fn func(Member) error) error

	// AuditEvents calls fn for each event of the tenant that matches q, newest first.
	AuditEvents(ctx context.Context, tenantID string, q AuditQuery, fn func(AuditEvent) error) error

	// UsersByUserName finds users by userName (ignoring case) across tenants, for sign-in.
	UsersByUserName(ctx context.Context, userName string) ([]User, error)

	PermissionSet(ctx context.Context, tenantID, id string) (PermissionSet, error)
	PermissionSets(ctx context.Context, tenantID string) ([]PermissionSet, error)
	Role(ctx context.Context, tenantID, id string) (Role, error)
	Roles(ctx context.Context, tenantID string) ([]Role, error)
	// UserRoles lists a user's role assignments.
	UserRoles(ctx context.Context, tenantID, userID string) ([]RoleAssignment, error)
	// RolesOfUsers lists the role assignments of several users in one read, by user id.
	RolesOfUsers(ctx context.Context, tenantID string, userIDs []string) (map[string][]RoleAssignment, error)
	// Permissions is a user's effective permissions: the union over its roles' sets.
	Permissions(ctx context.Context, tenantID, userID string) ([]rbac.Permission, error)
	// HasPermission reports whether one of the user's roles grants p.
	HasPermission(ctx context.Context, tenantID, userID string, p rbac.Permission) (bool, error)
	// HasActiveHolder reports whether an active user of the tenant holds every permission of
	// perms (none: true).
	HasActiveHolder(ctx context.Context, tenantID string, perms []rbac.Permission) (bool, error)
	// ConnectionPermissions is the part in among of the union of the effective permissions
	// of the connection's users: what controlling the connection (its tokens can change and
	// delete those users) reaches. It reads from the holders of among, not from every user.
	ConnectionPermissions(ctx context.Context, tenantID, connectionID string, among []rbac.Permission) ([]rbac.Permission, error)
	// PreviewRoleSync computes, without changing anything, the role changes SyncRoles would
	// make for every user of the connection if the connection's mappings were changed by
	// override (nil: as they are; GroupID "": the role's mapping removed). It returns at most
	// limit gains and losses, and the full counts.
	PreviewRoleSync(ctx context.Context, tenantID, connectionID string, override *RoleMapping, limit int) (RoleSyncPreview, error)

	// Session returns the live session with this id hash.
	Session(ctx context.Context, idHash []byte, now time.Time) (Session, error)
}

// RoleSyncPreview is what a mapping change would grant and revoke.
type RoleSyncPreview struct {
	Gains, Losses        []RoleChange
	GainCount, LossCount int
}

// Tx is one transaction: the reads of Reader, seeing the transaction's own writes, plus writes.
type Tx interface {
	Reader

	CreateTenant(ctx context.Context, t Tenant) error
	CreateConnection(ctx context.Context, c Connection) error
	// LockConnection reads a connection and holds a shared lock on it until the transaction
	// ends: concurrent readers proceed, a change to the connection (its group-mapping switch)
	// waits, so work that depends on the switch cannot race it.
	LockConnection(ctx context.Context, tenantID, id string) (Connection, error)
	// LockTenant holds the tenant's row lock until the transaction ends (ErrNotFound for no
	// such tenant): transactions that must each see the other's effects, such as the admin
	// API's check that a tenant keeps an administrator, take turns.
	LockTenant(ctx context.Context, tenantID string) error
	UpdateConnection(ctx context.Context, c Connection) error
	CreateToken(ctx context.Context, t Token, secretHash []byte) error
	// RevokeToken marks a token revoked at the given time; revoking twice is not an error.
	RevokeToken(ctx context.Context, tenantID, id string, at time.Time) error
	// TouchToken records that a token was used; it is cheap and may be skipped under load.
	TouchToken(ctx context.Context, id string, at time.Time) error

	// CreateUser inserts u; it returns a *ConflictError for a userName taken in the tenant
	// (ignoring case) or an SSO subject already linked.
	CreateUser(ctx context.Context, u User) error
	// LockUser reads a user as User does and holds it against concurrent changes until the
	// transaction ends.
	LockUser(ctx context.Context, scope Scope, id string) (User, error)
	// UpdateUser writes every field of u, replacing its multi-valued rows, and bumps nothing:
	// callers set Version and UpdatedAt. Turning Active off ends all the user's sessions.
	UpdateUser(ctx context.Context, u User) error
	// UpdateUserRow is UpdateUser for a change that leaves the multi-valued rows as stored:
	// u.Values is not written (a PATCH of active, say, which need not rewrite the emails).
	UpdateUserRow(ctx context.Context, u User) error
	// DeleteUser deletes a user and its memberships; the groups it leaves get a new version,
	// updated at at.
	DeleteUser(ctx context.Context, scope Scope, id string, at time.Time) error

	// CreateGroup inserts g; it returns a *ConflictError when another group of the connection
	// has the same normalized name.
	CreateGroup(ctx context.Context, g Group) error
	LockGroup(ctx context.Context, scope Scope, id string) (Group, error)
	UpdateGroup(ctx context.Context, g Group) error
	// DeleteGroup deletes a group, its members and its memberships in other groups, which
	// get a new version, updated at at.
	DeleteGroup(ctx context.Context, scope Scope, id string, at time.Time) error

	// AddMembers makes the listed resources of scope members of the group. Ids already members
	// are left alone; ids that name no user or group of the scope are returned as missing and
	// nothing else happens to them. The cost depends on len(ids), not on the group's size.
	// It returns the ids it added.
	AddMembers(ctx context.Context, scope Scope, groupID string, ids []string) (added, missing []string, err error)
	// RemoveMembers removes the listed ids from the group; ids that are not members are
	// ignored. It returns the ids it removed.
	RemoveMembers(ctx context.Context, scope Scope, groupID string, ids []string) (removed []string, err error)
	// RemoveMembersWhere removes the members that match f (a filter over member fields).
	RemoveMembersWhere(ctx context.Context, scope Scope, groupID string, f Filter) (removed []string, err error)
	// ReplaceMembers makes the group's members exactly ids (minus missing ones), as a diff.
	ReplaceMembers(ctx context.Context, scope Scope, groupID string, ids []string) (added, removed, missing []string, err error)
	// CountMembersWhere counts the members that match f (nil: all members).
	CountMembersWhere(ctx context.Context, scope Scope, groupID string, f Filter) (int, error)

	// AppendAudit records an event; it commits or rolls back with the change it describes.
	AppendAudit(ctx context.Context, e AuditEvent) error

	// CreatePermissionSet and UpdatePermissionSet write a set with its permissions; names
	// are unique in the tenant ignoring case (*ConflictError).
	CreatePermissionSet(ctx context.Context, ps PermissionSet) error
	UpdatePermissionSet(ctx context.Context, ps PermissionSet) error
	// DeletePermissionSet returns ErrInUse while a role holds the set.
	DeletePermissionSet(ctx context.Context, tenantID, id string) error
	CreateRole(ctx context.Context, r Role) error
	// UpdateRole writes name, description and permission sets (not mappings).
	UpdateRole(ctx context.Context, r Role) error
	// DeleteRole returns ErrInUse while any user holds the role.
	DeleteRole(ctx context.Context, tenantID, id string) error
	// SetRoleMapping maps the role to a group of the connection, replacing the role's
	// mapping on that connection; a group already mapped to another role is a
	// *ConflictError (UniqueRoleMapping).
	SetRoleMapping(ctx context.Context, tenantID string, m RoleMapping) error
	DeleteRoleMapping(ctx context.Context, tenantID, roleID, connectionID string) error

	// AssignRoles gives the user the roles from source; ones held already are left alone.
	AssignRoles(ctx context.Context, tenantID, userID string, roleIDs []string, source rbac.Source, at time.Time) error
	// RevokeRoles takes the roles from source away from the user.
	RevokeRoles(ctx context.Context, tenantID, userID string, roleIDs []string, source rbac.Source) error
	// SyncRoles recomputes, as set-based statements, the role assignments of the human SSO
	// users of the connection (all of them when userIDs is nil, else those listed): each
	// ends with exactly the roles mapped to its IdP groups of that connection, as
	// rbac.SourceIdP(connection) assignments, and without manual ones (rbac.Sync is the
	// reference). Assignments of other connections are never touched. Each grant and
	// revocation is an audit event made from tmpl (action role.grant or role.revoke, target
	// the user). Callers run it only for connections whose group mapping is on.
	SyncRoles(ctx context.Context, tenantID, connectionID string, userIDs []string, tmpl AuditEvent) (granted, revoked int, err error)
	// ReleaseRoles turns the connection's idp assignments into manual ones (its group
	// mapping was switched off: the roles stay, administrators manage them now).
	ReleaseRoles(ctx context.Context, tenantID, connectionID string, tmpl AuditEvent) (int, error)

	CreateSession(ctx context.Context, s Session) error
	DeleteSession(ctx context.Context, idHash []byte) error
	// DeleteUserSessions ends every session of a user.
	DeleteUserSessions(ctx context.Context, tenantID, userID string) error
	// DeleteExpiredSessions removes sessions, sign-ins in flight and attempt counts that
	// expired before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)

	// CountAttempt counts an attempt under each key (the admin API's sign-ins: per email and
	// address, and per address): each key's count grows by one, a count whose window has
	// ended starting over with a window of the given length from now. When a count goes past
	// its key's limit, the attempt is refused: it returns how long until that window ends
	// (else 0). Concurrent calls each see the others' counts.
	CountAttempt(ctx context.Context, keys []AttemptLimit, window time.Duration, now time.Time) (time.Duration, error)
	// UncountAttempt takes one attempt off each key of uncount, and clears each key of clear.
	UncountAttempt(ctx context.Context, uncount, clear []string) error
}

// AttemptLimit is a key attempts are counted under and how many its window allows.
type AttemptLimit struct {
	Key   string
	Limit int
}

// Page is one page of a listing.
type Page[T any] struct {
	Items []T
	// Total is the number of matches of the whole query; -1 when the query did not ask.
	Total int
	// Next is the position after the last item, for keyset (cursor) paging; nil on the last page.
	Next *Position
}

// Query selects, orders and pages a listing.
type Query struct {
	Filter Filter // nil matches everything
	// SortBy is a field of the resource; empty means creation order.
	SortBy Field
	// SortFold sorts strings ignoring case.
	SortFold   bool
	Descending bool
	// Offset skips that many matches (index paging). Ignored when After is set.
	Offset int
	// Limit is the most items returned; 0 returns none (only the count).
	Limit int
	// After continues a keyset listing after a position returned as Page.Next.
	After *Position
	// Count asks for Page.Total.
	Count bool
	// WithGroups (users only) fills each listed user's Groups, read by the same statement.
	WithGroups bool
}

// Position is a place in an ordered listing: the sort key and creation sequence of the last
// item seen. It is opaque to clients (the scim package encodes it in a cursor).
type Position struct {
	Seq    int64  `json:"q"`
	Null   bool   `json:"n,omitempty"`
	String string `json:"s,omitempty"`
	Int    int64  `json:"i,omitempty"`
}
