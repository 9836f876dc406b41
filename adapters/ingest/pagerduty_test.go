package ingest

import (
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const pdKey = "6f1c3e2a-8b4d-4f5e-9a7b-0c1d2e3f4a5b"

// pdDiskTrigger is a full trigger event with every optional field.
const pdDiskTrigger = `{
  "routing_key": "` + pdKey + `",
  "event_action": "trigger",
  "dedup_key": "srv01/mysql",
  "payload": {
    "summary": "DISK at 99% on prod-datapipe03",
    "source": "prod-datapipe03.example.com",
    "severity": "critical",
    "timestamp": "2026-03-02T08:42:58.315+0000",
    "component": "mysql",
    "group": "prod-datapipe",
    "class": "disk",
    "custom_details": {"free space": "1%", "ping time": 1500, "load avg": 0.75, "mounts": ["/", "/data"], "note": "<b>&</b>"}
  },
  "images": [{"src": "https://monitoring.example.com/disk.png", "href": "https://monitoring.example.com/d/disk", "alt": "Disk graph"}],
  "links": [{"href": "https://runbooks.example.com/disk", "text": "Runbook"}, {"href": "https://monitoring.example.com/h/03"}],
  "client": "Sample Monitoring Service",
  "client_url": "https://monitoring.example.com"
}`

const pdDiskDetails = `Source: prod-datapipe03.example.com
Severity: critical
Component: mysql
Group: prod-datapipe
Class: disk
Timestamp: 2026-03-02T08:42:58.315+0000
Client: Sample Monitoring Service https://monitoring.example.com

Custom details:
{
  "free space": "1%",
  "load avg": 0.75,
  "mounts": [
    "/",
    "/data"
  ],
  "note": "<b>&</b>",
  "ping time": 1500
}

Links:
- Runbook: https://runbooks.example.com/disk
- https://monitoring.example.com/h/03

Images:
- Disk graph: https://monitoring.example.com/disk.png (https://monitoring.example.com/d/disk)`

// pdAlertmanagerResolve is a resolve as Alertmanager's pagerduty_configs
// sends it: the payload is present and dedup_key is a sha256 of the group key.
const pdAlertmanagerResolve = `{
  "routing_key": "` + pdKey + `",
  "dedup_key": "0c6fe4a3d2d1b7c6e2b84cfa1f0cb93b0b1e8a0f6d0ee6a1f0a1f85d5c2b9e41",
  "event_action": "resolve",
  "payload": {
    "summary": "[RESOLVED] InstanceDown (node-3:9100 node critical)",
    "source": "Alertmanager",
    "severity": "error",
    "custom_details": {"firing": "", "num_firing": "0", "num_resolved": "1", "resolved": "Labels:\n - alertname = InstanceDown\n"}
  },
  "client": "Alertmanager",
  "client_url": "http://alertmanager.example.com:9093/#/alerts?receiver=pd"
}`

func TestPagerDutyV2(t *testing.T) {
	tests := []struct {
		name string
		body string
		want PDEvent
	}{
		{
			name: "trigger with every field",
			body: pdDiskTrigger,
			want: PDEvent{
				RoutingKey: pdKey,
				Request: Request{
					Action:  ActionTrigger,
					Summary: "DISK at 99% on prod-datapipe03",
					Details: pdDiskDetails,
					Dedup:   "srv01/mysql",
					Meta: map[string]string{
						"source": "prod-datapipe03.example.com", "severity": "critical",
						"component": "mysql", "group": "prod-datapipe", "class": "disk",
					},
				},
				DedupKey: "srv01/mysql",
			},
		},
		{
			name: "trigger with string custom details and folded summary",
			body: `{"routing_key":"k","event_action":"trigger","dedup_key":"d","payload":{"summary":"line one\nline two",
				"source":"cron-7","severity":"warning","custom_details":"exit 3\nsee log"}}`,
			want: PDEvent{
				RoutingKey: "k",
				Request: Request{
					Action:  ActionTrigger,
					Summary: "line one line two",
					Details: "Source: cron-7\nSeverity: warning\n\nCustom details:\nexit 3\nsee log",
					Dedup:   "d",
					Meta:    map[string]string{"source": "cron-7", "severity": "warning"},
				},
				DedupKey: "d",
			},
		},
		{
			name: "acknowledge",
			body: `{"routing_key":"` + pdKey + `","event_action":"acknowledge","dedup_key":"srv01/mysql"}`,
			want: PDEvent{
				RoutingKey: pdKey,
				Request:    Request{Action: ActionAcknowledge, Dedup: "srv01/mysql"},
				DedupKey:   "srv01/mysql",
			},
		},
		{
			name: "resolve",
			body: `{"routing_key":"` + pdKey + `","event_action":"resolve","dedup_key":"srv01/mysql"}`,
			want: PDEvent{
				RoutingKey: pdKey,
				Request:    Request{Action: ActionClose, Dedup: "srv01/mysql"},
				DedupKey:   "srv01/mysql",
			},
		},
		{
			name: "resolve from Alertmanager, payload kept",
			body: pdAlertmanagerResolve,
			want: PDEvent{
				RoutingKey: pdKey,
				Request: Request{
					Action:  ActionClose,
					Summary: "[RESOLVED] InstanceDown (node-3:9100 node critical)",
					Details: "Source: Alertmanager\nSeverity: error\n" +
						"Client: Alertmanager http://alertmanager.example.com:9093/#/alerts?receiver=pd\n\n" +
						"Custom details:\n{\n  \"firing\": \"\",\n  \"num_firing\": \"0\",\n  \"num_resolved\": \"1\",\n" +
						"  \"resolved\": \"Labels:\\n - alertname = InstanceDown\\n\"\n}",
					Dedup: "0c6fe4a3d2d1b7c6e2b84cfa1f0cb93b0b1e8a0f6d0ee6a1f0a1f85d5c2b9e41",
					Meta:  map[string]string{"source": "Alertmanager", "severity": "error"},
				},
				DedupKey: "0c6fe4a3d2d1b7c6e2b84cfa1f0cb93b0b1e8a0f6d0ee6a1f0a1f85d5c2b9e41",
			},
		},
		{
			name: "resolve ignores an invalid payload",
			body: `{"routing_key":"k","event_action":"resolve","dedup_key":"d","payload":{"severity":"fatal"}}`,
			want: PDEvent{
				RoutingKey: "k",
				Request:    Request{Action: ActionClose, Details: "Severity: fatal", Dedup: "d", Meta: map[string]string{"severity": "fatal"}},
				DedupKey:   "d",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PagerDutyV2([]byte(tt.body))
			if err != nil {
				t.Fatalf("PagerDutyV2() error = %v, want nil", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("PagerDutyV2() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPagerDutyV2GeneratedDedupKey checks a trigger without dedup_key gets a
// fresh random key, carried both in the reply key and the request.
func TestPagerDutyV2GeneratedDedupKey(t *testing.T) {
	body := []byte(`{"routing_key":"k","event_action":"trigger","dedup_key":" ",
		"payload":{"summary":"Job failed","source":"cron","severity":"error"}}`)
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 3 {
		got, err := PagerDutyV2(body)
		if err != nil {
			t.Fatalf("PagerDutyV2() error = %v, want nil", err)
		}
		if !hex32.MatchString(got.DedupKey) {
			t.Errorf("PagerDutyV2() DedupKey = %q, want 32 lower-case hex digits", got.DedupKey)
		}
		if got.Request.Dedup != got.DedupKey {
			t.Errorf("PagerDutyV2() Request.Dedup = %q, want the DedupKey %q", got.Request.Dedup, got.DedupKey)
		}
		if seen[got.DedupKey] {
			t.Errorf("PagerDutyV2() DedupKey %q repeated, want a fresh key per trigger", got.DedupKey)
		}
		seen[got.DedupKey] = true
	}
}

func TestPagerDutyV2Errors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want []string
	}{
		{
			name: "malformed JSON",
			body: `{"routing_key":"k",`,
			want: []string{"invalid JSON body: unexpected end of input"},
		},
		{
			name: "payload not an object",
			body: `{"routing_key":"k","event_action":"trigger","payload":"disk full"}`,
			want: []string{"invalid JSON body: payload: expected an object, got string"},
		},
		{
			name: "empty object",
			body: `{}`,
			want: []string{"'routing_key' is missing or blank", "'event_action' is missing or blank"},
		},
		{
			name: "unknown event_action",
			body: `{"routing_key":"k","event_action":"close","dedup_key":"d"}`,
			want: []string{"'event_action' must be one of trigger, acknowledge or resolve"},
		},
		{
			name: "trigger without payload",
			body: `{"routing_key":"k","event_action":"trigger"}`,
			want: []string{"'payload' is missing"},
		},
		{
			name: "trigger without summary, source and severity",
			body: `{"routing_key":"k","event_action":"trigger","payload":{"summary":" ","component":"mysql"}}`,
			want: []string{
				"'payload.summary' is missing or blank",
				"'payload.source' is missing or blank",
				"'payload.severity' is missing or blank",
			},
		},
		{
			name: "trigger without source only",
			body: `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","severity":"info"}}`,
			want: []string{"'payload.source' is missing or blank"},
		},
		{
			name: "trigger with unknown severity",
			body: `{"routing_key":"k","event_action":"trigger","payload":{"summary":"s","source":"h","severity":"Critical"}}`,
			want: []string{"'payload.severity' must be one of critical, error, warning or info"},
		},
		{
			name: "resolve without dedup_key",
			body: `{"routing_key":"k","event_action":"resolve","payload":{"summary":"s","source":"h","severity":"info"}}`,
			want: []string{"'dedup_key' is required for resolve events"},
		},
		{
			name: "acknowledge without dedup_key or routing_key",
			body: `{"event_action":"acknowledge"}`,
			want: []string{"'routing_key' is missing or blank", "'dedup_key' is required for acknowledge events"},
		},
		{
			name: "dedup_key too long",
			body: `{"routing_key":"k","event_action":"resolve","dedup_key":"` + strings.Repeat("x", 256) + `"}`,
			want: []string{"'dedup_key' must be at most 255 characters"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PagerDutyV2([]byte(tt.body))
			var pdErr *PDError
			if !errors.As(err, &pdErr) {
				t.Fatalf("PagerDutyV2() error = %v (%T), want *PDError", err, err)
			}
			want := &PDError{Message: "Event object is invalid", Errors: tt.want}
			if diff := cmp.Diff(want, pdErr); diff != "" {
				t.Errorf("PagerDutyV2() error mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(PDEvent{}, got); diff != "" {
				t.Errorf("PagerDutyV2() returned an event with its error (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPagerDutyV2DedupKeyLimit(t *testing.T) {
	key := strings.Repeat("é", MaxPDDedupKeyLength) // 255 characters, 510 bytes
	got, err := PagerDutyV2([]byte(`{"routing_key":"k","event_action":"resolve","dedup_key":"` + key + `"}`))
	if err != nil {
		t.Fatalf("PagerDutyV2() error = %v, want nil", err)
	}
	if got.DedupKey != key {
		t.Errorf("PagerDutyV2() DedupKey = %q, want %q", got.DedupKey, key)
	}
}

func TestPDErrorMessage(t *testing.T) {
	err := &PDError{Message: PDInvalidMessage, Errors: []string{"a", "b"}}
	if got, want := err.Error(), "Event object is invalid: a; b"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}
