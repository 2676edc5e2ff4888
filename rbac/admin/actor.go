package admin

import (
	"encoding/json"
	"time"

	"github.com/rollcall/rollcall/storage"
)

// Actor is who made a change, as its audit event records it.
type Actor struct {
	// Type is ActorUser for an API caller, ActorSystem for Rollcall itself (the CLI, the
	// first start).
	Type string
	// ID is the user's id, or a name for the system ("rollcall-cli", "bootstrap").
	ID        string
	RequestID string
	SourceIP  string
}

// Actor types.
const (
	ActorUser   = "user"
	ActorSystem = "system"
)

// Audit causes: an administrator's (or the CLI's) change, and the role recomputation that a
// mapping change or the group-mapping switch makes.
const (
	causeAdmin   = "admin"
	causeMapping = "mapping"
)

// event is an audit event of this actor. before, after and detail are marshalled as JSON;
// callers pass the *Audit forms of records, which hold no secrets or password hashes.
func (a Actor) event(tenantID string, at time.Time, action, targetType, targetID string, before, after, detail any) storage.AuditEvent {
	return storage.AuditEvent{
		ID: storage.NewID(), TenantID: tenantID, At: at, ActorType: a.Type, ActorID: a.ID,
		Action: action, TargetType: targetType, TargetID: targetID, Result: "success", Cause: causeAdmin,
		RequestID: a.RequestID, SourceIP: a.SourceIP,
		Before: rawJSON(before), After: rawJSON(after), Detail: rawJSON(detail),
	}
}

// syncTemplate is the audit template of a role recomputation this actor caused.
func (a Actor) syncTemplate(tenantID string, at time.Time) storage.AuditEvent {
	return storage.AuditEvent{TenantID: tenantID, At: at, ActorType: a.Type, ActorID: a.ID, Cause: causeMapping,
		RequestID: a.RequestID, SourceIP: a.SourceIP}
}

func rawJSON(v any) json.RawMessage {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil // only this package's own types are marshalled
	}
	return b
}
