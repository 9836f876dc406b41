package ingest

import (
	"errors"
	"net/url"
	"testing"
)

// checkFuzzResult fails t unless err is nil or of the error type the parser
// documents, and unless every request has a valid action.
func checkFuzzResult(t *testing.T, err error, reqs ...Request) {
	t.Helper()
	var pe *ParseError
	var pdErr *PDError
	if err != nil && !errors.As(err, &pe) && !errors.As(err, &pdErr) {
		t.Fatalf("error %v is a %T, want *ParseError or *PDError", err, err)
	}
	for i, r := range reqs {
		if err == nil && !r.Action.Valid() {
			t.Fatalf("request %d has action %q, want a valid one", i, r.Action)
		}
	}
}

func FuzzGeneric(f *testing.F) {
	f.Add("", "summary=CPU+high&details=load+15&dedup=web-1&meta=host%3Dweb-1", "", []byte(nil))
	f.Add(ctForm, "summary=q", "summary=f&action=close&meta=a%3Db%3Dc", []byte(nil))
	f.Add(ctJSON, "summary=q&meta=x%3Dy", "", []byte(`{"summary":"s\r\nt","action":"close","meta":{"k":"v"}}`))
	f.Add("application/json; charset=utf-8", "", "", []byte(`{"meta":{"n":1}}`))
	f.Add(ctJSON, "meta=orphan", "", []byte(`{"summary":"x",}`))
	f.Add("Application/JSON", "", "", []byte(`[null]`))
	f.Fuzz(func(t *testing.T, contentType, rawQuery, rawForm string, body []byte) {
		q, _ := url.ParseQuery(rawQuery)
		form, _ := url.ParseQuery(rawForm)
		got, err := Generic(Input{ContentType: contentType, Query: q, Form: form, Body: body})
		checkFuzzResult(t, err, got)
		if err == nil && (got.Action != ActionTrigger && got.Action != ActionClose) {
			t.Fatalf("Generic() action = %q, want trigger or close", got.Action)
		}
	})
}

func FuzzAlertmanager(f *testing.F) {
	for _, seed := range []string{
		amInstanceDown,
		amHighLatency,
		amDiskResolved,
		`{"status":"firing","groupKey":"g","alerts":[{"labels":{"alertname":"A"}},{"labels":{"alertname":"B"}}]}`,
		`{"version":"3","groupKey":"g","status":"firing"}`,
		`{"version":"4","groupKey":"g","status":"pending"}`,
		`{"status":"firing",`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := Alertmanager(Input{ContentType: ctJSON, Body: body})
		checkFuzzResult(t, err, got)
		if err == nil && got.Dedup == "" {
			t.Fatalf("Alertmanager() accepted a body without groupKey")
		}
	})
}

func FuzzGrafana(f *testing.F) {
	for _, seed := range []string{
		grafanaMemory,
		`{"ruleName":"CPU","state":"alerting","message":"m","ruleUrl":"https://g/d"}`,
		`{"ruleName":"CPU","state":"no_data"}`,
		`{"version":"1","alerts":[{"status":"firing"}]}`,
		`{"version":"2"}`,
	} {
		f.Add([]byte(seed), "dedup=x")
	}
	f.Fuzz(func(t *testing.T, body []byte, rawQuery string) {
		q, _ := url.ParseQuery(rawQuery)
		got, err := Grafana(Input{Query: q, Body: body})
		checkFuzzResult(t, err, got...)
		if len(got) > MaxGrafanaAlerts {
			t.Fatalf("Grafana() returned %d requests, want at most %d", len(got), MaxGrafanaAlerts)
		}
	})
}

func FuzzPagerDutyV2(f *testing.F) {
	for _, seed := range []string{
		pdDiskTrigger,
		pdAlertmanagerResolve,
		`{"routing_key":"k","event_action":"acknowledge","dedup_key":"d"}`,
		`{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"info"}}`,
		`{"event_action":"resolve"}`,
		`{"routing_key":"k","event_action":"trigger","payload":{"custom_details":[1,{"b":2,"a":1e400}]}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := PagerDutyV2(body)
		checkFuzzResult(t, err, got.Request)
		if err == nil && (got.RoutingKey == "" || got.DedupKey == "" || got.Request.Dedup != got.DedupKey) {
			t.Fatalf("PagerDutyV2() = %+v: want a routing key and matching dedup keys", got)
		}
	})
}

func FuzzSite24x7(f *testing.F) {
	f.Add(ctJSON, []byte(site24x7Down), "")
	f.Add(ctForm, []byte(nil), "MONITORNAME=x&STATUS=up")
	f.Fuzz(func(t *testing.T, contentType string, body []byte, rawForm string) {
		form, _ := url.ParseQuery(rawForm)
		got, err := Site24x7(Input{ContentType: contentType, Form: form, Body: body})
		checkFuzzResult(t, err, got)
	})
}
