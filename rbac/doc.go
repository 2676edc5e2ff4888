// Package rbac is Rollcall's access model: tenants' roles, permission sets, permissions and
// the mapping of IdP groups to roles, as pure values and decisions. It imports nothing of the
// rest of Rollcall and does no I/O.
package rbac
