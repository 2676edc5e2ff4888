// Package load replays what identity providers send to a SCIM server and times it: Okta-style
// creates, lookups by userName, deactivation, membership changes of a large group and paging
// through every user, beside the bare PostgreSQL figure for equivalent rows measured in the
// same run. The rollcall load command is its front end; BENCHMARKS.md records its figures.
package load

import (
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Scenario names. Run runs them in an order of its own: the lookup with few users first, the
// baseline just before create, and the scenarios that need many users after the large seed.
const (
	ScenarioLookup     = "lookup"
	ScenarioCreate     = "create"
	ScenarioBaseline   = "baseline"
	ScenarioDeactivate = "deactivate"
	ScenarioGroup      = "group"
	ScenarioPage       = "page"
)

// Scenarios lists every scenario; "all" selects them all.
var Scenarios = []string{ScenarioCreate, ScenarioLookup, ScenarioDeactivate, ScenarioGroup, ScenarioPage, ScenarioBaseline}

// Config is what one load run does.
type Config struct {
	// URL is the SCIM base URL (…/scim/v2) and Token a bearer token of one connection.
	URL, Token string
	Scenarios  []string
	// Concurrency is the number of clients of create, lookup, deactivate and baseline. Group
	// changes and paging use one client, as an IdP does for one group or one listing.
	Concurrency int
	// Each measurement runs for Duration, or for Requests operations when Requests > 0,
	// after Warmup of the same work, unrecorded.
	Duration time.Duration
	Requests int
	Warmup   time.Duration
	// Database is the server's PostgreSQL URL: seeding goes straight into it and the
	// baseline runs on it. Empty: seeding uses SCIM POSTs and there is no baseline.
	Database string
	// MetricsURL is the server's Prometheus endpoint, read for its resident memory;
	// ServerPID, when set, is read from /proc instead.
	MetricsURL string
	ServerPID  int
	// JSONPath, when set, receives the results as JSON.
	JSONPath string
	// SmallUsers and Users are the user counts of the two lookup runs; paging runs with Users.
	SmallUsers, Users int
	// GroupSize and SmallGroupSize are the member counts of the two groups compared.
	GroupSize, SmallGroupSize int
	// PageSize is the count of each listing page.
	PageSize int
	// Prefix starts every userName and group name the run makes, so runs never collide.
	Prefix string
	// Timeout bounds each request.
	Timeout time.Duration
}

// Has reports whether the run includes the scenario.
func (c *Config) Has(s string) bool { return slices.Contains(c.Scenarios, s) }

// ErrUsage is wrapped by the errors of ParseArgs that it has printed already (a bad flag, with
// the usage, as the flag package prints it; a positional argument): its caller has only to
// exit with status 2, as after any other usage error.
var ErrUsage = errors.New("usage")

// ParseArgs parses the load command's arguments. It returns flag.ErrHelp, wrapped with
// ErrUsage, after printing usage for -h.
func ParseArgs(args []string, getenv func(string) string, stderr io.Writer) (Config, error) {
	var c Config
	fs := flag.NewFlagSet("rollcall load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.URL, "url", getenv("ROLLCALL_LOAD_URL"), "the SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2 (env ROLLCALL_LOAD_URL)")
	fs.StringVar(&c.Token, "token", getenv("ROLLCALL_LOAD_TOKEN"), "a SCIM bearer token of the server (env ROLLCALL_LOAD_TOKEN)")
	scenarios := fs.String("scenario", "all", "comma-separated scenarios: "+strings.Join(Scenarios, ",")+", or all")
	fs.IntVar(&c.Concurrency, "concurrency", 16, "concurrent clients of create, lookup, deactivate and baseline")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long each measurement runs")
	fs.IntVar(&c.Requests, "requests", 0, "run each measurement for this many operations instead of --duration")
	fs.DurationVar(&c.Warmup, "warmup", time.Second, "unrecorded warm-up before each measurement")
	fs.StringVar(&c.Database, "database", "", "the server's postgres:// URL: seed straight into it and measure the bare PostgreSQL baseline on it")
	fs.StringVar(&c.MetricsURL, "metrics-url", "", "the server's Prometheus endpoint (default: /metrics on the --url host)")
	fs.IntVar(&c.ServerPID, "server-pid", 0, "the server's process id, to read its memory from /proc instead of /metrics")
	fs.StringVar(&c.JSONPath, "json", "", "also write the results as JSON to this file")
	fs.IntVar(&c.SmallUsers, "small-users", 10_000, "users present for the first lookup run")
	fs.IntVar(&c.Users, "users", 1_000_000, "users present for the second lookup run and for paging")
	fs.IntVar(&c.GroupSize, "group-size", 100_000, "members of the large group")
	fs.IntVar(&c.SmallGroupSize, "small-group-size", 10, "members of the small group it is compared with")
	fs.IntVar(&c.PageSize, "page-size", 1000, "count of each listing page while paging")
	fs.StringVar(&c.Prefix, "prefix", "", "userName prefix of this run (default: load-<random>)")
	fs.DurationVar(&c.Timeout, "timeout", time.Minute, "timeout of each request")
	if err := fs.Parse(args); err != nil {
		return c, fmt.Errorf("%w: %w", ErrUsage, err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "rollcall load: unexpected argument %q (rollcall load -h lists its flags)\n", fs.Arg(0))
		return c, fmt.Errorf("%w: unexpected argument %q", ErrUsage, fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })

	var err error
	if c.Scenarios, err = parseScenarios(*scenarios); err != nil {
		return c, err
	}
	switch {
	case c.URL == "" || c.Token == "":
		return c, errors.New("--url and --token are required")
	case set["duration"] && set["requests"]:
		return c, errors.New("give --duration or --requests, not both")
	case c.Concurrency < 1:
		return c, errors.New("--concurrency must be at least 1")
	case c.Requests < 0:
		return c, errors.New("--requests must not be negative")
	case c.Requests == 0 && c.Duration <= 0:
		return c, errors.New("--duration must be positive")
	case c.Warmup < 0:
		return c, errors.New("--warmup must not be negative")
	case c.SmallUsers < 1 || c.Users < c.SmallUsers:
		return c, errors.New("--small-users must be at least 1 and at most --users")
	case c.SmallGroupSize < 1 || c.GroupSize < c.SmallGroupSize:
		return c, errors.New("--small-group-size must be at least 1 and at most --group-size")
	case c.PageSize < 1:
		return c, errors.New("--page-size must be at least 1")
	case c.Timeout <= 0:
		return c, errors.New("--timeout must be positive")
	}
	if c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://") {
		return c, errors.New("--database must be a postgres:// URL")
	}
	u, perr := url.Parse(c.URL)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return c, fmt.Errorf("--url %q must be an http:// or https:// URL", c.URL)
	}
	c.URL = strings.TrimRight(c.URL, "/")
	if c.MetricsURL == "" {
		c.MetricsURL = u.Scheme + "://" + u.Host + "/metrics"
	}
	if c.Prefix == "" {
		c.Prefix = "load-" + strings.ToLower(rand.Text()[:6])
	}
	return c, nil
}

func parseScenarios(s string) ([]string, error) {
	var out []string
	for name := range strings.SplitSeq(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "":
			continue
		case name == "all":
			out = append(out, Scenarios...)
		case slices.Contains(Scenarios, name):
			out = append(out, name)
		default:
			return nil, fmt.Errorf("unknown scenario %q (want %s or all)", name, strings.Join(Scenarios, ","))
		}
	}
	if len(out) == 0 {
		return nil, errors.New("--scenario names no scenario")
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}
