package load

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	oneTo100 := make([]int, 100)
	for i := range oneTo100 {
		oneTo100[i] = i + 1
	}
	oneTo1000 := make([]int, 1000)
	for i := range oneTo1000 {
		oneTo1000[i] = i + 1
	}
	tests := []struct {
		name    string
		samples []time.Duration
		p       float64
		want    time.Duration
	}{
		{"no samples", nil, 50, 0},
		{"one sample is every percentile", durations(7), 99, 7 * time.Millisecond},
		{"one sample p1", durations(7), 1, 7 * time.Millisecond},
		{"median of 1..100 is 50", durations(oneTo100...), 50, 50 * time.Millisecond},
		{"p99 of 1..100 is 99", durations(oneTo100...), 99, 99 * time.Millisecond},
		{"p100 is the maximum", durations(oneTo100...), 100, 100 * time.Millisecond},
		{"p99 of 1..1000 is 990", durations(oneTo1000...), 99, 990 * time.Millisecond},
		{"p99.9 of 1..1000 is 999", durations(oneTo1000...), 99.9, 999 * time.Millisecond},
		{"median of three is the middle one", durations(1, 2, 30), 50, 2 * time.Millisecond},
		{"median of two is the lower one", durations(1, 2), 50, time.Millisecond},
		{"p99 of two is the higher one", durations(1, 2), 99, 2 * time.Millisecond},
		{"p99 of 101 samples is the 100th", durations(append(oneTo100, 1000)...), 99, 100 * time.Millisecond},
		{"tiny p is the minimum", durations(3, 4, 5), 0.001, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.samples, tt.p); got != tt.want {
				t.Errorf("Percentile(%d samples, %v) = %v, want %v", len(tt.samples), tt.p, got, tt.want)
			}
		})
	}
}

// Ensure Percentile agrees with the definition of nearest rank: the smallest sample such that
// at least p% of the samples are at most it.
func TestPercentile_NearestRankDefinition(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		n := 1 + r.IntN(300)
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(r.IntN(50))
		}
		slices.Sort(s)
		for _, p := range []float64{1, 10, 50, 90, 99, 99.9, 100} {
			got := Percentile(s, p)
			atMost := 0
			for _, v := range s {
				if v <= got {
					atMost++
				}
			}
			if float64(atMost)*100 < p*float64(n) {
				t.Fatalf("n=%d p=%v: %v has only %d samples at or below it", n, p, got, atMost)
			}
			for _, v := range s {
				if v >= got {
					break
				}
				below := 0
				for _, w := range s {
					if w <= v {
						below++
					}
				}
				if float64(below)*100 >= p*float64(n) {
					t.Fatalf("n=%d p=%v: %v is a smaller sample that qualifies, but got %v", n, p, v, got)
				}
			}
		}
	}
}

func TestSummarize(t *testing.T) {
	r := summarize("x", 4, durations(40, 10, 30, 20), 2, 2*time.Second)
	want := Result{Name: "x", Concurrency: 4, Ops: 4, Errors: 2, Seconds: 2, Rate: 2, P50ms: 20, P99ms: 40, MeanMs: 25, MaxMs: 40}
	if r != want {
		t.Errorf("summarize = %+v, want %+v", r, want)
	}
	if r := summarize("empty", 1, nil, 3, 0); r.Rate != 0 || r.P99ms != 0 || r.Errors != 3 {
		t.Errorf("summarize(no samples) = %+v, want zero figures and the errors", r)
	}
}
