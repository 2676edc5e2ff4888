package conformance

import (
	"strings"
	"testing"
	"testing/fstest"
)

// Ensure every embedded fixture parses, uses only defined variables, and
// that both IdPs and both Entra ID dialects are covered.
func TestFixturesLoad(t *testing.T) {
	flows, err := loadFlows(fixtures, "testdata")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, f := range flows {
		names[f.name] = true
		for i, s := range f.Steps {
			if s.Method == "PATCH" && len(s.codes()) == 1 && s.codes()[0] == 200 {
				t.Errorf("%s step %d: a PATCH may answer 200 or 204 (RFC 7644 §3.5.2); list both", f.name, i+1)
			}
		}
		last := f.Steps[len(f.Steps)-1]
		if last.Method != "GET" {
			t.Errorf("%s: the last step is %s; end a flow with a GET that checks the outcome", f.name, last.Method)
		}
	}
	for _, want := range []string{
		"okta/user_lifecycle", "okta/group_push",
		"entra/user_legacy", "entra/user_aadoptscim062020",
		"entra/group_legacy", "entra/group_aadoptscim062020",
	} {
		if !names[want] {
			t.Errorf("missing fixture %s.json", want)
		}
	}
	if len(flows) < 6 {
		t.Errorf("got %d flows", len(flows))
	}
}

// Ensure each PATCH in a fixture is followed later by a GET of the same
// resource, so a 204 answer never lets a change go unchecked.
func TestFixturesVerifyPatches(t *testing.T) {
	flows, err := loadFlows(fixtures, "testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range flows {
		for i, s := range f.Steps {
			if s.Method != "PATCH" {
				continue
			}
			checked := false
			for _, later := range f.Steps[i+1:] {
				if later.Method == "GET" && strings.HasPrefix(later.Path, s.Path) {
					checked = true
				}
			}
			if !checked {
				t.Errorf("%s step %d (%s): follow a PATCH with a GET of %s", f.name, i+1, s.Name, s.Path)
			}
		}
	}
}

func TestParseFlowErrors(t *testing.T) {
	tests := []struct{ name, json, wantErr string }{
		{"unknown field", `{"description":"d","source":"s","steps":[{"name":"a","method":"GET","path":"/Users","statusCode":200,"typo":1}]}`, "unknown field"},
		{"no steps", `{"description":"d","source":"s","steps":[]}`, "no steps"},
		{"no source", `{"description":"d","steps":[{"name":"a","method":"GET","path":"/Users","statusCode":200}]}`, "source"},
		{"bad method", `{"description":"d","source":"s","steps":[{"name":"a","method":"FETCH","path":"/Users","statusCode":200}]}`, "method"},
		{"relative path", `{"description":"d","source":"s","steps":[{"name":"a","method":"GET","path":"Users","statusCode":200}]}`, "must start with /"},
		{"no status", `{"description":"d","source":"s","steps":[{"name":"a","method":"GET","path":"/Users"}]}`, "statusCode"},
		{"both status forms", `{"description":"d","source":"s","steps":[{"name":"a","method":"GET","path":"/Users","statusCode":200,"statusCodes":[200]}]}`, "exactly one"},
		{"unbound in path", `{"description":"d","source":"s","steps":[{"name":"a","method":"GET","path":"/Users/${id}","statusCode":200}]}`, "${id} is used before"},
		{"unbound in request", `{"description":"d","source":"s","steps":[{"name":"a","method":"POST","path":"/Users","request":{"userName":"${who}"},"statusCode":201}]}`, "${who}"},
		{"use before capture", `{"description":"d","source":"s","steps":[{"name":"a","method":"GET","path":"/Users/${id}","statusCode":200},{"name":"b","method":"POST","path":"/Users","statusCode":201,"response":{"id":"${id}"}}]}`, "${id} is used before"},
		{"body on a 204", `{"description":"d","source":"s","steps":[{"name":"a","method":"DELETE","path":"/Users/x","statusCode":204,"response":{"id":"x"}}]}`, "204"},
		{"builtin var name", `{"description":"d","source":"s","vars":{"rand":"x"},"steps":[{"name":"a","method":"GET","path":"/Users","statusCode":200}]}`, "built-in"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parseFlow("x", []byte(tc.json))
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("want an error containing %q, got %v", tc.wantErr, err)
			}
		})
	}
	ok := `{"description":"d","source":"s","vars":{"u":"user-${rand}"},"steps":[
		{"name":"a","method":"POST","path":"/Users","request":{"userName":"${u}"},"statusCode":201,"response":{"id":"${id}"}},
		{"name":"b","method":"GET","path":"/Users/${id}?attributes=userName","statusCodes":[200],"response":{"userName":"${u}","x":"${*}"}}]}`
	if _, err := parseFlow("ok", []byte(ok)); err != nil {
		t.Errorf("a valid flow: %v", err)
	}
}

func TestLoadFlowsNamesAndOrder(t *testing.T) {
	step := `{"description":"d","source":"s","steps":[{"name":"a","method":"GET","path":"/Users","statusCode":200}]}`
	fsys := fstest.MapFS{
		"testdata/b/two.json": {Data: []byte(step)},
		"testdata/a/one.json": {Data: []byte(step)},
		"testdata/a/README":   {Data: []byte("not a fixture")},
	}
	flows, err := loadFlows(fsys, "testdata")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range flows {
		got = append(got, f.name)
	}
	if strings.Join(got, ",") != "a/one,b/two" {
		t.Errorf("got flows %v, want [a/one b/two]", got)
	}
	fsys["testdata/c/bad.json"] = &fstest.MapFile{Data: []byte(`{`)}
	if _, err := loadFlows(fsys, "testdata"); err == nil || !strings.Contains(err.Error(), "testdata/c/bad.json") {
		t.Errorf("a broken fixture must fail naming its file, got %v", err)
	}
}
