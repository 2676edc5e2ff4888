package admin

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"github.com/rollcall/rollcall/storage"
)

// Audit listings page by at most this many events (the export has no limit).
const maxAuditLimit = 1000

// auditJSON is one audit event, the same in lists and in the JSON-lines export.
type auditJSON struct {
	ID         string          `json:"id"`
	At         time.Time       `json:"at"`
	ActorType  string          `json:"actor_type"`
	ActorID    string          `json:"actor_id"`
	Action     string          `json:"action"`
	TargetType string          `json:"target_type"`
	TargetID   string          `json:"target_id"`
	Result     string          `json:"result"`
	Cause      string          `json:"cause"`
	RequestID  string          `json:"request_id,omitempty"`
	SourceIP   string          `json:"source_ip,omitempty"`
	Before     json.RawMessage `json:"before,omitempty"`
	After      json.RawMessage `json:"after,omitempty"`
	Detail     json.RawMessage `json:"detail,omitempty"`
}

func toAuditJSON(e storage.AuditEvent) auditJSON {
	return auditJSON{ID: e.ID, At: e.At, ActorType: e.ActorType, ActorID: e.ActorID, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, Result: e.Result, Cause: e.Cause, RequestID: e.RequestID,
		SourceIP: e.SourceIP, Before: e.Before, After: e.After, Detail: e.Detail}
}

// auditQuery reads the filters both audit routes take: actor (an actor id), action, target
// (a target id), since and until (RFC 3339; since inclusive, until exclusive).
func auditQuery(q url.Values) (storage.AuditQuery, error) {
	aq := storage.AuditQuery{ActorID: q.Get("actor"), Action: q.Get("action"), TargetID: q.Get("target")}
	for _, t := range []struct {
		name string
		dst  *time.Time
	}{{"since", &aq.Since}, {"until", &aq.Until}} {
		s := q.Get(t.name)
		if s == "" {
			continue
		}
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return aq, invalid(ruleInvalidParameter, "%s must be an RFC 3339 time such as 2026-03-04T05:06:07Z, not %q", t.name, s)
		}
		*t.dst = v
	}
	if !aq.Since.IsZero() && !aq.Until.IsZero() && !aq.Since.Before(aq.Until) {
		return aq, invalid(ruleInvalidParameter, "since must be before until")
	}
	return aq, nil
}

// auditCursor continues an audit listing, newest first, after the event at that position.
type auditCursor struct {
	At  int64 `json:"a"`
	Seq int64 `json:"q"`
}

func (h *Handler) handleListAudit(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	if err := allowParams(r.URL.Query(), "limit", "cursor", "actor", "action", "target", "since", "until"); err != nil {
		return err
	}
	pg, err := pagingWith(r, defaultLimit, maxAuditLimit)
	if err != nil {
		return err
	}
	q, err := auditQuery(r.URL.Query())
	if err != nil {
		return err
	}
	cur, ok, err := decodeCursor[auditCursor]("audit", pg.cursor)
	if err != nil {
		return err
	}
	if ok {
		q.Before = &storage.AuditPosition{At: time.UnixMicro(cur.At).UTC(), Seq: cur.Seq}
	}
	q.Limit = pg.limit + 1
	out := listJSON[auditJSON]{Items: []auditJSON{}}
	var last storage.AuditEvent
	more := false
	err = h.store.AuditEvents(ctx, p.tenantID(), q, func(e storage.AuditEvent) error {
		if len(out.Items) == pg.limit {
			more = true
			return nil
		}
		out.Items = append(out.Items, toAuditJSON(e))
		last = e
		return nil
	})
	if err != nil {
		return err
	}
	if more {
		out.NextCursor = encodeCursor("audit", auditCursor{At: last.At.UnixMicro(), Seq: last.Seq})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// csvColumns are the columns of the CSV export, in order.
var csvColumns = []string{"id", "at", "actor_type", "actor_id", "action", "target_type", "target_id", "result",
	"cause", "request_id", "source_ip", "before", "after", "detail"}

// handleExportAudit streams every matching event, newest first, as JSON lines or CSV, one at a
// time as storage reads them, so an export of millions of events holds one in memory.
func (h *Handler) handleExportAudit(w http.ResponseWriter, r *http.Request) error {
	ctx, p := r.Context(), principalFrom(r.Context())
	if err := allowParams(r.URL.Query(), "format", "actor", "action", "target", "since", "until"); err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "":
		format = "jsonl"
	case "jsonl", "csv":
	default:
		return invalid(ruleInvalidParameter, "format must be jsonl or csv, not %q", format)
	}
	q, err := auditQuery(r.URL.Query())
	if err != nil {
		return err
	}
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := csv.NewWriter(bw)
	enc := json.NewEncoder(bw)
	started := false
	start := func() {
		started = true
		if format == "csv" {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		} else {
			w.Header().Set("Content-Type", "application/x-ndjson")
		}
		w.Header().Set("Content-Disposition", `attachment; filename="audit.`+format+`"`)
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusOK)
		if format == "csv" {
			_ = cw.Write(csvColumns)
		}
	}
	n := 0
	err = h.store.AuditEvents(ctx, p.tenantID(), q, func(e storage.AuditEvent) error {
		if !started {
			start()
		}
		var err error
		if format == "csv" {
			err = cw.Write(csvRow(e))
		} else {
			err = enc.Encode(toAuditJSON(e))
		}
		if err != nil {
			return err
		}
		if n++; n%1000 == 0 {
			cw.Flush()
			if err := bw.Flush(); err != nil {
				return err
			}
			_ = rc.Flush()
		}
		return nil
	})
	if err != nil {
		if !started {
			return err
		}
		// The status is sent: the only honest way left to say the export is incomplete is to
		// cut the response short.
		h.log.ErrorContext(ctx, "audit export failed", "err", err, "events_written", n)
		panic(http.ErrAbortHandler)
	}
	if !started {
		start()
	}
	cw.Flush()
	if err := bw.Flush(); err != nil {
		h.log.WarnContext(ctx, "audit export cut short", "err", err)
	}
	return nil
}

func csvRow(e storage.AuditEvent) []string {
	row := []string{e.ID, e.At.Format(time.RFC3339Nano), e.ActorType, e.ActorID, e.Action, e.TargetType, e.TargetID,
		e.Result, e.Cause, e.RequestID, e.SourceIP, string(e.Before), string(e.After), string(e.Detail)}
	for i, s := range row {
		row[i] = defuseCell(s)
	}
	return row
}

// defuseCell keeps a spreadsheet from running a cell as a formula (CSV injection): userNames
// and group names come from IdPs and may start with "=".
func defuseCell(s string) string {
	if s != "" {
		switch s[0] {
		case '=', '+', '-', '@', '\t', '\r':
			return "'" + s
		}
	}
	return s
}
