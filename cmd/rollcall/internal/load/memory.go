package load

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// memSampler follows the server's resident memory every 100 ms while it runs: from
// /proc/<pid>/status when the server's pid is known, else from process_resident_memory_bytes
// on its /metrics (the Prometheus process collector).
type memSampler struct {
	read   func(ctx context.Context) (int64, error)
	cancel context.CancelFunc
	done   chan struct{}

	mu      sync.Mutex
	peak    int64
	samples int
	err     error
}

// memReader returns how to read the server's resident memory.
func memReader(c *client, cfg *Config) func(ctx context.Context) (int64, error) {
	if cfg.ServerPID > 0 {
		path := fmt.Sprintf("/proc/%d/status", cfg.ServerPID)
		return func(context.Context) (int64, error) {
			b, err := os.ReadFile(path)
			if err != nil {
				return 0, err
			}
			return procStatusKB(b, "VmRSS")
		}
	}
	return func(ctx context.Context) (int64, error) {
		b, err := c.get(ctx, cfg.MetricsURL)
		if err != nil {
			return 0, err
		}
		return metricValue(b, "process_resident_memory_bytes")
	}
}

func startMemSampler(ctx context.Context, read func(context.Context) (int64, error)) *memSampler {
	ctx, cancel := context.WithCancel(ctx)
	m := &memSampler{read: read, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			m.sample(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return m
}

func (m *memSampler) sample(ctx context.Context) {
	v, err := m.read(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		if ctx.Err() == nil && m.err == nil {
			m.err = err
		}
		return
	}
	m.samples++
	m.peak = max(m.peak, v)
}

// stop ends sampling, takes one last sample and returns the peak in bytes and the number of
// samples; the error is the first failed read, if no read succeeded.
func (m *memSampler) stop(ctx context.Context) (peak int64, samples int, err error) {
	m.cancel()
	<-m.done
	m.sample(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.samples == 0 {
		return 0, 0, m.err
	}
	return m.peak, m.samples, nil
}

// metricValue reads an untyped or gauge sample without labels from a Prometheus text
// exposition.
func metricValue(exposition []byte, name string) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(exposition))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, name)
		if !ok || !strings.HasPrefix(rest, " ") {
			continue
		}
		f, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			return 0, fmt.Errorf("metric %s: %w", name, err)
		}
		return int64(f), nil
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("metric %s not exposed", name)
}

// procStatusKB reads a "Key:   123 kB" line of /proc/<pid>/status, in bytes.
func procStatusKB(status []byte, key string) (int64, error) {
	for line := range strings.Lines(string(status)) {
		rest, ok := strings.CutPrefix(line, key+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			break
		}
		kb, err := strconv.ParseInt(f[0], 10, 64)
		return kb << 10, err
	}
	return 0, errors.New("no " + key + " in /proc status")
}
