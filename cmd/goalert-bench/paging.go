package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/escalation"
	"github.com/oncallhq/goalert/domain/notification"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// sink is a webhook receiver that notes when each message arrived.
type sink struct {
	URL  string
	mu   sync.Mutex
	cond *sync.Cond
	// alerts maps "<path> <alert id>" to the first arrival.
	alerts map[string]time.Time
	codes  map[string]string // path -> verification code
	srv    *http.Server
}

func newSink() (*sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{URL: "http://" + l.Addr().String(), alerts: map[string]time.Time{}, codes: map[string]string{}}
	s.cond = sync.NewCond(&s.mu)
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		at := time.Now()
		var p struct {
			Type    string
			AlertID int64
			Code    json.RawMessage
		}
		_ = json.NewDecoder(r.Body).Decode(&p)
		s.mu.Lock()
		switch p.Type {
		case "Alert":
			k := r.URL.Path + " " + strconv.FormatInt(p.AlertID, 10)
			if _, ok := s.alerts[k]; !ok {
				s.alerts[k] = at
			}
		case "Verification":
			s.codes[r.URL.Path] = strings.Trim(string(p.Code), `"`)
		}
		s.cond.Broadcast()
		s.mu.Unlock()
	})}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *sink) close() { _ = s.srv.Close() }

// wait waits until cond holds or the deadline passes.
func (s *sink) wait(deadline time.Time, cond func() bool) bool {
	go func() {
		time.Sleep(time.Until(deadline))
		s.mu.Lock()
		s.cond.Broadcast()
		s.mu.Unlock()
	}()
	s.mu.Lock()
	defer s.mu.Unlock()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		s.cond.Wait()
	}
	return true
}

// pagingServer starts the real server on a fresh database with webhooks
// enabled and a sink to receive them.
type pagingServer struct {
	a    *app.App
	sink *sink
	stop func()
}

func startPagingServer(ctx context.Context, c common, stderr io.Writer) (*pagingServer, error) {
	db, err := openDatabase(ctx, c, 4, stderr)
	if err != nil {
		return nil, err
	}
	db.Pool.Close()
	a, err := app.New(ctx, app.Config{
		DBURL: db.URL, DBMaxOpen: 20, Listen: "127.0.0.1:0", MaxRequestBodyBytes: 262144, MaxRequestHeaderBytes: 4096,
		EngineCycleTime: 5 * time.Second, DataEncryptionKey: "bench", Clock: clock.System{}, Logger: quietLogger(stderr),
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan struct{})
	go func() { _ = a.Run(runCtx); close(done) }()
	s, err := newSink()
	if err != nil {
		cancel()
		<-done
		db.Close()
		return nil, err
	}
	ps := &pagingServer{a: a, sink: s, stop: func() { cancel(); <-done; s.close(); db.Close() }}
	noSeal := func(string) (string, error) { return "", errors.New("no secrets here") }
	if _, err := a.Commands.SetConfig(ctx, map[string]string{"Webhook.Enable": "true"}, noSeal); err == nil {
		_, err = a.Commands.SetSystemLimit(ctx, "unacked_alerts_per_service", -1)
	}
	if err != nil {
		ps.stop()
		return nil, fmt.Errorf("configure: %w", err)
	}
	time.Sleep(time.Second) // every instance rereads the admin config within 500 ms
	return ps, nil
}

// user creates a user with a verified webhook contact method at the
// sink's path /<name> and a rule at 0 minutes.
func (ps *pagingServer) user(ctx context.Context, name string) (string, error) {
	h := ps.a.Commands
	uid, _, err := h.CreateUser(ctx, commands.CreateUser{Name: name, Role: user.RoleUser})
	if err != nil {
		return "", err
	}
	cm, _, err := h.AddContactMethod(ctx, commands.NewContactMethod{UserID: uid, Name: "hook",
		Dest: notification.Dest{Type: notification.DestWebhook, Args: map[string]string{notification.ArgWebhookURL: ps.sink.URL + "/" + name}}})
	if err != nil {
		return "", err
	}
	if _, err := h.SendVerification(ctx, uid, cm); err != nil {
		return "", err
	}
	var code string
	if !ps.sink.wait(time.Now().Add(30*time.Second), func() bool { code = ps.sink.codes["/"+name]; return code != "" }) {
		return "", fmt.Errorf("no verification code for %s", name)
	}
	if _, err := h.VerifyContactMethod(ctx, uid, cm, code); err != nil {
		return "", err
	}
	_, _, err = h.AddNotificationRule(ctx, uid, cm, 0)
	return uid, err
}

// service creates a service with a generic key whose policy pages uid,
// then (second step, after delay minutes) uid again.
func (ps *pagingServer) service(ctx context.Context, name, uid string, delay int) (string, error) {
	act := []events.Dest{{Type: escalation.ActionUser, Args: map[string]string{"user_id": uid}}}
	ep, _, _, err := ps.a.Commands.CreatePolicy(ctx, commands.CreatePolicy{Name: name, Steps: []commands.NewStep{
		{DelayMinutes: delay, Actions: act}, {DelayMinutes: delay, Actions: act}}})
	if err != nil {
		return "", err
	}
	_, keys, _, err := ps.a.Commands.CreateService(ctx, commands.CreateService{Name: name, EscalationPolicyID: ep,
		Keys: []commands.NewKey{{Name: "k", Type: "generic"}}})
	if err != nil {
		return "", err
	}
	return keys[0], nil
}

// triggerAlert posts a generic trigger and returns the alert id.
func (ps *pagingServer) trigger(ctx context.Context, client *http.Client, key, summary string) (int64, error) {
	form := url.Values{"token": {key}, "summary": {summary}}
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, ps.a.URL()+"/api/v2/generic/incoming", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct{ AlertID int64 }
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("trigger: %s", resp.Status)
	}
	return out.AlertID, json.NewDecoder(resp.Body).Decode(&out)
}

// startOneUser starts the server with one user ("oncall", at the sink's
// /oncall) paged by a service's two-step policy (delay minutes), and
// returns the service's generic key.
func startOneUser(ctx context.Context, c common, stderr io.Writer, name string, delay int) (*pagingServer, string, error) {
	ps, err := startPagingServer(ctx, c, stderr)
	if err != nil {
		return nil, "", err
	}
	uid, err := ps.user(ctx, "oncall")
	if err == nil {
		var key string
		if key, err = ps.service(ctx, name, uid, delay); err == nil {
			return ps, key, nil
		}
	}
	ps.stop()
	return nil, "", err
}

type pageResult struct {
	Workload string  `json:"workload"`
	Alerts   int     `json:"alerts"`
	P50Ms    float64 `json:"p50_ms"`
	P90Ms    float64 `json:"p90_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
	lat      percentiles
}

// runPage measures page latency: from the generic API's 2xx to the webhook
// receiver getting the page, one alert at a time at a steady pace.
func runPage(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("page", stderr, &c, false)
	n := fs.Int("alerts", 300, "alerts to raise")
	rate := fs.Float64("rate", 20, "alerts per second")
	if err := parse(fs, args); err != nil {
		return err
	}
	ps, key, err := startOneUser(ctx, c, stderr, "page", 60)
	if err != nil {
		return err
	}
	defer ps.stop()
	client := &http.Client{}
	sent := map[int64]time.Time{}
	tick := time.NewTicker(time.Duration(float64(time.Second) / *rate))
	defer tick.Stop()
	for i := range *n {
		<-tick.C
		id, err := ps.trigger(ctx, client, key, fmt.Sprintf("page latency %d", i))
		if err != nil {
			return err
		}
		sent[id] = time.Now()
	}
	ps.sink.wait(time.Now().Add(30*time.Second), func() bool { return len(ps.sink.alerts) >= *n })
	var lat []time.Duration
	ps.sink.mu.Lock()
	for id, t0 := range sent {
		if at, ok := ps.sink.alerts["/oncall "+strconv.FormatInt(id, 10)]; ok {
			lat = append(lat, at.Sub(t0))
		}
	}
	ps.sink.mu.Unlock()
	if len(lat) < *n {
		return fmt.Errorf("only %d of %d pages arrived", len(lat), *n)
	}
	res := pageResult{Workload: "page", Alerts: len(lat), lat: summarize(lat)}
	res.P50Ms, res.P90Ms, res.P99Ms, res.MaxMs = ms(res.lat.P50), ms(res.lat.P90), ms(res.lat.P99), ms(res.lat.Max)
	return report(stdout, c.json, fmt.Sprintf("page: alerts=%d p50=%s p90=%s p99=%s max=%s",
		res.Alerts, fmtDur(res.lat.P50), fmtDur(res.lat.P90), fmtDur(res.lat.P99), fmtDur(res.lat.Max)), res)
}

type fanoutResult struct {
	Workload string  `json:"workload"`
	Alerts   int     `json:"alerts"`
	Seconds  float64 `json:"seconds"`
	P99Ms    float64 `json:"p99_ms"`
}

// runFanout raises one alert for each of --users services, each paging its
// own user's webhook, all at once, and times until every page arrived.
func runFanout(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("fanout", stderr, &c, false)
	users := fs.Int("users", 1000, "distinct users, services and alerts")
	clients := fs.Int("clients", 32, "concurrent HTTP clients raising the alerts")
	if err := parse(fs, args); err != nil {
		return err
	}
	ps, err := startPagingServer(ctx, c, stderr)
	if err != nil {
		return err
	}
	defer ps.stop()
	keys := make([]string, *users)
	errc := make(chan error, *users)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for i := range *users {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			uid, err := ps.user(ctx, "u"+strconv.Itoa(i))
			if err == nil {
				keys[i], err = ps.service(ctx, "svc"+strconv.Itoa(i), uid, 60)
			}
			if err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errc:
		return fmt.Errorf("set up: %w", err)
	default:
	}
	start := time.Now()
	next := make(chan int)
	var sent sync.Map
	for range *clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			client := &http.Client{}
			for i := range next {
				id, err := ps.trigger(ctx, client, keys[i], "fan-out")
				if err != nil {
					errc <- err
					continue
				}
				sent.Store(i, [2]any{id, time.Now()})
			}
		}()
	}
	for i := range *users {
		next <- i
	}
	close(next)
	wg.Wait()
	if !ps.sink.wait(time.Now().Add(60*time.Second), func() bool { return len(ps.sink.alerts) >= *users }) {
		return fmt.Errorf("only %d of %d pages arrived within 60s", len(ps.sink.alerts), *users)
	}
	var last time.Time
	var lat []time.Duration
	ps.sink.mu.Lock()
	sent.Range(func(k, v any) bool {
		i, p := k.(int), v.([2]any)
		at := ps.sink.alerts["/u"+strconv.Itoa(i)+" "+strconv.FormatInt(p[0].(int64), 10)]
		lat = append(lat, at.Sub(p[1].(time.Time)))
		if at.After(last) {
			last = at
		}
		return true
	})
	ps.sink.mu.Unlock()
	res := fanoutResult{Workload: "fanout", Alerts: *users, Seconds: last.Sub(start).Seconds(), P99Ms: ms(summarize(lat).P99)}
	return report(stdout, c.json, fmt.Sprintf("fanout: alerts=%d all delivered in %.2fs (page p99=%s)",
		res.Alerts, res.Seconds, fmtDur(summarize(lat).P99)), res)
}

type timerResult struct {
	Workload string  `json:"workload"`
	Alerts   int     `json:"alerts"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	MaxMs    float64 `json:"max_ms"`
}

// runTimers measures escalation timer accuracy: alerts raised over
// --spread escalate to their second step after 1 minute; lateness is the
// time between the second step's due time and its escalation, from the
// event log.
func runTimers(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c common
	fs := newFlags("timers", stderr, &c, false)
	n := fs.Int("alerts", 200, "alerts to raise")
	spread := fs.Duration("spread", 20*time.Second, "time over which the alerts are raised")
	if err := parse(fs, args); err != nil {
		return err
	}
	ps, key, err := startOneUser(ctx, c, stderr, "timers", 1)
	if err != nil {
		return err
	}
	defer ps.stop()
	client := &http.Client{}
	for i := range *n {
		if _, err := ps.trigger(ctx, client, key, fmt.Sprintf("timer %d", i)); err != nil {
			return err
		}
		time.Sleep(*spread / time.Duration(*n))
	}
	fmt.Fprintf(stderr, "waiting for the 1-minute escalations...\n")
	time.Sleep(time.Minute + 5*time.Second)
	rows, err := ps.a.Pool.Query(ctx, `SELECT (s1.occurred_at - s0.occurred_at - interval '1 minute')
		FROM events s0 JOIN events s1 ON s1.stream_id = s0.stream_id
		WHERE s0.event_name = 'alert.escalated' AND s1.event_name = 'alert.escalated'
		  AND (s0.payload->>'step_number')::int = 0 AND (s1.payload->>'step_number')::int = 1`)
	if err != nil {
		return err
	}
	var late []time.Duration
	for rows.Next() {
		var d time.Duration
		if err := rows.Scan(&d); err != nil {
			return err
		}
		late = append(late, d)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(late) < *n {
		return fmt.Errorf("only %d of %d alerts escalated to step 2", len(late), *n)
	}
	p := summarize(late)
	res := timerResult{Workload: "timers", Alerts: len(late), P50Ms: ms(p.P50), P99Ms: ms(p.P99), MaxMs: ms(p.Max)}
	return report(stdout, c.json, fmt.Sprintf("timers: alerts=%d lateness p50=%s p99=%s max=%s",
		res.Alerts, fmtDur(p.P50), fmtDur(p.P99), fmtDur(p.Max)), res)
}
