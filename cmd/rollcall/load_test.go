package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rollcall/rollcall/cmd/rollcall/internal/load"
)

// Ensure `rollcall load` runs its scenarios end to end against a real server: on PostgreSQL
// all of them, seeding straight into the database (COPY, then VACUUM ANALYZE and CHECKPOINT)
// and measuring the bare PostgreSQL baselines; on SQLite those that need no database access,
// seeding with SCIM POSTs. The numbers are small: this checks that the command works and
// counts right, not how fast anything is.
func TestLoad_EndToEnd(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		s := startServer(t, database)
		jsonPath := filepath.Join(t.TempDir(), "load.json")
		args := []string{"rollcall", "load", "--url", s.scimURL(), "--token", s.token, "--requests", "20",
			"--warmup", "0s", "--concurrency", "2", "--small-users", "30", "--users", "120",
			"--group-size", "40", "--small-group-size", "5", "--page-size", "25", "--json", jsonPath}
		pg := strings.HasPrefix(database, "postgres")
		if pg {
			args = append(args, "--database", database, "--scenario", "all")
		} else {
			args = append(args, "--scenario", "lookup,deactivate,group,page")
		}
		var out, errOut syncBuffer
		if err := run(t.Context(), args, noEnv, nil, &out, &errOut); err != nil {
			t.Fatalf("load: %v\n%s\n%s", err, out.String(), errOut.String())
		}
		raw, err := os.ReadFile(jsonPath)
		if err != nil {
			t.Fatal(err)
		}
		var rep load.Report
		if err := json.Unmarshal(raw, &rep); err != nil {
			t.Fatalf("--json wrote %q: %v", raw, err)
		}
		// The group scenario needs a thousand users who are not members, besides the group's.
		const users = 40 + 1000
		if len(rep.Seeding) == 0 || rep.Seeding[len(rep.Seeding)-1].Users != users {
			t.Errorf("seeding %+v, want it to end at %d users", rep.Seeding, users)
		}
		for _, sd := range rep.Seeding {
			if pg && !strings.Contains(sd.Note, "CHECKPOINT") {
				t.Errorf("seed %q: note %q, want the VACUUM ANALYZE and CHECKPOINT after a COPY", sd.Name, sd.Note)
			}
		}
		keys := map[string]load.Result{}
		for _, r := range rep.Results {
			keys[r.Key] = r
			if r.Errors != 0 || r.Ops == 0 {
				t.Errorf("%s: %d operations, %d errors (%s)", r.Name, r.Ops, r.Errors, r.FirstError)
			}
		}
		want := []string{"lookup_small", "lookup_large", "deactivate", "page_index", "page_cursor"}
		if pg {
			want = append(want, "baseline_insert_select", "baseline_rollcall_rows", "create")
		}
		for _, k := range want {
			if _, ok := keys[k]; !ok {
				t.Errorf("no %s measurement in %v", k, rep.Results)
			}
		}
		for _, k := range []string{"page_index", "page_cursor"} {
			if r := keys[k]; r.Items < users {
				t.Errorf("%s saw %d users, want at least %d", k, r.Items, users)
			}
		}
		if c := keys["create"]; pg && c.Ratio <= 0 {
			t.Errorf("create: ratio %v, want it measured", c.Ratio)
		}
		// /proc counts CPU time in 10 ms ticks, so one short measurement may see none of
		// PostgreSQL's; all of them together must.
		var pgCPU float64
		for _, r := range rep.Results {
			pgCPU += r.PostgresCPUms * float64(r.Ops)
		}
		if pg && pgCPU <= 0 {
			t.Errorf("no measurement saw PostgreSQL's CPU time: %+v", rep.Results)
		}
	})
}
