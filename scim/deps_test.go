package scim

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Ensure the package graph holds: the SCIM surface uses the storage contract, never a backend.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := regexp.MustCompile(`^(github.com/rollcall/rollcall/(rbac|rbac/secret|storage|scim/expr)|github.com/elimity-com/scim(/.*)?|github.com/scim2/filter-parser/v2(/.*)?|github.com/gorilla/mux|github.com/q-uint/.*)$`)
	self := "github.com/rollcall/rollcall/scim"
	for _, dep := range strings.Fields(string(out)) {
		if dep != self && !allowed.MatchString(dep) {
			t.Errorf("%s imports %s: the SCIM surface uses the storage contract, never a backend", self, dep)
		}
	}
}
