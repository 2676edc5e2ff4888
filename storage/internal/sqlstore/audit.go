package sqlstore

import (
	"context"
	"encoding/json"

	"github.com/rollcall/rollcall/storage"
)

func rawOrNil(m json.RawMessage) any {
	if len(m) == 0 {
		return nil
	}
	return string(m)
}

func (t *txn) AppendAudit(ctx context.Context, e storage.AuditEvent) error {
	st := auditStatement(e)
	_, err := t.q.ExecContext(ctx, st.SQL, st.Args...)
	return t.fail(st.Op, err)
}

func auditStatement(e storage.AuditEvent) Statement {
	if e.ID == "" {
		e.ID = storage.NewID()
	}
	const q = `INSERT INTO audit_events (id, tenant_id, at, actor_type, actor_id, action, target_type, target_id,
		result, cause, request_id, source_ip, before, after, detail)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	return Statement{SQL: q, Op: "append audit", Args: []any{e.ID, e.TenantID, micros(e.At), e.ActorType, e.ActorID,
		e.Action, e.TargetType, e.TargetID, e.Result, e.Cause, e.RequestID, e.SourceIP,
		rawOrNil(e.Before), rawOrNil(e.After), rawOrNil(e.Detail)}}
}

func (r reader) AuditEvents(ctx context.Context, tenantID string, q storage.AuditQuery, fn func(storage.AuditEvent) error) error {
	var b builder
	b.w(`SELECT seq, id, tenant_id, at, actor_type, actor_id, action, target_type, target_id, result, cause,
		request_id, source_ip, before, after, detail FROM audit_events WHERE tenant_id = `, b.arg(tenantID))
	if q.ActorID != "" {
		b.w(" AND actor_id = ", b.arg(q.ActorID))
	}
	if q.Action != "" {
		b.w(" AND action = ", b.arg(q.Action))
	}
	if q.TargetID != "" {
		b.w(" AND target_id = ", b.arg(q.TargetID))
	}
	if !q.Since.IsZero() {
		b.w(" AND at >= ", b.arg(micros(q.Since)))
	}
	if !q.Until.IsZero() {
		b.w(" AND at < ", b.arg(micros(q.Until)))
	}
	if q.Before != nil {
		at := b.arg(micros(q.Before.At))
		b.w(" AND (at < ", at, " OR (at = ", at, " AND seq < ", b.arg(q.Before.Seq), "))")
	}
	b.w(" ORDER BY at DESC, seq DESC")
	if q.Limit > 0 {
		b.w(" LIMIT ", b.arg(q.Limit))
	}
	rows, err := r.q.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return r.fail("audit events", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e storage.AuditEvent
		var at int64
		var before, after, detail text
		if err := rows.Scan(&e.Seq, &e.ID, &e.TenantID, &at, &e.ActorType, &e.ActorID, &e.Action, &e.TargetType, &e.TargetID,
			&e.Result, &e.Cause, &e.RequestID, &e.SourceIP, &before, &after, &detail); err != nil {
			return r.fail("audit events", err)
		}
		e.At = fromMicros(at)
		e.Before, e.After, e.Detail = rawMessage(before), rawMessage(after), rawMessage(detail)
		if err := fn(e); err != nil {
			return err
		}
	}
	return r.fail("audit events", rows.Err())
}

func rawMessage(t text) json.RawMessage {
	if t == "" {
		return nil
	}
	return json.RawMessage(t)
}
