package load

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// workload is one measurement: op run by concurrency clients, for a duration or a number of
// operations, after a warm-up. op returns the latency to record: usually the time it took,
// but an op that undoes its effect afterwards (so that every op sees the same state) times
// only the part that is measured.
type workload struct {
	name        string
	concurrency int
	// op runs one operation; i is unique within the workload (warm-up included).
	op func(ctx context.Context, i int) (time.Duration, error)
}

// timed runs fn and returns how long it took.
func timed(fn func() error) (time.Duration, error) {
	start := time.Now()
	err := fn()
	return time.Since(start), err
}

// measure runs w as cfg says and summarizes it.
func measure(ctx context.Context, cfg *Config, w workload) Result {
	conc := max(w.concurrency, 1)
	var (
		next     atomic.Int64 // op numbers
		counted  atomic.Int64 // recorded ops, for --requests
		mu       sync.Mutex
		samples  []time.Duration
		errs     int
		firstErr string
		wg       sync.WaitGroup
	)
	warmEnd := time.Now().Add(cfg.Warmup)
	var measStart atomic.Int64       // UnixNano of the first recorded op's start
	var cpuStart cpuSample           // written by the worker that sets measStart
	end := warmEnd.Add(cfg.Duration) // for --duration
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			localErrs := 0
			var localFirst string
			for ctx.Err() == nil {
				now := time.Now()
				warm := now.Before(warmEnd)
				if !warm {
					if cfg.Requests > 0 {
						if counted.Add(1) > int64(cfg.Requests) {
							break
						}
					} else if !now.Before(end) {
						break
					}
					if measStart.CompareAndSwap(0, now.UnixNano()) {
						cpuStart = sampleCPU(cfg)
					}
				}
				d, err := w.op(ctx, int(next.Add(1)-1))
				if warm {
					continue
				}
				if err != nil {
					if ctx.Err() != nil {
						break
					}
					localErrs++
					if localFirst == "" {
						localFirst = err.Error()
					}
					continue
				}
				local = append(local, d)
			}
			mu.Lock()
			samples = append(samples, local...)
			errs += localErrs
			if firstErr == "" {
				firstErr = localFirst
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	var elapsed time.Duration
	if s := measStart.Load(); s != 0 {
		elapsed = time.Since(time.Unix(0, s))
	}
	r := summarize(w.name, conc, samples, errs, elapsed)
	r.FirstError = firstErr
	if measStart.Load() != 0 {
		cpuPerOp(&r, cpuStart, sampleCPU(cfg))
	}
	return r
}
