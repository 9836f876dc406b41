package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/projections"
)

// postTrigger is trigger for goroutines other than the test's: it reports
// failures instead of stopping the test.
func postTrigger(h *apptest.Harness, key, summary, dedup string) (genericReply, error) {
	form := url.Values{"token": {key}, "summary": {summary}, "dedup": {dedup}}
	req, err := http.NewRequest(http.MethodPost, h.URL+"/api/v2/generic/incoming", strings.NewReader(form.Encode()))
	if err != nil {
		return genericReply{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		return genericReply{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return genericReply{}, err
	}
	if resp.StatusCode/100 != 2 {
		return genericReply{}, fmt.Errorf("trigger %q: got %d %s", summary, resp.StatusCode, body)
	}
	var g genericReply
	if err := json.Unmarshal(body, &g); err != nil || g.AlertID <= 0 {
		return g, fmt.Errorf("trigger %q: reply %s (%v) names no alert", summary, body, err)
	}
	return g, nil
}

// newestAlert returns the id of the newest alert GraphQL lists, 0 when it
// lists none, reporting failures instead of stopping the test.
func newestAlert(h *apptest.Harness, token string) (int64, error) {
	body, _ := json.Marshal(map[string]any{"query": `{ alerts(input: {first: 1}) { nodes { alertID } } }`})
	req, err := http.NewRequest(http.MethodPost, h.URL+"/api/graphql", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := httpClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var out struct {
		Data struct {
			Alerts struct{ Nodes []struct{ AlertID int64 } }
		}
		Errors []gqlError
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK || len(out.Errors) > 0 {
		return 0, fmt.Errorf("list alerts: got %d, errors %+v", resp.StatusCode, out.Errors)
	}
	if len(out.Data.Alerts.Nodes) == 0 {
		return 0, nil
	}
	return out.Data.Alerts.Nodes[0].AlertID, nil
}

// `goalert replay` run by another process against the running server,
// while a monitoring tool keeps raising alerts through the generic
// endpoint: the alert list a person sees never loses alerts during the
// replay, and afterwards holds every alert the endpoint accepted, exactly
// once, each with its log.
func TestReplay_WhileIngestContinuesLosesNothing(t *testing.T) {
	t.Parallel()
	h := apptest.New(t)
	ctx := context.Background()
	admin := newAccount(t, h, "Admin Ann", "ann", user.RoleAdmin)
	if _, err := h.Commands.SetSystemLimit(ctx, "unacked_alerts_per_service", -1); err != nil {
		t.Fatal(err)
	}
	_, keys := newService(t, h, "Replayed", "generic")
	key := keys[0]

	// accepted maps each alert the endpoint accepted to the duplicates of
	// it the endpoint suppressed.
	var mu sync.Mutex
	accepted := map[int64]int{}
	record := func(g genericReply, summary string) error {
		mu.Lock()
		defer mu.Unlock()
		_, seen := accepted[g.AlertID]
		switch {
		case g.IsNew && seen:
			return fmt.Errorf("trigger %q: alert %d reported new twice", summary, g.AlertID)
		case !g.IsNew && !seen:
			return fmt.Errorf("trigger %q: duplicate of alert %d, which was never reported new", summary, g.AlertID)
		case !g.IsNew:
			accepted[g.AlertID]++
		default:
			accepted[g.AlertID] = 0
		}
		return nil
	}
	for i := 0; i < 150; i++ {
		s := fmt.Sprint("seeded ", i)
		g, err := postTrigger(h, key, s, s)
		if err == nil {
			err = record(g, s)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	settle(t, h)

	stop := make(chan struct{})
	var ingest, polls sync.WaitGroup
	for w := 0; w < 3; w++ {
		ingest.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				// Every fourth trigger repeats the one before, which the
				// endpoint suppresses as a duplicate; more than 5 s after
				// the alert was raised, it logs the duplicate.
				s, dedup := fmt.Sprintf("ingest %d-%d", w, i), fmt.Sprintf("ingest %d-%d", w, i)
				if i%4 == 3 {
					dedup = fmt.Sprintf("ingest %d-%d", w, i-1)
					h.Clock.Advance(6 * time.Second)
				}
				g, err := postTrigger(h, key, s, dedup)
				if err == nil {
					err = record(g, s)
				}
				if err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	var reads int
	polls.Go(func() {
		var prev int64
		for {
			select {
			case <-stop:
				return
			default:
			}
			id, err := newestAlert(h, admin.Token)
			if err != nil {
				t.Errorf("alert list during the replay: %v", err)
				return
			}
			if id < prev {
				t.Errorf("during the replay the alert list's newest alert went from %d back to %d", prev, id)
				return
			}
			prev = id
			reads++
		}
	})

	// The replay, as `goalert replay` runs it: another process, with a
	// pool of its own, rebuilding each read model in turn (alerts twice,
	// first and last) in small batches.
	cfg, err := pgxpool.ParseConfig(h.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	runner := projections.NewRunner(pool, app.NewStore(), slog.New(slog.NewTextHandler(io.Discard, nil)), app.Projections()...)
	for _, name := range []string{"alerts", "users", "services", "alerts"} {
		st, err := runner.Rebuild(ctx, name, 20, nil)
		if err != nil {
			close(stop)
			ingest.Wait()
			polls.Wait()
			t.Fatalf("replay %s: %v", name, err)
		}
		t.Logf("replayed %s: %+v", name, st)
	}
	time.Sleep(200 * time.Millisecond) // ingest goes on after the replay
	close(stop)
	ingest.Wait()
	polls.Wait()
	settle(t, h)

	// Every alert accepted is listed once, with its log: created, then one
	// suppressed duplicate per duplicate trigger.
	listed := map[int64]int{}
	after := ""
	for page := 0; ; page++ {
		var p struct {
			Alerts struct {
				Nodes    []alertView
				PageInfo struct {
					HasNextPage bool
					EndCursor   *string
				}
			}
		}
		mustGQL(t, h, admin.Token, `query($after: String) { alerts(input: {first: 100, after: $after}) {
			nodes { `+alertFields+` } pageInfo { hasNextPage endCursor } } }`, map[string]any{"after": after}, &p)
		for _, a := range p.Alerts.Nodes {
			listed[a.AlertID]++
			dups, ok := accepted[a.AlertID]
			if !ok {
				t.Errorf("alert %d (%q) is listed, but the endpoint accepted no such alert", a.AlertID, a.Summary)
				continue
			}
			msgs := a.messages()
			want := []string{"Created via Generic API"}
			for range dups {
				want = append([]string{"Suppressed duplicate: created via Generic API"}, want...)
			}
			if strings.Join(msgs, "|") != strings.Join(want, "|") {
				t.Errorf("alert %d (%q) log: got %q, want %q", a.AlertID, a.Summary, msgs, want)
			}
		}
		if !p.Alerts.PageInfo.HasNextPage || p.Alerts.PageInfo.EndCursor == nil {
			break
		}
		after = *p.Alerts.PageInfo.EndCursor
	}
	for id := range accepted {
		if listed[id] != 1 {
			t.Errorf("alert %d, accepted by the endpoint, is listed %d times; want once", id, listed[id])
		}
	}
	var lines, alertEvents int
	if err := h.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM alert_log),
		(SELECT count(*) FROM events WHERE starts_with(event_name, 'alert.'))`).Scan(&lines, &alertEvents); err != nil {
		t.Fatal(err)
	}
	if lines != alertEvents {
		t.Errorf("alert log holds %d lines for %d alert events in the log", lines, alertEvents)
	}
	if len(accepted) <= 150 || reads == 0 {
		t.Errorf("%d alerts accepted (150 before the replay) and %d list reads during it; the test needs alerts raised and lists read while it runs", len(accepted), reads)
	}
	t.Logf("%d alerts accepted, %d alert list reads during the replay", len(accepted), reads)
}
