package app_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/oncallhq/goalert/cmd/goalert/app"
	"github.com/oncallhq/goalert/cmd/goalert/app/apptest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/clock"
	"github.com/oncallhq/goalert/domain/user"
)

// A user added by another process (as `goalert add-user` does, with no
// notification to the server) can sign in at once: sign-in must not wait
// for the server's read models.
func TestSignIn_RightAfterAnotherProcessAddsTheUser(t *testing.T) {
	h := apptest.New(t)
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, h.DBURL)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	other := commands.New(pool, app.NewStore(), clock.System{})
	if _, _, err := other.CreateUser(ctx, commands.CreateUser{Name: "Fay", Role: user.RoleUser, Username: "fay", Password: "fay-password"}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"username": {"fay"}, "password": {"fay-password"}}
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/api/v2/identity/providers/basic?noRedirect=1", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Referer", h.URL+"/")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || len(body) < 20 {
		t.Fatalf("sign-in right after the user was added: got %d %q, want 200 and a token", resp.StatusCode, body)
	}
}
