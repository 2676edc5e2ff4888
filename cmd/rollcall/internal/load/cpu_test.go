package load

import (
	"os"
	"testing"
	"time"
)

func TestStatCPU(t *testing.T) {
	// utime 250 and stime 50 ticks, after a command name holding a space and a parenthesis.
	line := []byte("4242 (post gres) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 1000 10")
	d, ok := statCPU(line, false)
	if !ok || d != 3*time.Second {
		t.Errorf("statCPU = %v, %v; want 3s", d, ok)
	}
	// With its children that exited: cutime 0 and cstime 0 here, then 70 and 30 ticks.
	if d, ok := statCPU(line, true); !ok || d != 3*time.Second {
		t.Errorf("statCPU with children = %v, %v; want 3s", d, ok)
	}
	withChildren := []byte("1 (postgres) S 0 1 1 0 -1 4194560 100 0 0 0 250 50 70 30 20 0 1 0 100 1000 10")
	if d, ok := statCPU(withChildren, true); !ok || d != 4*time.Second {
		t.Errorf("statCPU with children = %v, %v; want 4s", d, ok)
	}
	if _, ok := statCPU([]byte("4242 (cut"), false); ok {
		t.Error("statCPU read a truncated line")
	}
	// This process: its own /proc entry parses, and its CPU time never goes backwards.
	a, ok := procCPU(os.Getpid())
	if !ok {
		t.Skip("no /proc on this system")
	}
	b, _ := procCPU(os.Getpid())
	if b < a {
		t.Errorf("CPU time went from %v to %v", a, b)
	}
}

func TestLocalDatabase(t *testing.T) {
	for url, want := range map[string]bool{
		"postgres://postgres@127.0.0.1:5432/db": true,
		"postgres://localhost/db":               true,
		"postgres://[::1]:5432/db":              true,
		"postgres:///db?host=/var/run/pg":       true,
		"postgres:///db?host=db.example.com":    false,
		"postgres://127.0.0.1/db?host=10.0.0.5": false,
		"postgres://db.example.com/db":          false,
		"postgres://10.0.0.5/db":                false,
		"":                                      false,
	} {
		if got := localDatabase(url); got != want {
			t.Errorf("localDatabase(%q) = %v, want %v", url, got, want)
		}
	}
}

func TestCPUPerOp(t *testing.T) {
	r := Result{Ops: 1000}
	before := cpuSample{server: time.Second, postgres: 2 * time.Second, self: 0, hasServer: true, hasPostgres: true}
	after := cpuSample{server: 1500 * time.Millisecond, postgres: 2700 * time.Millisecond, self: 100 * time.Millisecond, hasServer: true}
	cpuPerOp(&r, before, after)
	if r.ServerCPUms != 0.5 || r.ClientCPUms != 0.1 || r.PostgresCPUms != 0 {
		t.Errorf("cpuPerOp = server %v, postgres %v (not seen after), load %v", r.ServerCPUms, r.PostgresCPUms, r.ClientCPUms)
	}
}
