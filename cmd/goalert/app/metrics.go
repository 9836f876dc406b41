package app

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are exported on --listen-prometheus. Names follow GoAlert's where
// the meaning is the same, so existing dashboards keep working.
type metrics struct {
	reg          *prometheus.Registry
	cycles       prometheus.Counter
	cycleSeconds prometheus.Histogram
	writes       prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		cycles: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goalert_engine_cycle_total", Help: "Engine cycles completed.",
		}),
		cycleSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "goalert_engine_cycle_duration_seconds", Help: "Time an engine cycle took.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 8),
		}),
		writes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "goalert_event_transactions_total", Help: "Transactions that appended events to the log.",
		}),
	}
	m.reg.MustRegister(m.cycles, m.cycleSeconds, m.writes,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// serveMetrics serves /metrics on l until ctx ends.
func serveMetrics(ctx context.Context, l net.Listener, reg *prometheus.Registry) error {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	if err := srv.Serve(l); err != nil && err != http.ErrServerClosed {
		return fmt.Errorf("serve metrics: %w", err)
	}
	return nil
}
