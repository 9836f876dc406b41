package twilio_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oncallhq/goalert/adapters/twilio"
)

func TestParseReply(t *testing.T) {
	code := func(a twilio.Action, n int) twilio.Reply {
		return twilio.Reply{Kind: twilio.ReplyAction, Action: a, Target: twilio.Target{Kind: twilio.TargetCode, Code: n}}
	}
	bundle := func(a twilio.Action, n int) twilio.Reply {
		return twilio.Reply{Kind: twilio.ReplyAction, Action: a, Target: twilio.Target{Kind: twilio.TargetBundleCode, Code: n}}
	}
	byID := func(a twilio.Action, id int64) twilio.Reply {
		return twilio.Reply{Kind: twilio.ReplyAction, Action: a, Target: twilio.Target{Kind: twilio.TargetAlertID, AlertID: id}}
	}
	last := func(a twilio.Action) twilio.Reply {
		return twilio.Reply{Kind: twilio.ReplyAction, Action: a, Target: twilio.Target{Kind: twilio.TargetLastAlert}}
	}
	var (
		ack      = twilio.ActionAcknowledge
		esc      = twilio.ActionEscalate
		cls      = twilio.ActionClose
		stop     = twilio.Reply{Kind: twilio.ReplyStop}
		start    = twilio.Reply{Kind: twilio.ReplyStart}
		unknown  = twilio.Reply{Kind: twilio.ReplyUnknown}
		longCode = "123456789012345678901234567890a"
	)

	tests := []struct {
		body string
		want twilio.Reply
	}{
		// <N>a / <N>e / <N>c, with spaces, case and quotes.
		{"1a", code(ack, 1)},
		{"1e", code(esc, 1)},
		{"1c", code(cls, 1)},
		{"12A", code(ack, 12)},
		{"1 a", code(ack, 1)},
		{"  3   c  ", code(cls, 3)},
		{"'1a'", code(ack, 1)},
		{"' 2 e '", code(esc, 2)},
		{"'1a", code(ack, 1)},
		{"1a\n", code(ack, 1)},
		// <N>aa / <N>cc: bundles.
		{"100aa", bundle(ack, 100)},
		{"100cc", bundle(cls, 100)},
		{"'101 CC'", bundle(cls, 101)},
		{"100ee", unknown},
		{"1ac", unknown},
		// Bare words: the last alert sent to the number.
		{"a", last(ack)},
		{"e", last(esc)},
		{"c", last(cls)},
		{"ack", last(ack)},
		{"Acknowledge", last(ack)},
		{"close", last(cls)},
		{"escalate", last(esc)},
		{"'c'", last(cls)},
		// By alert id.
		{"ack 123", byID(ack, 123)},
		{"ack #123", byID(ack, 123)},
		{"ack# 123", byID(ack, 123)},
		{"a123", byID(ack, 123)},
		{"c123", byID(cls, 123)},
		{"close 123", byID(cls, 123)},
		{"e 123", byID(esc, 123)},
		{"escalate #7", byID(esc, 7)},
		{"'close 9'", byID(cls, 9)},
		{"ack 0", unknown},
		{"ack 12 please", unknown},
		{"ack #", unknown},
		// STOP- and START-words, alone only.
		{"stop", stop},
		{"STOP", stop},
		{"stopall", stop},
		{"unsubscribe", stop},
		{"cancel", stop},
		{"end", stop},
		{"quit", stop},
		{" Stop ", stop},
		{"start", start},
		{"yes", start},
		{"unstop", start},
		{"please stop", unknown},
		// Anything else.
		{"", unknown},
		{"''", unknown},
		{"hello", unknown},
		{"1", unknown},
		{"1x", unknown},
		{"x1", unknown},
		{"closed", unknown},
		{longCode, unknown},
	}
	for _, tc := range tests {
		got := twilio.ParseReply(tc.body)
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("ParseReply(%q) (-want +got):\n%s", tc.body, diff)
		}
	}
}
