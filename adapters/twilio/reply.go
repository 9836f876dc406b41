package twilio

import (
	"strconv"
	"strings"
)

// Action is what a person asks for an alert, by SMS or by a key press.
type Action string

const (
	ActionAcknowledge Action = "acknowledge"
	ActionEscalate    Action = "escalate"
	ActionClose       Action = "close"
)

// TargetKind says how a reply names the alert it acts on.
type TargetKind string

const (
	// TargetCode: the per-number reply code of one alert ('1a').
	TargetCode TargetKind = "code"
	// TargetBundleCode: the per-number reply code of a service's bundle
	// of alerts ('100aa'); the action applies to all its unacknowledged
	// alerts.
	TargetBundleCode TargetKind = "bundle_code"
	// TargetAlertID: an alert by its id ('ack 123'); only alerts that
	// were sent to the replying number qualify.
	TargetAlertID TargetKind = "alert_id"
	// TargetLastAlert: the alert most recently sent to the replying
	// number (a bare 'a').
	TargetLastAlert TargetKind = "last_alert"
)

// Target is the alert, or bundle, a reply acts on.
type Target struct {
	Kind TargetKind
	// Code is the reply code of TargetCode and TargetBundleCode.
	Code int
	// AlertID is the alert of TargetAlertID.
	AlertID int64
}

// ReplyKind is what an SMS reply asks for.
type ReplyKind string

const (
	// ReplyUnknown: not a request we understand.
	ReplyUnknown ReplyKind = "unknown"
	// ReplyAction: an action on an alert or a bundle.
	ReplyAction ReplyKind = "action"
	// ReplyStop: stop sending to this number (a carrier STOP-word).
	ReplyStop ReplyKind = "stop"
	// ReplyStart: resume sending to this number (a carrier START-word).
	ReplyStart ReplyKind = "start"
)

// Reply is a parsed SMS reply.
type Reply struct {
	Kind ReplyKind
	// Action and Target are set for ReplyAction.
	Action Action
	Target Target
}

// The words carriers treat as opting out of, or back into, messages from a
// number. Only the whole message counts: "please stop" is not a STOP.
var (
	stopWords  = map[string]bool{"stop": true, "stopall": true, "unsubscribe": true, "cancel": true, "end": true, "quit": true}
	startWords = map[string]bool{"start": true, "yes": true, "unstop": true}
)

// ParseReply reads an SMS reply. It ignores case and surrounding spaces and
// single quotes (people copy '1a' from the instructions), and accepts:
//
//   - '<N>a', '<N>e', '<N>c', with spaces allowed ('1 a'): the alert with
//     reply code N;
//   - '<N>aa', '<N>cc': every alert of the bundle with reply code N;
//   - 'a', 'ack' (or any word starting with it), 'e', 'escalate', 'c',
//     'close' alone: the alert most recently sent to the number;
//   - the same words followed by an alert id, optionally with '#' and
//     spaces ('ack #123', 'c123', 'close 123'): that alert;
//   - STOP-words (stop, stopall, unsubscribe, cancel, end, quit) and
//     START-words (start, yes, unstop).
//
// Anything else is ReplyUnknown.
func ParseReply(body string) Reply {
	s := strings.ToLower(strings.TrimSpace(body))
	switch {
	case stopWords[s]:
		return Reply{Kind: ReplyStop}
	case startWords[s]:
		return Reply{Kind: ReplyStart}
	}
	s = strings.TrimSpace(strings.TrimPrefix(s, "'"))
	s = strings.TrimSpace(strings.TrimSuffix(s, "'"))
	if s == "" {
		return Reply{Kind: ReplyUnknown}
	}

	if isDigit(s[0]) {
		digits, rest := splitDigits(s)
		code, err := strconv.Atoi(digits)
		if err != nil {
			return Reply{Kind: ReplyUnknown}
		}
		switch strings.TrimSpace(rest) {
		case "a":
			return action(ActionAcknowledge, Target{Kind: TargetCode, Code: code})
		case "e":
			return action(ActionEscalate, Target{Kind: TargetCode, Code: code})
		case "c":
			return action(ActionClose, Target{Kind: TargetCode, Code: code})
		case "aa":
			return action(ActionAcknowledge, Target{Kind: TargetBundleCode, Code: code})
		case "cc":
			return action(ActionClose, Target{Kind: TargetBundleCode, Code: code})
		}
		return Reply{Kind: ReplyUnknown}
	}

	word, rest := splitLetters(s)
	act, ok := actionWord(word)
	if !ok {
		return Reply{Kind: ReplyUnknown}
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return action(act, Target{Kind: TargetLastAlert})
	}
	rest = strings.TrimSpace(strings.TrimPrefix(rest, "#"))
	digits, tail := splitDigits(rest)
	if digits == "" || tail != "" {
		return Reply{Kind: ReplyUnknown}
	}
	id, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || id <= 0 {
		return Reply{Kind: ReplyUnknown}
	}
	return action(act, Target{Kind: TargetAlertID, AlertID: id})
}

func action(a Action, t Target) Reply { return Reply{Kind: ReplyAction, Action: a, Target: t} }

// actionWord reads the word of a reply that names its target by alert id
// or not at all.
func actionWord(w string) (Action, bool) {
	switch {
	case w == "a" || strings.HasPrefix(w, "ack"):
		return ActionAcknowledge, true
	case w == "e" || w == "esc" || w == "escalate":
		return ActionEscalate, true
	case w == "c" || w == "close":
		return ActionClose, true
	}
	return "", false
}

func isDigit(b byte) bool  { return '0' <= b && b <= '9' }
func isLetter(b byte) bool { return 'a' <= b && b <= 'z' }

func splitDigits(s string) (digits, rest string) {
	i := 0
	for i < len(s) && isDigit(s[i]) {
		i++
	}
	return s[:i], s[i:]
}

func splitLetters(s string) (letters, rest string) {
	i := 0
	for i < len(s) && isLetter(s[i]) {
		i++
	}
	return s[:i], s[i:]
}
