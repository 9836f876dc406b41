package webhooktest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oncallhq/goalert/adapters/webhook/webhooktest"
)

// fakeT records a failure instead of ending the test.
type fakeT struct {
	testing.TB
	failed string
}

func (f *fakeT) Helper()                        {}
func (f *fakeT) Fatalf(format string, a ...any) { f.failed = fmt.Sprintf(format, a...) }

func post(t *testing.T, url, key, body string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestServer_replies(t *testing.T) {
	srv := webhooktest.NewServer(t)
	srv.FailNext(2, http.StatusServiceUnavailable)
	var got []int
	for range 3 {
		got = append(got, post(t, srv.URL, "", `{"Type":"Test"}`))
	}
	if fmt.Sprint(got) != "[503 503 200]" {
		t.Errorf("statuses: got %v, want [503 503 200]", got)
	}
	reqs := srv.Wait(t, 3, time.Second)
	if reqs[2].Status != 200 || reqs[0].Status != 503 || reqs[2].Type() != "Test" {
		t.Errorf("recorded: got %+v", reqs)
	}
}

func TestServer_Distinct(t *testing.T) {
	srv := webhooktest.NewServer(t)
	post(t, srv.URL, "a", `{"Type":"Alert"}`)
	post(t, srv.URL, "a", `{"Type":"Alert"}`)
	post(t, srv.URL, "b", `{"Type":"AlertStatus"}`)
	post(t, srv.URL, "", `{"Type":"Alert"}`)
	post(t, srv.URL, "", `{"Type":"Alert"}`)
	if got := srv.CountDistinct("Alert"); got != 3 {
		t.Errorf("distinct alerts: got %d, want 3 (a, and two without a key)", got)
	}
	if got := srv.CountDistinct(""); got != 4 {
		t.Errorf("distinct requests: got %d, want 4", got)
	}
	if got := srv.Deliveries()["a"]; got != 2 {
		t.Errorf("deliveries of a: got %d, want 2", got)
	}
}

func TestServer_Wait_failsTheTest(t *testing.T) {
	srv := webhooktest.NewServer(t)
	post(t, srv.URL, "", `{}`)
	ft := &fakeT{TB: t}
	if got := srv.Wait(ft, 2, 50*time.Millisecond); got != nil || !strings.Contains(ft.failed, "got 1 requests") {
		t.Errorf("Wait for 2 of 1: got %v, failure %q; want a failure saying 1 came", got, ft.failed)
	}
	ft = &fakeT{TB: t}
	srv.Next(ft, time.Second)
	srv.Next(ft, 50*time.Millisecond)
	if ft.failed == "" {
		t.Errorf("Next past the last request: want a failure")
	}
}
