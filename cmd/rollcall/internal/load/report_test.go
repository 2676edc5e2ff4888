package load

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestMetricValue(t *testing.T) {
	exp := []byte(`# HELP process_resident_memory_bytes Resident memory size in bytes.
# TYPE process_resident_memory_bytes gauge
process_resident_memory_bytes_total 1
process_resident_memory_bytes 8.8203264e+07
process_virtual_memory_bytes 1.2e+09
`)
	got, err := metricValue(exp, "process_resident_memory_bytes")
	if err != nil || got != 88203264 {
		t.Errorf("metricValue = %d, %v; want 88203264", got, err)
	}
	if _, err := metricValue([]byte("go_goroutines 8\n"), "process_resident_memory_bytes"); err == nil {
		t.Error("metricValue of a missing metric: no error")
	}
}

func TestProcStatusKB(t *testing.T) {
	status := []byte("Name:\trollcall\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\n")
	if got, err := procStatusKB(status, "VmRSS"); err != nil || got != 65432<<10 {
		t.Errorf("VmRSS = %d, %v", got, err)
	}
	if got, err := procStatusKB(status, "VmHWM"); err != nil || got != 123456<<10 {
		t.Errorf("VmHWM = %d, %v", got, err)
	}
	if _, err := procStatusKB(status, "VmSwap"); err == nil {
		t.Error("missing key: no error")
	}
}

func TestMemSampler(t *testing.T) {
	var n atomic.Int64
	values := []int64{10, 50, 20}
	m := startMemSampler(t.Context(), func(context.Context) (int64, error) {
		i := n.Add(1) - 1
		if i >= int64(len(values)) {
			return 0, errors.New("gone")
		}
		return values[i], nil
	})
	// Wait until every value was read and a failed read followed.
	for deadline := time.Now().Add(10 * time.Second); n.Load() < 4 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	peak, samples, err := m.stop(t.Context())
	if err != nil || peak != 50 || samples != 3 {
		t.Errorf("stop = %d, %d samples, %v; want peak 50 over 3 samples", peak, samples, err)
	}
}

// Ensure measure runs exactly --requests recorded operations after the warm-up, counts errors
// apart from latencies, and numbers operations uniquely.
func TestMeasure_Requests(t *testing.T) {
	cfg := &Config{Requests: 50, Warmup: 20 * time.Millisecond}
	var calls atomic.Int64
	seen := make(chan int, 1000)
	res := measure(t.Context(), cfg, workload{name: "w", concurrency: 4, op: func(_ context.Context, i int) (time.Duration, error) {
		calls.Add(1)
		seen <- i
		time.Sleep(time.Millisecond)
		if i%10 == 9 {
			return 0, errors.New("boom")
		}
		return 2 * time.Millisecond, nil
	}})
	close(seen)
	if res.Ops+res.Errors != 50 {
		t.Errorf("recorded %d ops and %d errors, want 50 in all", res.Ops, res.Errors)
	}
	if res.Errors == 0 || res.FirstError != "boom" {
		t.Errorf("errors %d, first %q; want some, boom", res.Errors, res.FirstError)
	}
	if res.P50ms != 2 || res.P99ms != 2 {
		t.Errorf("p50 %v p99 %v, want the 2 ms the op reported", res.P50ms, res.P99ms)
	}
	if calls.Load() <= 50 {
		t.Errorf("%d calls: the warm-up ran none", calls.Load())
	}
	unique := map[int]bool{}
	for i := range seen {
		if unique[i] {
			t.Fatalf("op number %d given twice", i)
		}
		unique[i] = true
	}
}

func TestMeasure_Duration(t *testing.T) {
	cfg := &Config{Duration: 100 * time.Millisecond}
	start := time.Now()
	res := measure(t.Context(), cfg, workload{name: "w", concurrency: 2, op: func(context.Context, int) (time.Duration, error) {
		return timed(func() error { time.Sleep(5 * time.Millisecond); return nil })
	}})
	if el := time.Since(start); el < 100*time.Millisecond || el > time.Second {
		t.Errorf("ran %v, want about 100ms", el)
	}
	if res.Ops < 10 || res.Rate < 100 || res.Rate > 500 || res.P50ms < 5 {
		t.Errorf("result %+v: want about 40 ops at about 400 ops/s, each ≥ 5 ms", res)
	}
}

func TestEvaluate(t *testing.T) {
	cfg := &Config{Concurrency: 16, Users: 1_000_000, SmallUsers: 10_000, GroupSize: 100_000, SmallGroupSize: 10}
	results := []Result{
		{Key: keyBaseInsert, Rate: 1000},
		{Key: keyCreate, Rate: 600},
		{Key: keyLookupSmall, P99ms: 10, Users: 10_000},
		{Key: keyLookupLarge, P99ms: 16, Users: 1_000_000},
		{Key: "group_add_small", P99ms: 10, GroupSize: 10},
		{Key: "group_add_large", P99ms: 19, GroupSize: 100_000},
		{Key: "group_remove_small", P99ms: 10, GroupSize: 10},
		{Key: "group_remove_large", P99ms: 21, GroupSize: 100_000},
		{Key: keyPageIndex, PeakRSSMB: 120, Users: 1_000_000},
		{Key: keyPageCursor, PeakRSSMB: 90, Users: 1_000_000},
	}
	got := evaluate(cfg, results)
	want := []string{"PASS", "FAIL", "FAIL", "PASS"}
	for i, tg := range got {
		if tg.Status != want[i] {
			t.Errorf("target %d (%s) = %s (%s), want %s", i, tg.Name, tg.Status, tg.Detail, want[i])
		}
	}
	if !strings.Contains(got[0].Detail, "= 0.60") || !strings.Contains(got[1].Detail, "= 1.60") ||
		!strings.Contains(got[2].Detail, "remove 21.00 ms (100000) / 10.00 ms (10) = 2.10") {
		t.Errorf("details do not show the deciding numbers: %q / %q / %q", got[0].Detail, got[1].Detail, got[2].Detail)
	}

	// Errors fail a target whatever the figures; missing measurements skip it.
	results[1].Errors = 3
	got = evaluate(cfg, results[:2])
	if got[0].Status != "FAIL" || !strings.Contains(got[0].Detail, "3 errors") {
		t.Errorf("create with errors = %s (%s), want FAIL naming the errors", got[0].Status, got[0].Detail)
	}
	for _, tg := range got[1:] {
		if tg.Status != "SKIP" {
			t.Errorf("%s = %s, want SKIP without its measurements", tg.Name, tg.Status)
		}
	}
}
