package ingest

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// site24x7Down is a Site24x7 webhook for a monitor going down.
const site24x7Down = `{
  "MONITORNAME": "shop.example.com HTTPS",
  "MONITORTYPE": "URL",
  "MONITORURL": "https://shop.example.com/health",
  "STATUS": "DOWN",
  "INCIDENT_REASON": "Connection timed out",
  "INCIDENT_TIME": "March 2, 2026 9:14 AM CET",
  "FAILED_LOCATIONS": "London,Frankfurt",
  "MONITOR_DASHBOARD_LINK": "https://www.site24x7.com/app/client#/home/monitors/1234567890/Summary",
  "TAGS": ""
}`

const site24x7Details = "Monitor: shop.example.com HTTPS\n" +
	"Dashboard: https://www.site24x7.com/app/client#/home/monitors/1234567890/Summary"

func TestSite24x7(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		query       string
		form        string
		body        string
		want        Request
	}{
		{
			name:        "DOWN triggers",
			contentType: ctJSON,
			body:        site24x7Down,
			want:        Request{Action: ActionTrigger, Summary: "shop.example.com HTTPS", Details: site24x7Details},
		},
		{
			name:  "UP closes, with dedup, no content type",
			query: "token=k&dedup=shop-https",
			body: `{"MONITORNAME":"shop.example.com HTTPS","STATUS":"UP","INCIDENT_REASON":"",
				"MONITOR_DASHBOARD_LINK":"https://www.site24x7.com/app/client#/home/monitors/1234567890/Summary"}`,
			want: Request{Action: ActionClose, Summary: "shop.example.com HTTPS", Details: site24x7Details, Dedup: "shop-https"},
		},
		{
			name:        "CRITICAL triggers",
			contentType: ctJSON,
			body:        `{"MONITORNAME":"db-1 disk","STATUS":"CRITICAL"}`,
			want:        Request{Action: ActionTrigger, Summary: "db-1 disk", Details: "Monitor: db-1 disk"},
		},
		{
			name:        "trouble in lower case triggers",
			contentType: ctJSON,
			body:        `{"MONITORNAME":"db-1 disk","STATUS":" trouble "}`,
			want:        Request{Action: ActionTrigger, Summary: "db-1 disk", Details: "Monitor: db-1 disk"},
		},
		{
			name:        "form fields",
			contentType: ctForm,
			query:       "dedup=q",
			form:        "MONITORNAME=api+check&STATUS=DOWN&MONITOR_DASHBOARD_LINK=https%3A%2F%2Fwww.site24x7.com%2Fm%2F1",
			want: Request{
				Action:  ActionTrigger,
				Summary: "api check",
				Details: "Monitor: api check\nDashboard: https://www.site24x7.com/m/1",
				Dedup:   "q",
			},
		},
		{
			name:        "monitor name folded",
			contentType: ctJSON,
			body:        `{"MONITORNAME":"api\ncheck","STATUS":"DOWN"}`,
			want:        Request{Action: ActionTrigger, Summary: "api check", Details: "Monitor: api\ncheck"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{ContentType: tt.contentType, Query: query(t, tt.query), Body: []byte(tt.body)}
			if tt.form != "" {
				in.Form = query(t, tt.form)
			}
			got, err := Site24x7(in)
			if err != nil {
				t.Fatalf("Site24x7() error = %v, want nil", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Site24x7() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSite24x7UpMatchesDown checks that, without a dedup parameter, the UP
// notification carries the summary and details of the DOWN one, so the
// domain's automatic dedup key closes the alert DOWN opened.
func TestSite24x7UpMatchesDown(t *testing.T) {
	down, err := Site24x7(Input{Body: []byte(site24x7Down)})
	if err != nil {
		t.Fatalf("Site24x7(DOWN) error = %v, want nil", err)
	}
	up, err := Site24x7(Input{Body: []byte(`{"MONITORNAME":"shop.example.com HTTPS","STATUS":"UP","INCIDENT_REASON":"Up",
		"MONITOR_DASHBOARD_LINK":"https://www.site24x7.com/app/client#/home/monitors/1234567890/Summary"}`)})
	if err != nil {
		t.Fatalf("Site24x7(UP) error = %v, want nil", err)
	}
	got := [2]string{up.Summary, up.Details}
	want := [2]string{down.Summary, down.Details}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("UP summary and details differ from DOWN (-want +got):\n%s", diff)
	}
}

func TestSite24x7Errors(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		form        string
		body        string
		want        string
	}{
		{"malformed JSON", ctJSON, "", `{"STATUS":"DOWN"`, "invalid JSON body: unexpected end of input"},
		{"unknown status", ctJSON, "", `{"MONITORNAME":"x","STATUS":"MAINTENANCE"}`, `unknown STATUS "MAINTENANCE" (want DOWN, CRITICAL, TROUBLE or UP)`},
		{"missing status", ctJSON, "", `{"MONITORNAME":"x"}`, "STATUS is required (DOWN, CRITICAL, TROUBLE or UP)"},
		{"missing form status", ctForm, "MONITORNAME=x", "", "STATUS is required (DOWN, CRITICAL, TROUBLE or UP)"},
		{"status not a string", ctJSON, "", `{"STATUS":1}`, "invalid JSON body: STATUS: expected a string, got number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := Input{ContentType: tt.contentType, Body: []byte(tt.body)}
			if tt.form != "" {
				in.Form = query(t, tt.form)
			}
			got, err := Site24x7(in)
			if msg := parseErrMsg(t, err); msg != tt.want {
				t.Errorf("Site24x7() error = %q, want %q", msg, tt.want)
			}
			if diff := cmp.Diff(Request{}, got); diff != "" {
				t.Errorf("Site24x7() returned a request with its error (-want +got):\n%s", diff)
			}
		})
	}
}
