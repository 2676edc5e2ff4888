package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// cli runs the rollcall command line in-process and returns what it printed.
func cli(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = run(t.Context(), append([]string{"rollcall"}, args...), noEnv, nil, &out, &errOut)
	return out.String(), errOut.String(), err
}

var issuedLine = regexp.MustCompile(`^rollcall: token (\S+) of connection "[^"]*" in tenant "[^"]*" \(.*token revoke --id.*\)$`)

// issuedTokenID is the id of the token that connection create or token rotate reported on
// stderr.
func issuedTokenID(t *testing.T, stderr string) string {
	t.Helper()
	for line := range strings.SplitSeq(strings.TrimSpace(stderr), "\n") {
		if m := issuedLine.FindStringSubmatch(line); m != nil {
			return m[1]
		}
	}
	t.Fatalf("stderr names no token id: %q", stderr)
	return ""
}

// Ensure the database setting is logged and printed without its passwords, wherever pgx
// would read one, and otherwise as it was.
func TestRedactDSN(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"rollcall.db", "rollcall.db"},
		{"/var/lib/rollcall/rollcall.db", "/var/lib/rollcall/rollcall.db"},
		{"postgres://u@h:5432/db?sslmode=disable", "postgres://u@h:5432/db?sslmode=disable"},
		{"postgres://u:s3cret@h:5432/db?sslmode=disable", "postgres://u:xxxxx@h:5432/db?sslmode=disable"},
		{"postgresql://u:p@ss@h/db", "postgresql://u:xxxxx@h/db"},
		{"postgres://u:pa/s?s@h/db?sslmode=disable", "postgres://u:xxxxx@h/db?sslmode=disable"},
		{"postgres://postgres@127.0.0.1:5432/rev_new?sslmode=disable&password=PgQueryLeak77",
			"postgres://postgres@127.0.0.1:5432/rev_new?sslmode=disable&password=xxxxx"},
		{"postgres://h/db?PassWord=s3cret&application_name=me@rollcall", "postgres://h/db?PassWord=xxxxx&application_name=me@rollcall"},
		{"postgres://h/db?pass%77ord=s3cret", "postgres://h/db?pass%77ord=xxxxx"},
		{"postgres://h/db?sslpassword=s3cret&sslmode=verify-full", "postgres://h/db?sslpassword=xxxxx&sslmode=verify-full"},
		{"postgres://u:s3cret@h/db?password=s3cret", "postgres://u:xxxxx@h/db?password=xxxxx"},
		{"host=db user=rollcall password=s3cret dbname=rollcall", "host=db user=rollcall password=xxxxx dbname=rollcall"},
		{"host=db password='a b' dbname=rollcall", "host=db password=xxxxx dbname=rollcall"},
		{`password='it\'s s3cret' host=db`, "password=xxxxx host=db"},
		{"host=db PASSWORD = s3cret sslpassword=s3cret", "host=db PASSWORD = xxxxx sslpassword=xxxxx"},
		{"host=db user=password", "host=db user=password"},
	} {
		if got := redactDSN(tt.in); got != tt.want {
			t.Errorf("redactDSN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Ensure the operator commands refuse an SQLite file that does not exist, naming it and what
// makes one, instead of making a new, empty database; serve still makes it.
func TestCLI_OperatorCommandsNeedAnExistingDatabase(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	for _, args := range [][]string{
		{"connection", "create", "-name", "okta", "-kind", "okta"},
		{"token", "rotate", "-connection", "default"},
		{"token", "revoke", "-connection", "default", "-id", "x"},
		{"token", "list", "-connection", "default"},
		{"admin", "create", "-email", "ops@example.com"},
	} {
		_, _, err := cli(t, append(args, "-database", missing)...)
		if err == nil || !strings.Contains(err.Error(), "no database at "+missing) ||
			!strings.Contains(err.Error(), "rollcall serve creates it") || !strings.Contains(err.Error(), "--database") {
			t.Errorf("%v on a missing database: %v", args, err)
		}
	}
	// Without --database: rollcall.db in the working directory, named in full.
	t.Chdir(dir)
	if _, _, err := cli(t, "token", "list", "-connection", "default"); err == nil ||
		!strings.Contains(err.Error(), filepath.Join(dir, defaultDatabase)) {
		t.Errorf("token list without --database: %v", err)
	}
	// A keyword/value PostgreSQL setting is refused, by serve too (taken for a file name, it
	// made an SQLite file named with the password), and never quoted.
	for _, args := range [][]string{{"token", "list", "-connection", "default"}, {"serve", "-addr", "127.0.0.1:0"}} {
		if _, _, err := cli(t, append(args, "-database", "host=db password=s3cret dbname=rollcall")...); err == nil ||
			!strings.Contains(err.Error(), "keyword/value") || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%v on a keyword/value setting: %v", args[0], err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 0 {
		t.Errorf("the refused commands made %v", entries)
	}
	s := startServer(t, missing)
	if _, err := os.Stat(missing); err != nil || s.token == "" {
		t.Errorf("serve did not make its database: %v", err)
	}
	if _, _, err := cli(t, "token", "list", "-database", missing, "-connection", "default"); err != nil {
		t.Errorf("token list on the database serve made: %v", err)
	}
}

// shellFields splits a command line as a POSIX shell would, for one written with plain words
// and single quotes (as shellQuote writes it).
func shellFields(t *testing.T, line string) []string {
	t.Helper()
	var fields []string
	var field strings.Builder
	inField, quoted := false, false
	for _, r := range line {
		switch {
		case r == '\'':
			quoted, inField = !quoted, true
		case r == ' ' && !quoted:
			if inField {
				fields = append(fields, field.String())
				field.Reset()
				inField = false
			}
		default:
			field.WriteRune(r)
			inField = true
		}
	}
	if quoted {
		t.Fatalf("unbalanced quotes in %q", line)
	}
	if inField {
		fields = append(fields, field.String())
	}
	return fields
}

// Ensure the connection create command serve prints at first start, run as printed, makes a
// token of this server, on its database, and prints this server's SCIM base URL: serve here
// listens on a port chosen at start, on a database that is not the default.
func TestServe_PrintedConnectionCreateCommand(t *testing.T) {
	backends(t, func(t *testing.T, database string) {
		s := startServer(t, database)
		args := shellFields(t, s.hint)
		if len(args) < 2 || args[0] != "rollcall" {
			t.Fatalf("the printed command: %q", s.hint)
		}
		args = args[1:]
		// A password in the database setting is printed hidden, for the operator to fill in.
		i := slices.Index(args, "--database")
		if i < 0 || i+1 == len(args) || args[i+1] != redactDSN(database) {
			t.Fatalf("the printed command names the database %v, want %q: %q", args, redactDSN(database), s.hint)
		}
		args[i+1] = database
		if j := slices.Index(args, "(with"); j >= 0 {
			args = args[:j]
		}
		out, errOut, err := cli(t, args...)
		if err != nil {
			t.Fatalf("%q: %v\n%s", s.hint, err, errOut)
		}
		var it issuedToken
		if err := json.Unmarshal([]byte(out), &it); err != nil || it.SCIMBaseURL != s.scimURL() {
			t.Fatalf("%q printed %q (%v), want scim_base_url %s", s.hint, out, err, s.scimURL())
		}
		if code, _, _ := scimDo(t, "GET", it.SCIMBaseURL+"/Users", it.Token, nil); code != http.StatusOK {
			t.Errorf("the printed command's token: GET /Users = %d", code)
		}
	})
}

// Ensure the printed command leaves out what is default, hides a database password and
// quotes what a shell would otherwise read.
func TestConnectionCreateCommand(t *testing.T) {
	for _, tt := range []struct {
		c    config
		want string
	}{
		{config{Tenant: "default", Database: "rollcall.db", BaseURL: "http://127.0.0.1:8080"},
			"rollcall connection create --tenant default --name okta --kind okta"},
		{config{Tenant: "acme corp", Database: "/srv/r.db", BaseURL: "https://rollcall.example.com"},
			"rollcall connection create --tenant 'acme corp' --name okta --kind okta --database /srv/r.db --base-url https://rollcall.example.com"},
		{config{Tenant: "default", Database: "postgres://u:s3cret@db/rollcall?sslmode=disable&password=s3cret", BaseURL: "http://localhost:9000"},
			"rollcall connection create --tenant default --name okta --kind okta " +
				"--database 'postgres://u:xxxxx@db/rollcall?sslmode=disable&password=xxxxx' --base-url http://localhost:9000 " +
				"(with the database password in place of xxxxx)"},
		{config{Tenant: "o'brien", Database: "rollcall.db", BaseURL: "http://127.0.0.1:8080"},
			`rollcall connection create --tenant 'o'\''brien' --name okta --kind okta`},
	} {
		if got := connectionCreateCommand(tt.c); got != tt.want {
			t.Errorf("connectionCreateCommand(%+v)\n = %s\nwant %s", tt.c, got, tt.want)
		}
	}
}

// Ensure connection create and token rotate print on stdout exactly the JSON the project's
// issue specifies, and on stderr the new token's id, the one token list shows.
func TestCLI_IssuedTokenOutput(t *testing.T) {
	db := sqliteDB(t)
	for _, args := range [][]string{
		{"connection", "create", "-database", db, "-name", "okta", "-kind", "okta"},
		{"token", "rotate", "-database", db, "-connection", "okta"},
	} {
		out, errOut, err := cli(t, args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errOut)
		}
		var printed map[string]string
		if err := json.Unmarshal([]byte(out), &printed); err != nil || len(printed) != 2 ||
			printed["token"] == "" || !strings.HasSuffix(printed["scim_base_url"], "/scim/v2") {
			t.Errorf("%v printed %q (%v), want exactly scim_base_url and token", args, out, err)
		}
		id := issuedTokenID(t, errOut)
		listed, _, err := cli(t, "token", "list", "-database", db, "-connection", "okta")
		if err != nil || !strings.Contains(listed, `"id": "`+id+`"`) {
			t.Errorf("%v reported token %s; token list: %s (%v)", args, id, listed, err)
		}
	}
}

// Ensure a usage error (a bad flag, a stray argument, an unknown subcommand) is printed once
// and exits 2, and any other error is printed once and exits 1.
func TestCLI_UsageErrors(t *testing.T) {
	db := sqliteDB(t)
	// The context is done: a command that ran by mistake would stop at once.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"connection", "create", "-nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"token", "list", "-nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"admin", "create", "-nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"serve", "-nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"conformance", "-nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"load", "-nope"}, 2, "flag provided but not defined: -nope"},
		{[]string{"connection", "create", "-database", db, "--name", "zz", "--kind", "okta", "extra"}, 2, `rollcall connection create: unexpected argument "extra"`},
		{[]string{"token", "rotate", "-database", db, "-connection", "default", "extra"}, 2, `rollcall token rotate: unexpected argument "extra"`},
		{[]string{"admin", "create", "-database", db, "-email", "a@example.com", "extra"}, 2, `rollcall admin create: unexpected argument "extra"`},
		{[]string{"serve", "-addr", "127.0.0.1:0", "-database", db, "extra"}, 2, `rollcall serve: unexpected argument "extra"`},
		{[]string{"conformance", "-url", "http://127.0.0.1:1/scim/v2", "-token", "t", "extra"}, 2, `rollcall conformance: unexpected argument "extra"`},
		{[]string{"load", "-url", "http://127.0.0.1:1/scim/v2", "-token", "t", "extra"}, 2, `rollcall load: unexpected argument "extra"`},
		{[]string{"token", "frobnicate", "-database", db, "-connection", "default"}, 2, "usage: rollcall token rotate|revoke|list"},
		{[]string{"connection", "create", "-database", db}, 1, "rollcall: --name is required"},
	} {
		var out, errOut bytes.Buffer
		err := run(ctx, append([]string{"rollcall"}, tt.args...), noEnv, nil, &out, &errOut)
		code := exitCode(err, &errOut)
		if code != tt.code || strings.Count(errOut.String(), tt.want) != 1 {
			t.Errorf("%v: exit %d (%v), want %d; stderr (want %q once):\n%s", tt.args, code, err, tt.code, tt.want, errOut.String())
		}
	}
	if code := exitCode(nil, nil); code != 0 {
		t.Errorf("exitCode(nil) = %d", code)
	}
}
