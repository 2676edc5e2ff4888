package rbac

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Ensure the package graph holds: the domain imports nothing but the standard library.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := regexp.MustCompile(`^$`)
	self := "github.com/rollcall/rollcall/rbac"
	for _, dep := range strings.Fields(string(out)) {
		if dep != self && !allowed.MatchString(dep) {
			t.Errorf("%s imports %s: the domain imports nothing but the standard library", self, dep)
		}
	}
}
