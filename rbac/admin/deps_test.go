package admin

import (
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// Ensure the package graph holds: the admin API uses the domain and the storage contract,
// never a backend (cmd wires one in) and never the SCIM surface (it only shares a store with it).
func TestDependencies(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	allowed := regexp.MustCompile(`^(github.com/rollcall/rollcall/(rbac|rbac/password|rbac/secret|storage)|github.com/gorilla/mux|golang.org/x/crypto/.*|golang.org/x/sys/cpu)$`)
	self := "github.com/rollcall/rollcall/rbac/admin"
	for _, dep := range strings.Fields(string(out)) {
		if dep != self && !allowed.MatchString(dep) {
			t.Errorf("%s imports %s: the admin API uses the domain and the storage contract, never a backend or the SCIM surface", self, dep)
		}
	}
}
