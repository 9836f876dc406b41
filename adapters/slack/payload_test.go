package slack

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/adapters/slack/slacktest"
)

func TestParsePayload(t *testing.T) {
	tests := []struct {
		name    string
		payload string
		want    Payload
		wantErr bool
	}{
		{
			name: "block_actions click",
			payload: `{
				"type": "block_actions",
				"user": {"id": "U0CA5", "username": "amy", "name": "amy", "team_id": "T3MDE"},
				"api_app_id": "AABA1ABCD",
				"token": "9s8d9as89d8as9d8as989",
				"container": {"type": "message", "message_ts": "1548261231.000200", "channel_id": "C0CA5", "is_ephemeral": false},
				"trigger_id": "12321423423.333649436676.d8c1bb837935619ccad0f624c448ffb3",
				"team": {"id": "T3MDE", "domain": "eden"},
				"channel": {"id": "C0CA5", "name": "alerts"},
				"message": {"type": "message", "ts": "1548261231.000200", "text": "Alert #42"},
				"response_url": "https://hooks.slack.com/actions/T3MDE/123/abc",
				"actions": [{"action_id": "action_alert_ack", "block_id": "alert_actions", "text": {"type": "plain_text", "text": "Acknowledge"},
					"value": "42", "type": "button", "action_ts": "1548426417.840180"}]
			}`,
			want: Payload{
				Type: "block_actions", TeamID: "T3MDE", UserID: "U0CA5", ChannelID: "C0CA5", MessageTS: "1548261231.000200",
				ResponseURL: "https://hooks.slack.com/actions/T3MDE/123/abc",
				Actions:     []PayloadAction{{ActionID: "action_alert_ack", BlockID: "alert_actions", Value: "42"}},
			},
		},
		{
			name: "org-wide app without team or channel",
			payload: `{"type":"block_actions","user":{"id":"W1","team_id":"T9"},"team":null,
				"container":{"channel_id":"D5","message_ts":"1.2"},"actions":[{"action_id":"action_alert_close","value":"7"}]}`,
			want: Payload{
				Type: "block_actions", TeamID: "T9", UserID: "W1", ChannelID: "D5", MessageTS: "1.2",
				Actions: []PayloadAction{{ActionID: "action_alert_close", Value: "7"}},
			},
		},
		{
			name:    "the fake's click",
			payload: slacktest.Click{TeamID: "T1", UserID: "U1", ActionID: ActionIDClose, Value: "9", ResponseURL: "http://127.0.0.1/r", ChannelID: "C1", MessageTS: "3.4"}.Payload(),
			want: Payload{
				Type: "block_actions", TeamID: "T1", UserID: "U1", ChannelID: "C1", MessageTS: "3.4", ResponseURL: "http://127.0.0.1/r",
				Actions: []PayloadAction{{ActionID: ActionIDClose, BlockID: "alert_actions", Value: "9"}},
			},
		},
		{name: "empty", payload: "", wantErr: true},
		{name: "not JSON", payload: "type=block_actions", wantErr: true},
		{name: "wrong shape", payload: `{"actions":"ack"}`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParsePayload(tc.payload)
			if (err != nil) != tc.wantErr {
				t.Fatalf("ParsePayload: got error %v, want error: %v", err, tc.wantErr)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ParsePayload (-want +got):\n%s", diff)
			}
		})
	}
}
