package slacktest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"
)

// call posts body to the fake's Web API method with token and decodes the
// answer.
func call(t *testing.T, s *Server, method, token, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/"+method, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", method, err)
	}
	defer resp.Body.Close()
	var ans map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&ans)
	return resp.StatusCode, ans
}

func TestServer_postAndUpdate(t *testing.T) {
	s := NewServer(t, "xoxb-1")
	s.SetUnknownChannel("CGONE")

	if _, ans := call(t, s, "chat.postMessage", "xoxb-2", `{"channel":"C1","text":"hi"}`); ans["error"] != "invalid_auth" {
		t.Errorf("wrong token: got %v, want invalid_auth", ans)
	}
	if _, ans := call(t, s, "chat.postMessage", "", `{"channel":"C1","text":"hi"}`); ans["error"] != "not_authed" {
		t.Errorf("no token: got %v, want not_authed", ans)
	}
	if _, ans := call(t, s, "chat.postMessage", "xoxb-1", `{"channel":"CGONE","text":"hi"}`); ans["error"] != "channel_not_found" {
		t.Errorf("unknown channel: got %v, want channel_not_found", ans)
	}
	_, ans := call(t, s, "chat.postMessage", "xoxb-1", `{"channel":"U42","text":"hi"}`)
	if ans["ok"] != true || ans["channel"] != "D42" || ans["ts"] == "" {
		t.Fatalf("DM post: got %v, want ok in D42 with a ts", ans)
	}
	ts, _ := ans["ts"].(string)
	if _, ans := call(t, s, "chat.update", "xoxb-1", `{"channel":"D42","ts":"`+ts+`","text":"edited"}`); ans["ok"] != true {
		t.Errorf("update: got %v, want ok", ans)
	}
	if _, ans := call(t, s, "chat.update", "xoxb-1", `{"channel":"D42","ts":"9.9","text":"edited"}`); ans["error"] != "message_not_found" {
		t.Errorf("update of an unknown message: got %v, want message_not_found", ans)
	}
	if _, ans := call(t, s, "auth.test", "xoxb-1", `{}`); ans["ok"] != true || ans["team_id"] != TeamID {
		t.Errorf("auth.test: got %v, want ok for %s", ans, TeamID)
	}

	msgs := s.Messages()
	if len(msgs) != 2 || msgs[0].Method != "chat.postMessage" || msgs[1].Method != "chat.update" || msgs[1].Text != "edited" {
		t.Errorf("messages: got %+v, want the post then the update", msgs)
	}
	if n := len(s.Calls()); n != 7 {
		t.Errorf("calls: got %d, want 7", n)
	}
}

func TestServer_failureInjection(t *testing.T) {
	s := NewServer(t, "xoxb-1")
	s.RateLimitNext(1, 3*time.Second)
	s.FailNext(1, http.StatusBadGateway)
	s.ErrorNext(1, "fatal_error")

	req, _ := http.NewRequest(http.MethodPost, s.URL+"/api/chat.postMessage", strings.NewReader(`{"channel":"C1","text":"x"}`))
	req.Header.Set("Authorization", "Bearer xoxb-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("first call: got %d, Retry-After %q; want 429, 3", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if code, _ := call(t, s, "chat.postMessage", "xoxb-1", `{"channel":"C1","text":"x"}`); code != http.StatusBadGateway {
		t.Errorf("second call: got %d, want 502", code)
	}
	if code, ans := call(t, s, "chat.postMessage", "xoxb-1", `{"channel":"C1","text":"x"}`); code != 200 || ans["error"] != "fatal_error" {
		t.Errorf("third call: got %d %v, want 200 fatal_error", code, ans)
	}
	if _, ans := call(t, s, "chat.postMessage", "xoxb-1", `{"channel":"C1","text":"x"}`); ans["ok"] != true {
		t.Errorf("fourth call: got %v, want ok", ans)
	}
	if n := len(s.Messages()); n != 1 {
		t.Errorf("messages: got %d, want only the fourth call's", n)
	}
}

func TestServer_responseURL(t *testing.T) {
	s := NewServer(t, "xoxb-1")
	u := s.ResponseURL()
	if u2 := s.ResponseURL(); u2 == u {
		t.Errorf("ResponseURL: got %s twice, want distinct URLs", u)
	}
	go func() {
		time.Sleep(20 * time.Millisecond)
		body := `{"replace_original":true,"text":"done","blocks":[{"type":"actions","elements":[{"type":"button","action_id":"a","value":"1","text":{"type":"plain_text","text":"A"}}]}]}`
		resp, err := http.Post(u, "application/json", bytes.NewReader([]byte(body)))
		if err == nil {
			resp.Body.Close()
		}
	}()
	r := s.WaitForResponse(t, func(r Response) bool { return r.URL == u })
	if !r.ReplaceOriginal || r.Text != "done" {
		t.Errorf("response: got %+v, want replace_original with text done", r)
	}
	if b, ok := r.Button("a"); !ok || b.Value != "1" || b.Text != "A" {
		t.Errorf("button a: got %+v, %v", b, ok)
	}
	if bt := r.BlockText(); bt != "A" {
		t.Errorf("BlockText: got %q, want %q", bt, "A")
	}
}

// TestServer_waitTimesOut checks that a wait for what never comes fails
// the test instead of hanging.
func TestServer_waitTimesOut(t *testing.T) {
	s := NewServer(t, "xoxb-1")
	s.Wait = 50 * time.Millisecond
	ft := &fatalRecorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.WaitForMessage(ft, nil)
	}()
	<-done
	if !ft.failed {
		t.Error("WaitForMessage with nothing posted: did not fail")
	}
}

// fatalRecorder stands in for a testing.TB whose Fatalf ends the
// goroutine, recording that it was called.
type fatalRecorder struct {
	testing.TB
	failed bool
}

func (f *fatalRecorder) Helper() {}
func (f *fatalRecorder) Fatalf(string, ...any) {
	f.failed = true
	runtime.Goexit()
}
