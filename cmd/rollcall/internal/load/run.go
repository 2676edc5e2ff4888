package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// run is the state of one load run.
type run struct {
	cfg    *Config
	c      *client
	seeder Seeder
	stdout io.Writer
	stderr io.Writer

	// ids[i] is the id of the user named seedName(prefix, i).
	ids     []string
	seeds   []Result
	results []Result
}

func (r *run) logf(format string, args ...any) {
	fmt.Fprintf(r.stderr, "load: "+format+"\n", args...)
}

// record keeps a result and prints its line.
func (r *run) record(res Result) Result {
	r.results = append(r.results, res)
	fmt.Fprintln(r.stdout, res.line())
	if res.FirstError != "" {
		r.logf("%s: %d errors; first: %s", res.Name, res.Errors, res.FirstError)
	}
	return res
}

// Report is everything a run measured, as --json writes it.
type Report struct {
	Started     time.Time `json:"started"`
	URL         string    `json:"url"`
	Prefix      string    `json:"prefix"`
	Scenarios   []string  `json:"scenarios"`
	CPUs        int       `json:"cpus"`
	GoVersion   string    `json:"go_version"`
	Seeding     []Result  `json:"seeding"`
	Results     []Result  `json:"results"`
	Targets     []Target  `json:"targets"`
	DurationS   float64   `json:"duration_s"`
	Concurrency int       `json:"concurrency"`
}

// Run runs the scenarios of cfg against the server and prints one line per measurement and a
// PASS/FAIL line per target. seeder may be nil: users are then created with SCIM POSTs and
// there is no baseline.
func Run(ctx context.Context, cfg Config, seeder Seeder, stdout, stderr io.Writer) error {
	started := time.Now()
	r := &run{cfg: &cfg, c: newClient(cfg.URL, cfg.Token, cfg.Concurrency, cfg.Timeout), seeder: seeder,
		stdout: stdout, stderr: stderr}
	present, err := r.countUsers(ctx)
	if err != nil {
		return fmt.Errorf("the server does not answer a listing: %w", err)
	}
	fmt.Fprintf(stdout, "rollcall load: %s, %d users present, prefix %s, scenarios %s\n", cfg.URL, present, cfg.Prefix,
		strings.Join(cfg.Scenarios, ","))
	how := fmt.Sprintf("%v each after %v warm-up", cfg.Duration, cfg.Warmup)
	if cfg.Requests > 0 {
		how = fmt.Sprintf("%d operations each after %v warm-up", cfg.Requests, cfg.Warmup)
	}
	fmt.Fprintf(stdout, "%d CPUs, %s; %d clients, %s\n\n", runtime.NumCPU(), runtime.Version(), cfg.Concurrency, how)
	if cfg.Database == "" && (cfg.Has(ScenarioBaseline) || cfg.Has(ScenarioCreate)) {
		r.logf("no --database: no bare PostgreSQL baseline, and users are seeded with SCIM POSTs")
	}

	if err := r.scenarios(ctx); err != nil {
		return err
	}
	targets := evaluate(&cfg, r.results)
	fmt.Fprintln(stdout)
	for _, t := range targets {
		fmt.Fprintf(stdout, "%-4s  %s: %s\n", t.Status, t.Name, t.Detail)
	}
	if cfg.JSONPath != "" {
		rep := Report{Started: started.UTC(), URL: cfg.URL, Prefix: cfg.Prefix, Scenarios: cfg.Scenarios,
			CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), Seeding: r.seeds, Results: r.results,
			Targets: targets, DurationS: time.Since(started).Seconds(), Concurrency: cfg.Concurrency}
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(cfg.JSONPath, append(b, '\n'), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func (r *run) scenarios(ctx context.Context) error {
	cfg := r.cfg
	if cfg.Has(ScenarioLookup) {
		if err := r.seedUsers(ctx, cfg.SmallUsers); err != nil {
			return err
		}
		if err := r.lookup(ctx, keyLookupSmall); err != nil {
			return err
		}
	}
	// The baseline runs first, so that the create line can carry its ratio to it.
	var base Result
	if (cfg.Has(ScenarioCreate) || cfg.Has(ScenarioBaseline)) && cfg.Database != "" {
		res, err := baseline(ctx, cfg, r.logf)
		if err != nil {
			return err
		}
		for _, b := range res {
			r.record(b)
		}
		base = res[0]
	}
	if cfg.Has(ScenarioCreate) {
		c := r.create(ctx)
		if base.Rate > 0 {
			c.Ratio = c.Rate / base.Rate
		}
		r.record(c)
	}
	large := 0
	if cfg.Has(ScenarioLookup) || cfg.Has(ScenarioPage) {
		large = cfg.Users
	}
	if cfg.Has(ScenarioGroup) {
		// The large group's members, and non-members to add.
		large = max(large, cfg.GroupSize+1000)
	}
	if large > 0 {
		if err := r.seedUsers(ctx, large); err != nil {
			return err
		}
	}
	if cfg.Has(ScenarioLookup) {
		if err := r.lookup(ctx, keyLookupLarge); err != nil {
			return err
		}
	}
	if cfg.Has(ScenarioDeactivate) {
		// Each PATCH deactivates a user not deactivated before: the seeded users suffice
		// once the large seed is in; alone, the scenario seeds the small count.
		if err := r.seedUsers(ctx, cfg.SmallUsers); err != nil {
			return err
		}
		if err := r.deactivate(ctx); err != nil {
			return err
		}
	}
	if cfg.Has(ScenarioGroup) {
		if err := r.group(ctx); err != nil {
			return err
		}
	}
	if cfg.Has(ScenarioPage) {
		for _, cursor := range []bool{false, true} {
			res, err := r.page(ctx, cursor)
			if err != nil {
				return err
			}
			r.record(res)
		}
	}
	return nil
}

// countUsers asks the server how many users the token's connection has (count=0).
func (r *run) countUsers(ctx context.Context) (int, error) {
	var lr listResponse
	err := r.c.do(ctx, http.MethodGet, "/Users?count=0", nil, http.StatusOK, &lr)
	return lr.TotalResults, err
}

// create is Okta's create: look the userName up (expecting no match), then POST the user.
func (r *run) create(ctx context.Context) Result {
	res := measure(ctx, r.cfg, workload{
		name: "create (Okta: GET filter + POST)", concurrency: r.cfg.Concurrency,
		op: func(ctx context.Context, i int) (time.Duration, error) {
			name := fmt.Sprintf("%s-c-%08d@example.com", r.cfg.Prefix, i)
			return timed(func() error {
				var lr listResponse
				if err := r.c.do(ctx, http.MethodGet, filterPath(name), nil, http.StatusOK, &lr); err != nil {
					return err
				}
				if lr.TotalResults != 0 {
					return fmt.Errorf("lookup of new user %s: totalResults %d, want 0", name, lr.TotalResults)
				}
				return r.c.do(ctx, http.MethodPost, "/Users", oktaCreate(name, i), http.StatusCreated, nil)
			})
		},
	})
	res.Key = keyCreate
	return res
}

// lookup looks up random seeded users by userName.
func (r *run) lookup(ctx context.Context, key string) error {
	present, err := r.countUsers(ctx)
	if err != nil {
		return err
	}
	n := len(r.ids)
	res := measure(ctx, r.cfg, workload{
		name: fmt.Sprintf("lookup userName eq (%d users)", present), concurrency: r.cfg.Concurrency,
		op: func(ctx context.Context, _ int) (time.Duration, error) {
			name := seedName(r.cfg.Prefix, mrand.IntN(n))
			var lr listResponse
			d, err := timed(func() error { return r.c.do(ctx, http.MethodGet, filterPath(name), nil, http.StatusOK, &lr) })
			if err == nil && lr.TotalResults != 1 {
				err = fmt.Errorf("lookup of %s: totalResults %d, want 1", name, lr.TotalResults)
			}
			return d, err
		},
	})
	res.Key, res.Users = key, present
	r.record(res)
	return nil
}

// deactivate sends Okta's path-less PATCH {"active": false} to distinct seeded users.
func (r *run) deactivate(ctx context.Context) error {
	present, err := r.countUsers(ctx)
	if err != nil {
		return err
	}
	var next atomic.Int64
	n := len(r.ids)
	body := patch(patchOp{Op: "replace", Value: map[string]any{"active": false}})
	res := measure(ctx, r.cfg, workload{
		name: "deactivate (PATCH replace {active:false})", concurrency: r.cfg.Concurrency,
		op: func(ctx context.Context, _ int) (time.Duration, error) {
			id := r.ids[int(next.Add(1)-1)%n]
			return timed(func() error { return r.c.do(ctx, http.MethodPatch, "/Users/"+id, body, anySuccess, nil) })
		},
	})
	if int(next.Load()) > n {
		res.Note = "more PATCHes than seeded users: later ones repeated a deactivation (a no-op)"
	}
	res.Key, res.Users = keyDeactivate, present
	r.record(res)
	return nil
}

// group compares membership changes and a members-less GET on a large and a small group.
// Membership PATCHes run one at a time, as an IdP sends them for one group; each is undone by
// an unmeasured PATCH so that every one meets a group of the same size.
func (r *run) group(ctx context.Context) error {
	cfg := r.cfg
	big := min(cfg.GroupSize, len(r.ids)-1000)
	sizes := []int{cfg.SmallGroupSize, big}
	ids := make([]string, len(sizes))
	for i, s := range sizes {
		id, err := r.makeGroup(ctx, fmt.Sprintf("%s group %d", cfg.Prefix, s), r.ids[:s])
		if err != nil {
			return err
		}
		ids[i] = id
	}
	// Users that are members of neither group.
	pool := r.ids[big:]
	one := *cfg
	one.Concurrency = 1
	for _, op := range []string{"add", "remove", "get"} {
		for i, size := range sizes {
			path := "/Groups/" + ids[i]
			var w workload
			switch op {
			case "add":
				w = workload{name: fmt.Sprintf("group PATCH add 100 members (%d members)", size),
					op: func(ctx context.Context, _ int) (time.Duration, error) {
						start := mrand.IntN(len(pool) - 100)
						add := memberValues(pool[start : start+100])
						d, err := timed(func() error {
							return r.c.do(ctx, http.MethodPatch, path, patch(patchOp{Op: "add", Path: "members", Value: add}), http.StatusNoContent, nil)
						})
						if err != nil {
							return d, err
						}
						return d, r.c.do(ctx, http.MethodPatch, path, patch(patchOp{Op: "remove", Path: "members", Value: add}), http.StatusNoContent, nil)
					}}
			case "remove":
				w = workload{name: fmt.Sprintf("group PATCH remove members[value eq] (%d members)", size),
					op: func(ctx context.Context, _ int) (time.Duration, error) {
						m := r.ids[mrand.IntN(size)]
						d, err := timed(func() error {
							return r.c.do(ctx, http.MethodPatch, path, patch(patchOp{Op: "remove", Path: `members[value eq "` + m + `"]`}), http.StatusNoContent, nil)
						})
						if err != nil {
							return d, err
						}
						return d, r.c.do(ctx, http.MethodPatch, path, patch(patchOp{Op: "add", Path: "members", Value: memberValues([]string{m})}), http.StatusNoContent, nil)
					}}
			case "get":
				w = workload{name: fmt.Sprintf("group GET excludedAttributes=members (%d members)", size),
					op: func(ctx context.Context, _ int) (time.Duration, error) {
						return timed(func() error {
							return r.c.do(ctx, http.MethodGet, path+"?excludedAttributes=members", nil, http.StatusOK, nil)
						})
					}}
			}
			w.concurrency = 1
			if r.seeder != nil {
				// Each measurement starts from a vacuumed table, not from the dead rows the
				// previous one's undo PATCHes left behind.
				if err := r.seeder.Settle(ctx); err != nil {
					return err
				}
			}
			res := measure(ctx, &one, w)
			res.Key, res.GroupSize = keyGroupPrefix+op+smallSuffix, size
			if i > 0 {
				res.Key = keyGroupPrefix + op + largeSuffix
			}
			if op != "get" {
				res.Note = "ops/s counts the unmeasured undo PATCH too"
			}
			r.record(res)
		}
	}
	return nil
}

// page lists every user of the connection, page by page, with index paging (startIndex) or
// cursor paging (RFC 9865), while following the server's resident memory.
func (r *run) page(ctx context.Context, cursor bool) (Result, error) {
	cfg := r.cfg
	read := memReader(r.c, cfg)
	before, err := read(ctx)
	if err != nil {
		r.logf("cannot read the server's memory (%v): paging is measured without it", err)
		read = nil
	}
	var mem *memSampler
	if read != nil {
		mem = startMemSampler(ctx, read)
	}
	var samples []time.Duration
	items, total, pages := 0, -1, 0
	start := time.Now()
	lastLog := start
	next := ""
	for {
		path := "/Users?startIndex=" + strconv.Itoa(items+1) + "&count=" + strconv.Itoa(cfg.PageSize)
		if cursor {
			path = "/Users?count=" + strconv.Itoa(cfg.PageSize) + "&cursor=" + url.QueryEscape(next)
		}
		var lr listResponse
		d, err := timed(func() error { return r.c.do(ctx, http.MethodGet, path, nil, http.StatusOK, &lr) })
		if err != nil {
			if mem != nil {
				mem.stop(ctx)
			}
			return Result{}, fmt.Errorf("paging: %w", err)
		}
		samples = append(samples, d)
		pages++
		items += len(lr.Resources)
		if total < 0 {
			total = lr.TotalResults
		}
		if time.Since(lastLog) > 10*time.Second {
			r.logf("paging: %d/%d users, %d pages", items, total, pages)
			lastLog = time.Now()
		}
		if cursor {
			if lr.NextCursor == "" {
				break
			}
			next = lr.NextCursor
		} else if len(lr.Resources) == 0 || items >= lr.TotalResults {
			break
		}
	}
	elapsed := time.Since(start)
	mode := "index paging startIndex/count"
	if cursor {
		mode = "cursor paging (RFC 9865)"
	}
	res := summarize(fmt.Sprintf("page through all users, %s=%d", mode, cfg.PageSize), 1, samples, 0, elapsed)
	res.Key, res.Items, res.Users = keyPageIndex, items, total
	if cursor {
		res.Key = keyPageCursor
	}
	res.Note = fmt.Sprintf("%.0f users/s", float64(items)/elapsed.Seconds())
	if items != total {
		res.Errors++
		res.FirstError = fmt.Sprintf("paging returned %d users, totalResults said %d", items, total)
	}
	if mem != nil {
		peak, n, err := mem.stop(ctx)
		if err != nil {
			r.logf("reading the server's memory: %v", err)
		} else {
			res.PeakRSSMB = float64(peak) / (1 << 20)
			res.Note += fmt.Sprintf("; server RSS %.0f MB before, peak %.1f MB over %d samples", float64(before)/(1<<20), res.PeakRSSMB, n)
		}
		if cfg.ServerPID > 0 {
			if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cfg.ServerPID)); err == nil {
				if hwm, err := procStatusKB(b, "VmHWM"); err == nil {
					res.Note += fmt.Sprintf("; VmHWM since start %.0f MB", float64(hwm)/(1<<20))
				}
			}
		}
	}
	return res, nil
}
