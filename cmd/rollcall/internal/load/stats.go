package load

import (
	"slices"
	"time"
)

// Percentile returns the p-th percentile (0 < p ≤ 100) of samples sorted in ascending order,
// by the nearest-rank method: the smallest sample that at least p% of the samples are less
// than or equal to. It returns 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	// rank = ceil(p/100 × n), computed in integers so that p=50, n=100 is exactly 50.
	rank := int(p * float64(n) / 100)
	if float64(rank)*100 < p*float64(n) {
		rank++
	}
	return sorted[min(max(rank, 1), n)-1]
}

// Result is one measurement: a number of operations (each one request, or the requests an
// IdP sends for one action) by some concurrent clients, and their latencies.
type Result struct {
	// Key identifies the measurement to the targets (e.g. lookup_large).
	Key         string  `json:"key"`
	Name        string  `json:"name"`
	Concurrency int     `json:"concurrency"`
	Ops         int     `json:"ops"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
	Rate        float64 `json:"ops_per_sec"`
	P50ms       float64 `json:"p50_ms"`
	P99ms       float64 `json:"p99_ms"`
	MeanMs      float64 `json:"mean_ms"`
	MaxMs       float64 `json:"max_ms"`
	// Users is how many users the server held during the measurement, when it matters.
	Users int `json:"users,omitempty"`
	// GroupSize is the number of members of the group operated on.
	GroupSize int `json:"group_size,omitempty"`
	// Items counts the resources a paging run returned.
	Items int `json:"items,omitempty"`
	// PeakRSSMB is the server's peak resident memory seen while the measurement ran.
	PeakRSSMB float64 `json:"peak_rss_mb,omitempty"`
	// ServerCPUms, PostgresCPUms and ClientCPUms are the CPU milliseconds the server, the
	// PostgreSQL processes of this host and the load command spent per operation while the
	// measurement ran (0: not known). Include only what a run can see (see cpuSample).
	ServerCPUms   float64 `json:"server_cpu_ms_per_op,omitempty"`
	PostgresCPUms float64 `json:"postgres_cpu_ms_per_op,omitempty"`
	ClientCPUms   float64 `json:"client_cpu_ms_per_op,omitempty"`
	// Ratio is this rate over the baseline's, for create.
	Ratio float64 `json:"ratio_to_baseline,omitempty"`
	Note  string  `json:"note,omitempty"`
	// FirstError is the first failure, to say why Errors is not zero.
	FirstError string `json:"first_error,omitempty"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// summarize makes a Result of latency samples (sorted here) over elapsed wall time.
func summarize(name string, concurrency int, samples []time.Duration, errs int, elapsed time.Duration) Result {
	slices.Sort(samples)
	r := Result{Name: name, Concurrency: concurrency, Ops: len(samples), Errors: errs, Seconds: elapsed.Seconds()}
	if elapsed > 0 {
		r.Rate = float64(len(samples)) / elapsed.Seconds()
	}
	if len(samples) > 0 {
		var sum time.Duration
		for _, s := range samples {
			sum += s
		}
		r.MeanMs = ms(sum / time.Duration(len(samples)))
		r.P50ms, r.P99ms, r.MaxMs = ms(Percentile(samples, 50)), ms(Percentile(samples, 99)), ms(samples[len(samples)-1])
	}
	return r
}
