package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/clock"
)

// ingestResult is the summary of the ingest workload.
type ingestResult struct {
	Workload string  `json:"workload"`
	Clients  int     `json:"clients"`
	Accepted int     `json:"accepted"`
	Errors   int     `json:"errors"`
	Seconds  float64 `json:"seconds"`
	Rate     float64 `json:"alerts_per_sec"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`

	lat percentiles
}

func (r ingestResult) String() string {
	return fmt.Sprintf("ingest: clients=%d accepted=%d errors=%d rate=%.0f/s p50=%s p99=%s max=%s",
		r.Clients, r.Accepted, r.Errors, r.Rate, fmtDur(r.lat.P50), fmtDur(r.lat.P99), fmtDur(r.lat.Max))
}

// runIngest drives the generic ingest API with distinct alerts from
// --clients keep-alive connections. Without --url it starts the real
// server in this process on a fresh database, with a service, a generic
// key and the unacknowledged-alerts limit lifted.
func runIngest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("ingest", stderr, &c, true)
	clients := fs.Int("clients", 32, "concurrent HTTP clients")
	target := fs.String("url", "", "base URL of a running server (default: start one in-process)")
	token := fs.String("token", "", "generic integration key of the running server (with --url)")
	warmup := fs.Duration("warmup", time.Second, "load before measuring starts")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of this process (server included when in-process) to the file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := positive(fs, map[string]float64{"clients": float64(*clients)}); err != nil {
		return err
	}
	if *target != "" && *token == "" {
		fmt.Fprintln(stderr, "--token is required with --url")
		return errUsage
	}
	if *target == "" {
		stop, base, tok, err := startServer(ctx, c, stderr)
		if err != nil {
			return err
		}
		defer stop()
		*target, *token = base, tok
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := driveIngest(ctx, *target, *token, *clients, *warmup, c.duration)
	if err != nil {
		return err
	}
	return report(stdout, c.json, res.String(), res)
}

func startServer(ctx context.Context, c common, stderr io.Writer) (stop func(), base, token string, err error) {
	db, err := openDatabase(ctx, c, 4, stderr)
	if err != nil {
		return nil, "", "", err
	}
	db.Pool.Close() // the server opens its own pool
	a, err := app.New(ctx, app.Config{
		DBURL: db.URL, DBMaxOpen: 15, Listen: "127.0.0.1:0", MaxRequestBodyBytes: 262144, MaxRequestHeaderBytes: 4096,
		EngineCycleTime: 5 * time.Second, DataEncryptionKey: "bench", Clock: clock.System{}, Logger: quietLogger(stderr),
	})
	if err != nil {
		db.Close()
		return nil, "", "", err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { _ = a.Run(runCtx); close(done) }()
	stop = func() { cancel(); <-done; db.Close() }

	_, keys, _, err := a.Commands.CreateService(ctx, commands.CreateService{Name: "bench", Keys: []commands.NewKey{{Name: "bench", Type: "generic"}}})
	if err == nil {
		_, err = a.Commands.SetSystemLimit(ctx, "unacked_alerts_per_service", -1)
	}
	if err != nil {
		stop()
		return nil, "", "", fmt.Errorf("set up the service: %w", err)
	}
	return stop, a.URL(), keys[0], nil
}

func driveIngest(ctx context.Context, base, token string, clients int, warmup, duration time.Duration) (ingestResult, error) {
	endpoint := strings.TrimSuffix(base, "/") + "/api/v2/generic/incoming?token=" + url.QueryEscape(token)
	client := &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients},
	}
	var measuring atomic.Bool
	var errs atomic.Int64
	var firstErr firstError
	lats := make([][]time.Duration, clients)
	runCtx, cancel := context.WithTimeout(ctx, warmup+duration)
	defer cancel()
	go func() {
		select {
		case <-time.After(warmup):
			measuring.Store(true)
		case <-runCtx.Done():
		}
	}()
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Go(func() {
			for n := 0; runCtx.Err() == nil; n++ {
				body := url.Values{"summary": {fmt.Sprintf("bench client %d alert %d", i, n)}}.Encode()
				t0 := time.Now()
				err := post(runCtx, client, endpoint, body)
				d := time.Since(t0)
				if runCtx.Err() != nil {
					return
				}
				if err != nil {
					errs.Add(1)
					firstErr.set(err)
					continue
				}
				if measuring.Load() {
					lats[i] = append(lats[i], d)
				}
			}
		})
	}
	wg.Wait()
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return ingestResult{}, fmt.Errorf("no request succeeded: %v", firstErr.get())
	}
	p := summarize(all)
	return ingestResult{
		Workload: "ingest", Clients: clients, Accepted: len(all), Errors: int(errs.Load()),
		Seconds: duration.Seconds(), Rate: float64(len(all)) / duration.Seconds(),
		P50Ms: ms(p.P50), P99Ms: ms(p.P99), MaxMs: ms(p.Max), lat: p,
	}, nil
}

func post(ctx context.Context, c *http.Client, endpoint, body string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return errors.New(resp.Status + ": " + strings.TrimSpace(string(b)))
	}
	return nil
}
