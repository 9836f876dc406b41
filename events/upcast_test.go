package events

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUpcast_AlertTriggeredV1(t *testing.T) {
	r := NewRegistry()
	tests := []struct {
		name    string
		version int
		payload string
		want    AlertTriggered
	}{
		{"v1 from an integration", 1,
			`{"alert_id": 7, "service_id": "s1", "summary": "disk", "dedup_key": "user:1:d", "source": "generic", "meta": {"host": "a"}}`,
			AlertTriggered{AlertID: 7, ServiceID: "s1", Summary: "disk", DedupKey: "user:1:d", Source: "generic", Meta: map[string]string{"host": "a"}}},
		{"v1 empty object", 1, ` { } `, AlertTriggered{}},
		{"v2 carries the key", 2,
			`{"alert_id":7,"service_id":"s1","summary":"disk","dedup_key":"user:1:d","source":"generic","integration_key_id":"k1"}`,
			AlertTriggered{AlertID: 7, ServiceID: "s1", Summary: "disk", DedupKey: "user:1:d", Source: "generic", IntegrationKeyID: "k1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Decode("alert.triggered", tc.version, []byte(tc.payload))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("decoded (-want +got):\n%s", d)
			}
		})
	}
	for _, bad := range []string{`[1]`, `"x"`, ``, `{"alert_id":`} {
		if _, err := r.Decode("alert.triggered", 1, []byte(bad)); err == nil {
			t.Errorf("Decode of v1 payload %q: got no error", bad)
		}
	}
}
