package load

import (
	"bytes"
	"fmt"
	"net"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// cpuSample is the CPU time used so far by the processes a run can see: the server (with
// --server-pid), PostgreSQL (when --database is on this host) and the load command itself.
// Two samples around a measurement say how much CPU each spent per operation, which on a
// shared machine moves much less from run to run than the rates do.
type cpuSample struct {
	server, postgres, self time.Duration
	hasServer, hasPostgres bool
}

// clockTick is the unit of the times in /proc/<pid>/stat (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// sampleCPU reads the CPU times now.
func sampleCPU(cfg *Config) cpuSample {
	var s cpuSample
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if cfg.ServerPID > 0 {
		s.server, s.hasServer = procCPU(cfg.ServerPID)
	}
	if localDatabase(cfg.Database) {
		s.postgres, s.hasPostgres = postgresCPU()
	}
	return s
}

// procCPU is the user and system time of a process, from /proc/<pid>/stat.
func procCPU(pid int) (time.Duration, bool) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	return statCPU(b, false)
}

// statCPU reads utime and stime (fields 14 and 15) of a /proc/<pid>/stat line, and with
// children cutime and cstime (16 and 17: the time of children that exited and were waited
// for). The command name (field 2) is in parentheses and may hold spaces, so fields count
// from the last ')'.
func statCPU(b []byte, children bool) (time.Duration, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3
	last := 12
	if children {
		last = 14
	}
	if len(f) <= last {
		return 0, false
	}
	var ticks int64
	for _, s := range f[11 : last+1] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, false
		}
		ticks += n
	}
	return time.Duration(ticks) * clockTick, true
}

// postgresCPU is the CPU time of every process named postgres on this host, with that of
// their children that exited: the backends (the pools keep theirs open through a measurement),
// the helpers, and, through the postmaster, parallel workers and backends that came and went.
func postgresCPU() (time.Duration, bool) {
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	var total time.Duration
	found := false
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil || !bytes.Contains(b, []byte("(postgres)")) {
			continue
		}
		if d, ok := statCPU(b, true); ok {
			total += d
			found = true
		}
	}
	return total, found
}

// localDatabase reports whether a postgres:// URL names this host, whose processes /proc shows.
func localDatabase(database string) bool {
	if database == "" {
		return false
	}
	u, err := neturl.Parse(database)
	if err != nil {
		return false
	}
	h := u.Hostname()
	if q := u.Query().Get("host"); q != "" {
		h = q // a host parameter overrides the URL's host
	}
	if h == "" || h == "localhost" || strings.HasPrefix(h, "/") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// cpuPerOp fills r's CPU milliseconds per operation from two samples.
func cpuPerOp(r *Result, before, after cpuSample) {
	if r.Ops == 0 {
		return
	}
	per := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(r.Ops) }
	r.ClientCPUms = per(after.self - before.self)
	if before.hasServer && after.hasServer {
		r.ServerCPUms = per(after.server - before.server)
	}
	if before.hasPostgres && after.hasPostgres {
		r.PostgresCPUms = per(after.postgres - before.postgres)
	}
}
