package load

import (
	"errors"
	"flag"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func noenv(string) string { return "" }

func TestParseArgs(t *testing.T) {
	base := []string{"--url", "http://127.0.0.1:8080/scim/v2/", "--token", "rcs_x"}
	c, err := ParseArgs(base, noenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		URL: "http://127.0.0.1:8080/scim/v2", Token: "rcs_x",
		Scenarios:   []string{"baseline", "create", "deactivate", "group", "lookup", "page"},
		Concurrency: 16, Duration: 10 * time.Second, Warmup: time.Second,
		MetricsURL: "http://127.0.0.1:8080/metrics",
		SmallUsers: 10_000, Users: 1_000_000, GroupSize: 100_000, SmallGroupSize: 10, PageSize: 1000,
		Prefix: c.Prefix, Timeout: time.Minute,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if !strings.HasPrefix(c.Prefix, "load-") || len(c.Prefix) != len("load-")+6 {
		t.Errorf("default prefix %q, want load-<6 random characters>", c.Prefix)
	}
	if c2, _ := ParseArgs(base, noenv, io.Discard); c2.Prefix == c.Prefix {
		t.Errorf("two runs got the same prefix %q", c.Prefix)
	}

	c, err = ParseArgs(append(base, "--scenario", " Lookup,create,lookup ", "--concurrency", "4", "--requests", "500",
		"--database", "postgres://postgres@127.0.0.1/rollcall_bench", "--metrics-url", "http://h:9/m", "--server-pid", "42",
		"--json", "out.json", "--users", "20000", "--small-users", "100", "--group-size", "500", "--small-group-size", "5",
		"--page-size", "100", "--prefix", "run1", "--warmup", "0s"), noenv, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want = Config{
		URL: "http://127.0.0.1:8080/scim/v2", Token: "rcs_x", Scenarios: []string{"create", "lookup"},
		Concurrency: 4, Duration: 10 * time.Second, Requests: 500, Database: "postgres://postgres@127.0.0.1/rollcall_bench",
		MetricsURL: "http://h:9/m", ServerPID: 42, JSONPath: "out.json", SmallUsers: 100, Users: 20000,
		GroupSize: 500, SmallGroupSize: 5, PageSize: 100, Prefix: "run1", Timeout: time.Minute,
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("every flag (-want +got):\n%s", diff)
	}
}

func TestParseArgs_Env(t *testing.T) {
	env := map[string]string{"ROLLCALL_LOAD_URL": "https://scim.example.com/scim/v2", "ROLLCALL_LOAD_TOKEN": "rcs_env"}
	c, err := ParseArgs(nil, func(k string) string { return env[k] }, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.URL != env["ROLLCALL_LOAD_URL"] || c.Token != "rcs_env" || c.MetricsURL != "https://scim.example.com/metrics" {
		t.Errorf("from environment: url %q token %q metrics %q", c.URL, c.Token, c.MetricsURL)
	}
}

func TestParseArgs_Errors(t *testing.T) {
	base := []string{"--url", "http://127.0.0.1:8080/scim/v2", "--token", "t"}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"--token", "t"}, "--url and --token are required"},
		{"no token", []string{"--url", "http://x/scim/v2"}, "--url and --token are required"},
		{"not an http url", []string{"--url", "ftp://x/scim", "--token", "t"}, "must be an http:// or https:// URL"},
		{"unknown scenario", append(base, "--scenario", "lookup,explode"), `unknown scenario "explode"`},
		{"empty scenario list", append(base, "--scenario", " , "), "names no scenario"},
		{"duration and requests", append(base, "--duration", "5s", "--requests", "10"), "not both"},
		{"zero concurrency", append(base, "--concurrency", "0"), "--concurrency"},
		{"zero duration", append(base, "--duration", "0s"), "--duration must be positive"},
		{"negative requests", append(base, "--requests", "-1"), "--requests"},
		{"small above large", append(base, "--small-users", "20", "--users", "10"), "--small-users"},
		{"small group above large", append(base, "--small-group-size", "20", "--group-size", "10"), "--small-group-size"},
		{"sqlite database", append(base, "--database", "rollcall.db"), "postgres:// URL"},
		{"zero page size", append(base, "--page-size", "0"), "--page-size"},
		{"stray argument", append(base, "extra"), `unexpected argument "extra"`},
		{"unknown flag", append(base, "--nope"), "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseArgs(tt.args, noenv, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ParseArgs(%q) error = %v, want one containing %q", tt.args, err, tt.want)
			}
		})
	}
	if _, err := ParseArgs([]string{"-h"}, noenv, io.Discard); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("ParseArgs(-h) error = %v, want flag.ErrHelp", err)
	}
	// --requests alone replaces the default duration.
	if c, err := ParseArgs(append(base, "--requests", "10"), noenv, io.Discard); err != nil || c.Requests != 10 {
		t.Errorf("ParseArgs(--requests 10) = %d, %v", c.Requests, err)
	}
}
