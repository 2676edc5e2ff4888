package conformance

import (
	"os/exec"
	"strings"
	"testing"
)

// Ensure the suite, its tests included, imports only the standard library, so
// it can check any SCIM deployment without pulling Rollcall in (STYLE.md §2.1:
// "conformance: speaks HTTP only, no project package").
func TestImportsOnlyStdlib(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("the go command is not in PATH")
	}
	const self = "github.com/rollcall/rollcall/conformance"
	out, err := exec.Command(goTool, "list", "-test", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	for _, p := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if p == "" || p == self || strings.HasPrefix(p, self+" ") || strings.HasPrefix(p, self+"_test") || strings.HasPrefix(p, self+".test") {
			continue
		}
		t.Errorf("package conformance depends on %s: it must import only the standard library, so it runs against any deployment", p)
	}
}
