package twilio

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/domain/notification"
)

// Keys of the call menu, GoAlert's.
const (
	keyAck      = "4"
	keyEscalate = "5"
	keyClose    = "6"
	keyRepeat   = "*"
	keyStop     = "1" // opens the stop menu; in it, goes back
	keyConfirm  = "3" // in the stop menu
	keyOldAck   = "8" // acknowledged before the menu changed
	keyOldClose = "9" // closed before the menu changed
)

// menuStop marks the call URL of the stop menu.
const menuStop = "stop"

// maxSpokenLen bounds the user text (a summary, a log line) a call reads
// out.
const maxSpokenLen = 400

// voiceCall is one step of a call: Twilio fetched its URL, with the key
// pressed, if any, as Digits.
type voiceCall struct {
	h      *Handler
	c      echo.Context
	cfg    Config
	typ    string
	msgID  string
	number string // the phone on the other end
	msg    notification.Message
}

// call answers a step of a call with TwiML: the message and its menu, or
// what a key press did.
func (h *Handler) call(c echo.Context, cfg Config, form url.Values) error {
	q := c.Request().URL.Query()
	v := &voiceCall{h: h, c: c, cfg: cfg, typ: q.Get("type"), msgID: q.Get("msgID")}
	if form.Get("Direction") == "inbound" {
		v.number = form.Get("From")
	} else {
		v.number = form.Get("To")
	}
	if v.number == "" {
		return echo.NewHTTPError(http.StatusBadRequest, "missing phone number")
	}

	if v.msgID != "" {
		msg, err := h.backend.CallMessage(c.Request().Context(), v.msgID)
		if err != nil {
			return v.end(h.refusal(c.Request().Context(), err, true))
		}
		v.msg = msg
		if v.msg.Kind == "" {
			v.msg.Kind = kindOfCallType(v.typ)
		}
	}

	digits := form.Get("Digits")
	if q.Get("menu") == menuStop {
		return v.stopMenu(digits)
	}
	return v.mainMenu(digits)
}

func kindOfCallType(typ string) notification.Kind {
	for k, t := range callTypes {
		if t == typ {
			return k
		}
	}
	return ""
}

// actionable reports whether the call is about an alert or a bundle that
// keys can act on.
func (v *voiceCall) actionable() bool {
	return v.msg.Kind == notification.KindAlert || v.msg.Kind == notification.KindAlertBundle
}

func (v *voiceCall) mainMenu(digits string) error {
	switch {
	case digits == "" || digits == keyRepeat:
		return v.prompt()
	case digits == keyStop && v.msg.Kind != notification.KindVerification:
		return v.stopPrompt()
	case v.actionable() && (digits == keyAck || digits == keyClose):
		return v.act(map[string]Action{keyAck: ActionAcknowledge, keyClose: ActionClose}[digits])
	case v.msg.Kind == notification.KindAlert && digits == keyEscalate:
		return v.act(ActionEscalate)
	case v.actionable() && digits == keyOldAck:
		return v.prompt("The menu options have changed. To acknowledge, press 4.")
	case v.actionable() && digits == keyOldClose:
		return v.prompt("The menu options have changed. To close, press 6.")
	}
	return v.prompt("Sorry, I didn't understand that.")
}

// prompt says notes, then the message and its menu.
func (v *voiceCall) prompt(notes ...string) error {
	doc := &twiml{}
	doc.say(notes...)
	doc.gather(v.url(""), append([]string{v.spoken()}, v.options()...)...)
	doc.say("Goodbye.").hangup()
	return writeTwiML(v.c, doc)
}

func (v *voiceCall) stopPrompt(notes ...string) error {
	doc := &twiml{}
	doc.say(notes...)
	doc.gather(v.url(menuStop),
		"This will stop all notifications to this number. To confirm, press 3.",
		"To go back to the main menu, press 1.",
		"To repeat this message, press star.")
	doc.say("Goodbye.").hangup()
	return writeTwiML(v.c, doc)
}

func (v *voiceCall) stopMenu(digits string) error {
	switch digits {
	case "", keyRepeat:
		return v.stopPrompt()
	case keyStop:
		return v.prompt()
	case keyConfirm:
		ctx := v.c.Request().Context()
		if err := v.h.backend.SetEnabledByNumber(ctx, v.number, false); err != nil {
			v.h.log.ErrorContext(ctx, "twilio: disable contact methods by call", "number", v.number, "err", err)
			return v.end("An error has occurred. Please use the dashboard to manage alerts.")
		}
		return v.end("Unenrolled. Goodbye.")
	}
	return v.stopPrompt("Sorry, I didn't understand that.")
}

// act applies a key's action and says how it went.
func (v *voiceCall) act(a Action) error {
	ctx := v.c.Request().Context()
	res, err := v.h.backend.CallAction(ctx, v.msgID, a)
	if err != nil {
		return v.end(v.h.refusal(ctx, err, true))
	}
	return v.end(done(a, res) + ". Goodbye.")
}

// end says text and hangs up.
func (v *voiceCall) end(text string) error {
	return writeTwiML(v.c, (&twiml{}).say(text).hangup())
}

// url is the call URL that receives the next key press.
func (v *voiceCall) url(menu string) string { return callURL(v.cfg, v.typ, v.msgID, menu) }

// spoken is what the call says: the message's text like its SMS, without
// reply codes and links.
func (v *voiceCall) spoken() string {
	m := v.msg
	app := v.cfg.appName(m.AppName)
	switch m.Kind {
	case notification.KindAlert:
		return fmt.Sprintf("Hello! This is %s with an alert notification. Alert #%d: %s.", app, m.AlertID, speakable(m.Summary))
	case notification.KindAlertBundle:
		return fmt.Sprintf("Hello! This is %s with an alert notification. Service '%s' has %d unacknowledged %s.",
			app, speakable(m.ServiceName), m.Count, plural(m.Count, "alert", "alerts"))
	case notification.KindAlertStatus:
		text := fmt.Sprintf("Hello! This is %s with a status update for alert #%d", app, m.AlertID)
		if s := speakable(m.Summary); s != "" {
			text += ": " + s
		}
		return text + ". " + speakable(m.LogEntry) + "."
	case notification.KindTest:
		return fmt.Sprintf("Hello! This is a test call from %s.", app)
	case notification.KindVerification:
		return fmt.Sprintf("Hello! This is %s with your verification code. Your code is: %s.", app, spellDigits(m.Code))
	}
	return fmt.Sprintf("Hello! This is %s. Please use the application dashboard to manage alerts.", app)
}

func (v *voiceCall) options() []string {
	var opts []string
	switch v.msg.Kind {
	case notification.KindAlert:
		opts = append(opts, "To acknowledge, press 4.", "To escalate, press 5.", "To close, press 6.")
	case notification.KindAlertBundle:
		opts = append(opts, "To acknowledge all alerts, press 4.", "To close all alerts, press 6.")
	}
	if v.msg.Kind != notification.KindVerification {
		opts = append(opts, "To stop all notifications to this number, press 1.")
	}
	return append(opts, "To repeat this message, press star.")
}

// speakable puts user text on one line and bounds its length.
func speakable(s string) string {
	return truncate(strings.Join(strings.FieldsFunc(s, unicode.IsSpace), " "), maxSpokenLen)
}

// spellDigits spells a code digit by digit, with pauses: "1. 2. 3".
func spellDigits(code string) string {
	var parts []string
	for _, r := range code {
		if '0' <= r && r <= '9' {
			parts = append(parts, string(r))
		}
	}
	return strings.Join(parts, ". ")
}
