package ingest

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// amInstanceDown is a one-alert firing notification as Alertmanager sends it.
const amInstanceDown = `{
  "receiver": "oncall",
  "status": "firing",
  "alerts": [
    {
      "status": "firing",
      "labels": {"alertname": "InstanceDown", "instance": "node-3:9100", "job": "node", "severity": "critical"},
      "annotations": {
        "description": "node-3:9100 of job node has been down for more than 5 minutes.\nCheck the host.",
        "runbook_url": "https://runbooks.example.com/InstanceDown"
      },
      "startsAt": "2026-03-02T09:14:05.123Z",
      "endsAt": "0001-01-01T00:00:00Z",
      "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1",
      "fingerprint": "3a9f1c2b7d4e5f60"
    }
  ],
  "groupLabels": {"alertname": "InstanceDown"},
  "commonLabels": {"alertname": "InstanceDown", "instance": "node-3:9100", "job": "node", "severity": "critical"},
  "commonAnnotations": {
    "description": "node-3:9100 of job node has been down for more than 5 minutes.\nCheck the host.",
    "runbook_url": "https://runbooks.example.com/InstanceDown"
  },
  "externalURL": "http://alertmanager.example.com:9093",
  "version": "4",
  "groupKey": "{}/{severity=\"critical\"}:{alertname=\"InstanceDown\"}",
  "truncatedAlerts": 0
}`

const amInstanceDownDetails = `Alertmanager: http://alertmanager.example.com:9093

Alert 1 of 1: firing
Labels:
  alertname: InstanceDown
  instance: node-3:9100
  job: node
  severity: critical
Annotations:
  description: node-3:9100 of job node has been down for more than 5 minutes.
    Check the host.
  runbook_url: https://runbooks.example.com/InstanceDown
Source: http://prometheus.example.com:9090/graph?g0.expr=up+%3D%3D+0&g0.tab=1`

// amHighLatency groups three alerts of one rule over two instances.
const amHighLatency = `{
  "receiver": "oncall", "status": "firing", "version": "4",
  "groupKey": "{}:{alertname=\"HighLatency\"}", "truncatedAlerts": 0,
  "groupLabels": {"alertname": "HighLatency"},
  "commonLabels": {"alertname": "HighLatency", "job": "api"},
  "commonAnnotations": {},
  "externalURL": "http://alertmanager.example.com:9093",
  "alerts": [
    {"status": "firing", "labels": {"alertname": "HighLatency", "instance": "api-1:8080", "job": "api", "path": "/orders"},
     "annotations": {}, "startsAt": "2026-03-02T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "a1"},
    {"status": "firing", "labels": {"alertname": "HighLatency", "instance": "api-2:8080", "job": "api", "path": "/orders"},
     "annotations": {}, "startsAt": "2026-03-02T09:00:00Z", "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "", "fingerprint": "a2"},
    {"status": "resolved", "labels": {"alertname": "HighLatency", "instance": "api-1:8080", "job": "api", "path": "/cart"},
     "annotations": {}, "startsAt": "2026-03-02T09:00:00Z", "endsAt": "2026-03-02T09:05:00Z", "generatorURL": "", "fingerprint": "a3"}
  ]
}`

const amHighLatencyDetails = `Alertmanager: http://alertmanager.example.com:9093

Alert 1 of 3: firing
Labels:
  alertname: HighLatency
  instance: api-1:8080
  job: api
  path: /orders

Alert 2 of 3: firing
Labels:
  alertname: HighLatency
  instance: api-2:8080
  job: api
  path: /orders

Alert 3 of 3: resolved
Labels:
  alertname: HighLatency
  instance: api-1:8080
  job: api
  path: /cart`

// amDiskResolved is a resolved group with a common summary annotation and
// truncated alerts.
const amDiskResolved = `{
  "receiver": "oncall", "status": "resolved", "version": "4",
  "groupKey": "{}:{cluster=\"prod\"}", "truncatedAlerts": 2,
  "groupLabels": {"cluster": "prod"},
  "commonLabels": {"alertname": "DiskAlmostFull", "cluster": "prod"},
  "commonAnnotations": {"summary": "Disk almost full\non prod"},
  "externalURL": "",
  "alerts": [
    {"status": "resolved", "labels": {"alertname": "DiskAlmostFull", "cluster": "prod", "instance": "db-1"},
     "annotations": {"summary": "Disk almost full\non prod"},
     "startsAt": "2026-03-01T22:00:00Z", "endsAt": "2026-03-02T01:00:00Z",
     "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=disk", "fingerprint": "d1"}
  ]
}`

const amDiskResolvedDetails = `Alertmanager left out 2 more alerts (max_alerts).

Alert 1 of 1: resolved
Labels:
  alertname: DiskAlmostFull
  cluster: prod
  instance: db-1
Annotations:
  summary: Disk almost full
    on prod
Source: http://prometheus.example.com:9090/graph?g0.expr=disk`

func TestAlertmanager(t *testing.T) {
	tests := []struct {
		name string
		body string
		want Request
	}{
		{
			name: "firing, one alert",
			body: amInstanceDown,
			want: Request{
				Action:  ActionTrigger,
				Summary: "InstanceDown (node-3:9100)",
				Details: amInstanceDownDetails,
				Dedup:   `{}/{severity="critical"}:{alertname="InstanceDown"}`,
			},
		},
		{
			name: "firing, several instances",
			body: amHighLatency,
			want: Request{
				Action:  ActionTrigger,
				Summary: "HighLatency (api-1:8080, api-2:8080)",
				Details: amHighLatencyDetails,
				Dedup:   `{}:{alertname="HighLatency"}`,
			},
		},
		{
			name: "resolved, common summary, truncated",
			body: amDiskResolved,
			want: Request{
				Action:  ActionClose,
				Summary: "Disk almost full on prod",
				Details: amDiskResolvedDetails,
				Dedup:   `{}:{cluster="prod"}`,
			},
		},
		{
			name: "mixed alertnames, version missing",
			body: `{"status":"firing","groupKey":"{}:{namespace=\"shop\"}","commonLabels":{"namespace":"shop"},
				"alerts":[
				{"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"shop"}},
				{"status":"firing","labels":{"alertname":"KubeJobFailed","namespace":"shop"}},
				{"status":"firing","labels":{"alertname":"KubeDeploymentReplicasMismatch","namespace":"shop"}}]}`,
			want: Request{
				Action:  ActionTrigger,
				Summary: "KubePodCrashLooping + 2 others",
				Details: "Alert 1 of 3: firing\nLabels:\n  alertname: KubePodCrashLooping\n  namespace: shop\n\n" +
					"Alert 2 of 3: firing\nLabels:\n  alertname: KubeJobFailed\n  namespace: shop\n\n" +
					"Alert 3 of 3: firing\nLabels:\n  alertname: KubeDeploymentReplicasMismatch\n  namespace: shop",
				Dedup: `{}:{namespace="shop"}`,
			},
		},
		{
			name: "two alertnames without common name",
			body: `{"version":"4","status":"firing","groupKey":"g","alerts":[
				{"status":"firing","labels":{"alertname":"A"}},{"status":"firing","labels":{"alertname":"B"}}]}`,
			want: Request{
				Action:  ActionTrigger,
				Summary: "A + 1 other",
				Details: "Alert 1 of 2: firing\nLabels:\n  alertname: A\n\nAlert 2 of 2: firing\nLabels:\n  alertname: B",
				Dedup:   "g",
			},
		},
		{
			name: "no alertname anywhere falls back to the groupKey",
			body: `{"version":"4","status":"resolved","groupKey":"{}:{job=\"x\"}","alerts":[]}`,
			want: Request{Action: ActionClose, Summary: `{}:{job="x"}`, Dedup: `{}:{job="x"}`},
		},
		{
			name: "blank summary annotation is skipped",
			body: `{"version":"4","status":"firing","groupKey":"g","commonAnnotations":{"summary":"  "},
				"commonLabels":{"alertname":"Watchdog"},"alerts":[{"status":"firing","labels":{"alertname":"Watchdog"}}]}`,
			want: Request{
				Action:  ActionTrigger,
				Summary: "Watchdog",
				Details: "Alert 1 of 1: firing\nLabels:\n  alertname: Watchdog",
				Dedup:   "g",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Alertmanager(Input{ContentType: ctJSON, Body: []byte(tt.body)})
			if err != nil {
				t.Fatalf("Alertmanager() error = %v, want nil", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Alertmanager() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAlertmanagerDeterministic parses the same many-label body repeatedly:
// map iteration order must not leak into the details.
func TestAlertmanagerDeterministic(t *testing.T) {
	body := []byte(`{"version":"4","status":"firing","groupKey":"g","alerts":[{"status":"firing",
		"labels":{"z":"1","y":"2","x":"3","w":"4","v":"5","u":"6","t":"7","s":"8"},
		"annotations":{"h":"1","g":"2","f":"3","e":"4","d":"5","c":"6","b":"7","a":"8"}}]}`)
	first, err := Alertmanager(Input{Body: body})
	if err != nil {
		t.Fatalf("Alertmanager() error = %v, want nil", err)
	}
	if !strings.Contains(first.Details, "  s: 8\n  t: 7") {
		t.Errorf("labels not sorted: got details\n%s", first.Details)
	}
	for range 50 {
		got, _ := Alertmanager(Input{Body: body})
		if diff := cmp.Diff(first, got); diff != "" {
			t.Fatalf("Alertmanager() not deterministic (-first +got):\n%s", diff)
		}
	}
}

func TestAlertmanagerErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"malformed JSON", `{"status":"firing",`, "invalid JSON body: unexpected end of input"},
		{"empty body", ``, "invalid JSON body: unexpected end of input"},
		{"not an object", `"firing"`, "invalid JSON body: expected an object, got string"},
		{"missing groupKey", `{"version":"4","status":"firing","alerts":[]}`, "groupKey is required"},
		{"missing status", `{"version":"4","groupKey":"g"}`, "status is required (firing or resolved)"},
		{"unknown status", `{"version":"4","groupKey":"g","status":"pending"}`, `unknown status "pending" (want firing or resolved)`},
		{"upper-case status", `{"version":"4","groupKey":"g","status":"FIRING"}`, `unknown status "FIRING" (want firing or resolved)`},
		{"other version", `{"version":"3","groupKey":"g","status":"firing"}`, `unsupported Alertmanager webhook version "3" (want "4")`},
		{"numeric version", `{"version":4,"groupKey":"g","status":"firing"}`, "invalid JSON body: version: expected a string, got number"},
		{
			"label value not a string",
			`{"version":"4","groupKey":"g","status":"firing","alerts":[{"status":"firing","labels":{"port":9100}}]}`,
			"invalid JSON body: alerts.labels: expected a string, got number",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Alertmanager(Input{ContentType: ctJSON, Body: []byte(tt.body)})
			if msg := parseErrMsg(t, err); msg != tt.want {
				t.Errorf("Alertmanager() error = %q, want %q", msg, tt.want)
			}
			if diff := cmp.Diff(Request{}, got); diff != "" {
				t.Errorf("Alertmanager() returned a request with its error (-want +got):\n%s", diff)
			}
		})
	}
}
