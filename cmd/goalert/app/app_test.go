package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/user"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestApp_HealthEndpoints(t *testing.T) {
	h := apptest.New(t)
	if code, body := get(t, h.URL+"/health"); code != http.StatusOK {
		t.Errorf("/health: got %d %q, want 200", code, body)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		code, body := get(t, h.URL+"/health/engine")
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/health/engine: got %d %q after 5s, want 200 once a cycle completed", code, body)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code, _ := get(t, h.URL+"/no/such/path"); code != http.StatusNotFound {
		t.Errorf("unknown path: got %d, want 404", code)
	}
}

func TestApp_APIOnlyHasNoEngine(t *testing.T) {
	h := apptest.New(t, apptest.APIOnly())
	code, body := get(t, h.URL+"/health/engine")
	if code != http.StatusInternalServerError || !strings.Contains(body, "api-only") {
		t.Errorf("/health/engine in api-only mode: got %d %q, want 500 naming api-only", code, body)
	}
	if code, _ := get(t, h.URL+"/health"); code != http.StatusOK {
		t.Errorf("/health in api-only mode: got %d, want 200", code)
	}
}

func TestApp_ShutdownIsGraceful(t *testing.T) {
	h := apptest.New(t)
	h.Stop()
	if _, err := http.Get(h.URL + "/health"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

// A command's effect is visible in the read model once WaitFor returns for
// the command's checkpoint: callers read their own writes.
func TestApp_ReadYourWrites(t *testing.T) {
	h := apptest.New(t)
	ctx := context.Background()
	id, res, err := h.Commands.CreateUser(ctx, commands.CreateUser{
		Name: "Ann", Email: "ann@example.com", Role: user.RoleAdmin, Username: "ann", Password: "correct horse",
	})
	if err != nil {
		t.Fatalf("create user: %v", err)
	}
	wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := h.Runner.WaitFor(wctx, res.Last, "users"); err != nil {
		t.Fatalf("wait for users projection: %v", err)
	}
	u, err := h.Users.ByUsername(ctx, "ann")
	if err != nil {
		t.Fatalf("read user back: %v", err)
	}
	if u.ID != id || u.Role != "admin" || u.Email != "ann@example.com" || !u.CreatedAt.Equal(apptest.Start) {
		t.Errorf("user read back: got %+v, want id %s, admin, ann@example.com, created at the harness clock", u, id)
	}
}

// Two instances on one database: an API-only instance's write reaches the
// read model built by the engine instance, through the cross-process
// wake-up.
func TestApp_TwoInstancesShareTheLog(t *testing.T) {
	engine := apptest.New(t)
	api := apptest.New(t, apptest.APIOnly(), apptest.DBURL(engine.DBURL))
	ctx := context.Background()
	_, res, err := api.Commands.CreateUser(ctx, commands.CreateUser{Name: "Bob", Role: user.RoleUser, Username: "bob", Password: "hunter2hunter2"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := engine.Runner.WaitFor(wctx, res.Last, "users"); err != nil {
		t.Fatalf("engine instance did not project the API instance's write: %v", err)
	}
	if _, err := engine.Users.ByUsername(ctx, "bob"); err != nil {
		t.Fatalf("read model on the engine instance: %v", err)
	}
	// The fallback poll is 500 ms; the NOTIFY relay should be much faster.
	if d := time.Since(start); d > 400*time.Millisecond {
		t.Errorf("cross-instance projection took %v; want well under the 500ms fallback poll", d)
	}
}
