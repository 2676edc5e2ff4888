package rbac

import (
	"fmt"
	"strings"
)

// Permission is a leaf of the permission catalog, such as "create_user".
type Permission string

// PermissionSet is a named collection of permissions.
type PermissionSet struct {
	ID          string
	Name        string
	Description string
	Permissions []Permission
}

// Role is a named collection of permission sets.
type Role struct {
	ID               string
	Name             string
	Description      string
	PermissionSetIDs []string
}

// Mapping maps one IdP group of one connection to a role. A group maps to at most one role,
// and a role to at most one group per connection.
type Mapping struct {
	RoleID       string
	ConnectionID string
	GroupID      string
}

// Source says where a role assignment comes from: an administrator ("manual") or the
// group mapping of one IdP connection ("idp:<connection id>").
type Source string

// SourceManual is the source of assignments an administrator made.
const SourceManual Source = "manual"

// SourceIdP is the source of assignments the group mapping of a connection made.
func SourceIdP(connectionID string) Source { return Source("idp:" + connectionID) }

// Connection returns the connection of an idp source, or "" for manual ones.
func (s Source) Connection() string {
	c, _ := strings.CutPrefix(string(s), "idp:")
	if c == string(s) {
		return ""
	}
	return c
}

// Assignment is one role of a user, with its source.
type Assignment struct {
	RoleID string
	Source Source
}

// UserKind distinguishes people from API accounts.
type UserKind string

// User kinds.
const (
	Human   UserKind = "human"
	Service UserKind = "service"
)

// AuthMethod is how a user signs in.
type AuthMethod string

// Sign-in methods: through an IdP connection, or with a password Rollcall checks.
const (
	SSO      AuthMethod = "sso"
	Password AuthMethod = "password"
)

// Subject is what the role rules need to know about a user.
type Subject struct {
	Kind UserKind
	Auth AuthMethod
	// ConnectionID is the connection an SSO user signs in through.
	ConnectionID string
}

// RuleError is a violation of one of the access model's rules. Rule is a stable identifier
// ("role-in-use"); Message says what happened in words an administrator acts on.
type RuleError struct {
	Rule    string
	Message string
}

func (e *RuleError) Error() string { return e.Message }

func ruleErrorf(rule, format string, args ...any) *RuleError {
	return &RuleError{Rule: rule, Message: fmt.Sprintf(format, args...)}
}
