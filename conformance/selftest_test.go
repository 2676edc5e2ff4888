package conformance

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func startFake(t *testing.T) (*fakeServer, string) {
	t.Helper()
	fs := newFakeServer(map[string]string{"token-one": "okta", "token-two": "entra"})
	srv := httptest.NewServer(fs)
	t.Cleanup(srv.Close)
	fs.base = srv.URL + "/scim/v2"
	return fs, fs.base
}

// Ensure every case passes against a service provider that behaves as the
// suite expects (the fake of fakeserver_test.go), through Run.
func TestSuiteAgainstFake(t *testing.T) {
	_, base := startFake(t)
	Run(t, Target{BaseURL: base, Token: "token-one", OtherToken: "token-two"})
}

// Ensure RunReport prints one line per case and a summary, and returns nil
// when nothing failed; and that it cleans up what it created.
func TestRunReportAgainstFake(t *testing.T) {
	fs, base := startFake(t)
	var out bytes.Buffer
	if err := RunReport(context.Background(), Target{BaseURL: base, Token: "token-one"}, &out); err != nil {
		t.Fatalf("RunReport: %v\n%s", err, out.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	r, _ := newRunner(Target{BaseURL: base, Token: "x"})
	if got, want := len(lines), len(r.cases())+1; got != want {
		t.Errorf("got %d lines, want %d (one per case and a summary)\n%s", got, want, out.String())
	}
	for _, l := range lines[:len(lines)-1] {
		if !strings.HasPrefix(l, "PASS ") && !strings.HasPrefix(l, "SKIP Ownership/") {
			t.Errorf("unexpected line %q", l)
		}
	}
	if !strings.Contains(out.String(), "SKIP Ownership/OtherConnectionCannotModify: no token of a second IdP connection") {
		t.Errorf("the ownership cases must say why they are skipped\n%s", out.String())
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if n := len(fs.res); n != 0 {
		t.Errorf("%d resources left behind after the run; every case must clean up", n)
	}
}

// Ensure no case passes vacuously: against servers that answer every request
// with the same canned response, every case fails or says why it skips.
func TestNoVacuousPass(t *testing.T) {
	canned := map[string]http.HandlerFunc{
		"200 {}": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", mediaSCIM)
			w.Write([]byte(`{}`))
		},
		"404": func(w http.ResponseWriter, r *http.Request) {
			http.NotFound(w, r)
		},
		"201 echo": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", mediaSCIM)
			w.WriteHeader(http.StatusCreated)
			w.Write([]byte(`{"id":"x","schemas":["urn:ietf:params:scim:api:messages:2.0:ListResponse"],"totalResults":0}`))
		},
		"spc claims everything, then 400": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", mediaSCIM)
			if strings.HasSuffix(r.URL.Path, "/ServiceProviderConfig") {
				w.Write([]byte(`{"etag":{"supported":true},"sort":{"supported":true},"patch":{"supported":true},"filter":{"supported":true}}`))
				return
			}
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400","scimType":"invalidSyntax"}`))
		},
	}
	for name, h := range canned {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(h)
			defer srv.Close()
			var out bytes.Buffer
			err := RunReport(context.Background(), Target{BaseURL: srv.URL, Token: "t", OtherToken: "u"}, &out)
			if err == nil {
				t.Errorf("RunReport returned nil against a canned server")
			}
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if strings.HasPrefix(l, "PASS ") {
					t.Errorf("passed vacuously: %s", l)
				}
				if strings.HasPrefix(l, "SKIP ") && !strings.Contains(l, ": ") {
					t.Errorf("skipped without a reason: %s", l)
				}
			}
		})
	}
}

func TestNewRunnerChecksTarget(t *testing.T) {
	for _, tg := range []Target{{}, {BaseURL: "localhost:8080/scim/v2", Token: "t"}, {BaseURL: "http://h/scim/v2"}} {
		if _, err := newRunner(tg); err == nil {
			t.Errorf("newRunner(%+v): want an error", tg)
		}
	}
}

// Ensure the suite catches real defects: with one deliberate bug in the fake
// server, the cases named for it must fail.
func TestMutants(t *testing.T) {
	tests := []struct {
		bug      string
		mustFail []string
	}{
		{"application/json responses", []string{"Users/Create", "Flows/okta/user_lifecycle"}},
		{"error status as a number", []string{"Users/GetUnknown", "Auth/NoToken", "Flows/okta/group_push"}},
		{"If-Match ignored", []string{"ETag/Versions"}},
		{"ownership ignored", []string{"Ownership/OtherConnectionCannotModify"}},
		{"PUT merges", []string{"Users/Replace", "Users/ReplaceIgnoresUnknown", "Groups/Replace", "Flows/okta/user_lifecycle"}},
		{"userName optional", []string{"Users/RequiresUserName"}},
		{"no body limit", []string{"Limits/BodyTooLarge"}},
		{"string booleans rejected", []string{"Users/ActiveAsString", "Flows/entra/user_legacy"}},
		{"userName case-sensitive", []string{"Users/UniqueUserNameIgnoresCase"}},
		{"PATCH not atomic", []string{"Patch/Atomic"}},
		{"null value refused", []string{"Patch/NullUnassigns"}},
		{"remove with a value list removes all", []string{"Groups/PatchRemoveMembersByValue", "Flows/entra/group_legacy"}},
		{"unknown member fails the whole add", []string{"Groups/PatchUnknownMember"}},
		{"itemsPerPage is the requested count", []string{"Pagination/Pages", "Filters/NoMatch"}},
		{"no match is 404", []string{"Filters/NoMatch", "Flows/entra/test_connection", "Flows/okta/user_lifecycle"}},
		{"numbers as strings", []string{"Pagination/Pages", "Filters/Operators"}},
		{"excludedAttributes ignored", []string{"Projection/ExcludedAttributes", "Groups/FilterExcludingMembers", "Flows/entra/group_aadoptscim062020"}},
		{"password echoed", []string{"Users/PasswordNeverReturned", "Flows/okta/user_lifecycle", "Flows/okta/user_password_sync"}},
		{"dotted keys ignored", []string{"Flows/entra/user_aadoptscim062020"}},
		{"manager must be an object", []string{"Flows/entra/user_legacy"}},
		{"inactive users hidden", []string{"Filters/Operators", "Flows/okta/user_lifecycle", "Flows/entra/user_aadoptscim062020"}},
	}
	for _, tc := range tests {
		t.Run(tc.bug, func(t *testing.T) {
			t.Parallel()
			fs, base := startFake(t)
			fs.bug = tc.bug
			var out bytes.Buffer
			if err := RunReport(context.Background(), Target{BaseURL: base, Token: "token-one", OtherToken: "token-two"}, &out); err == nil {
				t.Fatalf("RunReport returned nil with the bug %q\n%s", tc.bug, out.String())
			}
			for _, name := range tc.mustFail {
				if !strings.Contains(out.String(), "FAIL "+name+" ") {
					t.Errorf("want %s to fail with the bug %q\n%s", name, tc.bug, out.String())
				}
			}
		})
	}
}
