package load

import (
	"fmt"
	"strings"
)

// Result keys that the targets read.
const (
	keyCreate         = "create"
	keyBaseInsert     = "baseline_insert_select"
	keyBaseSelect     = "baseline_point_select"
	keyBaseRows       = "baseline_rollcall_rows"
	keyLookupSmall    = "lookup_small"
	keyLookupLarge    = "lookup_large"
	keyDeactivate     = "deactivate"
	keyPageIndex      = "page_index"
	keyPageCursor     = "page_cursor"
	keyGroupPrefix    = "group_"
	smallSuffix       = "_small"
	largeSuffix       = "_large"
	memoryLimitMB     = 200
	createRatioTarget = 0.5
	lookupP99Target   = 1.5
	groupP99Target    = 2.0
)

// line is the printed form of a result.
func (r Result) line() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-56s %3d cl %8d ops %4d err %9.1f ops/s  p50 %8.2f ms  p99 %8.2f ms",
		r.Name, r.Concurrency, r.Ops, r.Errors, r.Rate, r.P50ms, r.P99ms)
	if r.Ratio > 0 {
		fmt.Fprintf(&b, "  ratio to baseline %.2f", r.Ratio)
	}
	if r.ClientCPUms > 0 {
		b.WriteString("  cpu ms/op:")
		if r.ServerCPUms > 0 {
			fmt.Fprintf(&b, " server %.3f", r.ServerCPUms)
		}
		if r.PostgresCPUms > 0 {
			fmt.Fprintf(&b, " postgres %.3f", r.PostgresCPUms)
		}
		fmt.Fprintf(&b, " load %.3f", r.ClientCPUms)
	}
	if r.Note != "" {
		fmt.Fprintf(&b, "  [%s]", r.Note)
	}
	return b.String()
}

// Target is one of the targets, decided from the results of a run.
type Target struct {
	Name string `json:"name"`
	// Status is PASS, FAIL or SKIP (the run did not measure what decides it).
	Status string `json:"status"`
	Detail string `json:"detail"`
}

func find(results []Result, key string) (Result, bool) {
	for _, r := range results {
		if r.Key == key {
			return r, true
		}
	}
	return Result{}, false
}

func status(ok bool) string {
	if ok {
		return "PASS"
	}
	return "FAIL"
}

// errorsIn returns a note when any of the results had errors: a target is not met by figures
// that include failed requests.
func errorsIn(rs ...Result) string {
	var s []string
	for _, r := range rs {
		if r.Errors > 0 {
			s = append(s, fmt.Sprintf("%d errors in %q", r.Errors, r.Name))
		}
	}
	if len(s) == 0 {
		return ""
	}
	return "; " + strings.Join(s, ", ")
}

// evaluate decides each target from the results.
func evaluate(cfg *Config, results []Result) []Target {
	var out []Target

	t := Target{Name: fmt.Sprintf("Okta-style create at %d clients ≥ %.0f%% of bare PostgreSQL insert+select", cfg.Concurrency, createRatioTarget*100)}
	c, okC := find(results, keyCreate)
	b, okB := find(results, keyBaseInsert)
	switch {
	case !okC || !okB || b.Rate == 0:
		t.Status, t.Detail = "SKIP", "needs the create and baseline scenarios and --database"
	default:
		ratio := c.Rate / b.Rate
		e := errorsIn(c, b)
		t.Status = status(ratio >= createRatioTarget && e == "")
		t.Detail = fmt.Sprintf("create %.1f ops/s / baseline %.1f ops/s = %.2f (need ≥ %.2f)%s", c.Rate, b.Rate, ratio, createRatioTarget, e)
		if rows, ok := find(results, keyBaseRows); ok && rows.Rate > 0 {
			t.Detail += fmt.Sprintf("; against bare pgx writing the rows Rollcall writes (%.1f ops/s): %.2f", rows.Rate, c.Rate/rows.Rate)
		}
	}
	out = append(out, t)

	s, okS := find(results, keyLookupSmall)
	l, okL := find(results, keyLookupLarge)
	t = Target{Name: fmt.Sprintf("lookup p99 with %d users ≤ %.1f× p99 with %d", cfg.Users, lookupP99Target, cfg.SmallUsers)}
	switch {
	case !okS || !okL || s.P99ms == 0:
		t.Status, t.Detail = "SKIP", "needs the lookup scenario"
	default:
		ratio := l.P99ms / s.P99ms
		e := errorsIn(s, l)
		t.Status = status(ratio <= lookupP99Target && e == "")
		t.Detail = fmt.Sprintf("p99 %.2f ms (%d users) / %.2f ms (%d users) = %.2f (need ≤ %.1f)%s",
			l.P99ms, l.Users, s.P99ms, s.Users, ratio, lookupP99Target, e)
	}
	out = append(out, t)

	t = Target{Name: fmt.Sprintf("group add 100 / remove 1 / GET excludedAttributes=members: p99 on the %d-member group ≤ %.0f× on the %d-member group",
		cfg.GroupSize, groupP99Target, cfg.SmallGroupSize)}
	var parts []string
	pass, seen := true, false
	for _, op := range []string{"add", "remove", "get"} {
		small, ok1 := find(results, keyGroupPrefix+op+smallSuffix)
		large, ok2 := find(results, keyGroupPrefix+op+largeSuffix)
		if !ok1 || !ok2 || small.P99ms == 0 {
			continue
		}
		seen = true
		ratio := large.P99ms / small.P99ms
		e := errorsIn(small, large)
		pass = pass && ratio <= groupP99Target && e == ""
		parts = append(parts, fmt.Sprintf("%s %.2f ms (%d) / %.2f ms (%d) = %.2f%s", op, large.P99ms, large.GroupSize,
			small.P99ms, small.GroupSize, ratio, e))
	}
	if seen {
		t.Status, t.Detail = status(pass), strings.Join(parts, "; ")+fmt.Sprintf(" (need ≤ %.1f each)", groupP99Target)
	} else {
		t.Status, t.Detail = "SKIP", "needs the group scenario"
	}
	out = append(out, t)

	t = Target{Name: fmt.Sprintf("server memory < %d MB while paging through all users", memoryLimitMB)}
	peak, users, e := 0.0, 0, ""
	seen = false
	for _, key := range []string{keyPageIndex, keyPageCursor} {
		if p, ok := find(results, key); ok && p.PeakRSSMB > 0 {
			seen = true
			peak, users = max(peak, p.PeakRSSMB), max(users, p.Users)
			e += errorsIn(p)
		}
	}
	if seen {
		t.Status = status(peak < memoryLimitMB && e == "")
		t.Detail = fmt.Sprintf("peak RSS %.1f MB paging through %d users (need < %d MB)%s", peak, users, memoryLimitMB, e)
	} else {
		t.Status, t.Detail = "SKIP", "needs the page scenario and the server's /metrics or --server-pid"
	}
	return append(out, t)
}
