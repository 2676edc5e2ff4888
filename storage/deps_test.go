package storage

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Ensure the package graph holds: the storage contract knows only the domain: no drivers, no HTTP.
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := regexp.MustCompile(`^github.com/rollcall/rollcall/rbac$`)
	self := "github.com/rollcall/rollcall/storage"
	for _, dep := range strings.Fields(string(out)) {
		if dep != self && !allowed.MatchString(dep) {
			t.Errorf("%s imports %s: the storage contract knows only the domain: no drivers, no HTTP", self, dep)
		}
	}
}
