package twilio

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/oncallhq/goalert/domain/notification"
)

// segmentLen is the length of one SMS segment in the GSM 7-bit alphabet.
// Texts are fitted to whole segments of this size: Twilio bills by the
// segment, and a long summary is not worth a second one.
const segmentLen = 160

// minSummaryLen is how much of a summary a text keeps, at least, when it
// would not fit one segment: fewer characters rarely say anything.
const minSummaryLen = 20

// maxLogEntryLen bounds the log line of a status text.
const maxLogEntryLen = segmentLen

// smsText renders m as the text of an SMS to number, or returns an error for
// a kind that SMS does not carry.
func smsText(cfg Config, m notification.Message, number string) (string, error) {
	app := cfg.appName(m.AppName)
	link := ""
	if !cfg.DisableSMSLinks && supportsLinks(number) {
		link = m.AlertURL
	}
	code := 0
	if !cfg.DisableTwoWaySMS && SupportsReplies(number) && m.ReplyCode > 0 {
		code = m.ReplyCode
	}

	switch m.Kind {
	case notification.KindAlert:
		tail := ""
		if link != "" {
			tail += "\n\n" + link
		}
		if code > 0 {
			tail += fmt.Sprintf("\n\nReply '%da' to ack, '%de' to escalate, '%dc' to close.", code, code, code)
		}
		head := fmt.Sprintf("%s: Alert #%d: ", app, m.AlertID)
		return fitSMS(head, gsm(m.Summary), tail), nil

	case notification.KindAlertBundle:
		head := app + ": Svc '"
		tail := fmt.Sprintf("': %d unacked %s", m.Count, plural(m.Count, "alert", "alerts"))
		if link != "" {
			tail += "\n\n" + link
		}
		if code > 0 {
			tail += fmt.Sprintf("\n\nReply '%daa' to ack all, '%dcc' to close all.", code, code)
		}
		return fitSMS(head, gsm(m.ServiceName), tail), nil

	case notification.KindAlertStatus:
		head := fmt.Sprintf("%s: Alert #%d", app, m.AlertID)
		tail := "\n\n" + truncate(gsm(m.LogEntry), maxLogEntryLen)
		summary := gsm(m.Summary)
		if summary == "" {
			return head + tail, nil
		}
		return fitSMS(head+": ", summary, tail), nil

	case notification.KindTest:
		return app + ": Test message.", nil

	case notification.KindVerification:
		return app + ": Verification code: " + m.Code, nil
	}
	return "", fmt.Errorf("SMS does not carry %q messages", m.Kind)
}

// fitSMS returns head+body+tail, with body cut so that the text fills the
// fewest segments that keep at least minSummaryLen characters of it.
func fitSMS(head, body, tail string) string {
	text := head + body + tail
	n := utf8.RuneCountInString(text)
	if n <= segmentLen {
		return text
	}
	fixed := n - utf8.RuneCountInString(body)
	keep := min(utf8.RuneCountInString(body), minSummaryLen)
	size := segmentLen
	for fixed+keep > size {
		size += segmentLen
	}
	return head + truncate(body, size-fixed) + tail
}

// truncate cuts s to at most n runes, dropping trailing spaces left by the
// cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return strings.TrimRightFunc(s[:pos], unicode.IsSpace)
		}
		i++
	}
	return s
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// gsmBasic is the basic character set of the GSM 7-bit alphabet (3GPP TS
// 23.038) without its control characters: text made of these costs one
// septet per character, so 160 of them fit one segment.
const gsmBasic = "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

var gsmRunes = func() map[rune]bool {
	set := make(map[rune]bool, len(gsmBasic))
	for _, r := range gsmBasic {
		set[r] = true
	}
	return set
}()

// gsm rewrites user text (a summary, a service name) into the GSM alphabet
// on one line: any other character would switch the whole SMS to UCS-2,
// where a segment holds 70 characters instead of 160. Look-alikes are
// substituted where they exist, and '?' stands for the rest.
func gsm(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if !unicode.IsPrint(r) {
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(gsmRune(r))
	}
	return b.String()
}

func gsmRune(r rune) rune {
	if gsmRunes[r] {
		return r
	}
	switch r {
	case '[', '{':
		return '('
	case ']', '}':
		return ')'
	case '|', '~':
		return '-'
	case '\\':
		return '/'
	case '`', '‘', '’', '‚', '′':
		return '\''
	case '«':
		return '<'
	case '»':
		return '>'
	}
	switch {
	case unicode.Is(unicode.Dash, r):
		return '-'
	case unicode.Is(unicode.Quotation_Mark, r):
		return '"'
	}
	return '?'
}
