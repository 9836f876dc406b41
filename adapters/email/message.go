package email

import (
	"bytes"
	"fmt"
	"html/template"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	gomail "github.com/emersion/go-message/mail"

	"github.com/oncallhq/goalert/domain/notification"
)

// rendered is a message ready for the relay.
type rendered struct {
	// ID is the Message-ID, with its angle brackets.
	ID    string
	Bytes []byte
}

// link is a labelled URL.
type link struct{ Text, URL string }

// field is a named value.
type field struct{ Name, Value string }

// content is what a message says, before it is written as text and HTML.
type content struct {
	Subject string
	Title   string
	Intro   []string
	// Code is shown large: the verification code.
	Code    string
	Details string
	Fields  []field
	Users   []link
	Action  link
	Footer  string
}

// appName is the product name messages show.
func appName(cfg Config, m notification.Message) string {
	switch {
	case m.AppName != "":
		return m.AppName
	case cfg.AppName != "":
		return cfg.AppName
	}
	return "GoAlert"
}

// oneLine makes s fit a header: line breaks and tabs become spaces.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// compose decides what m says.
func compose(cfg Config, m notification.Message) (content, error) {
	app := appName(cfg, m)
	alertLink := func() link {
		return link{"Open Alert Details", linkTo(m.AlertURL, cfg.PublicURL, "/alerts/"+strconv.FormatInt(m.AlertID, 10))}
	}
	var c content
	switch m.Kind {
	case notification.KindTest:
		c = content{
			Subject: app + ": Test Message",
			Title:   "Test Message",
			Intro:   []string{"This is a test message from " + app + "."},
		}
	case notification.KindVerification:
		c = content{
			Subject: app + ": Verification Message",
			Title:   "Verification Message",
			Intro:   []string{"Enter this code in " + app + " to verify this email address:"},
			Code:    m.Code,
		}
	case notification.KindAlert:
		c = content{
			Subject: fmt.Sprintf("%s: Alert #%d: %s", app, m.AlertID, oneLine(m.Summary)),
			Title:   fmt.Sprintf("Alert #%d", m.AlertID),
			Intro:   []string{m.Summary},
			Details: m.Details,
			Action:  alertLink(),
		}
		if m.ServiceName != "" {
			c.Fields = append(c.Fields, field{"Service", m.ServiceName})
		}
		keys := make([]string, 0, len(m.Meta))
		for k := range m.Meta {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			c.Fields = append(c.Fields, field{k, m.Meta[k]})
		}
	case notification.KindAlertBundle:
		c = content{
			Subject: fmt.Sprintf("%s: Service %s has %d unacknowledged alerts", app, oneLine(m.ServiceName), m.Count),
			Title:   "Multiple Unacknowledged Alerts",
			Intro:   []string{fmt.Sprintf("The service %s has %d unacknowledged alerts.", m.ServiceName, m.Count)},
			Action: link{"Open Alert List",
				linkTo(m.AlertURL, cfg.PublicURL, "/services/"+url.PathEscape(m.ServiceID)+"/alerts")},
		}
	case notification.KindAlertStatus:
		c = content{
			Subject: fmt.Sprintf("%s: Alert #%d: %s", app, m.AlertID, oneLine(m.LogEntry)),
			Title:   fmt.Sprintf("Alert #%d", m.AlertID),
			Intro:   []string{m.LogEntry},
			Action:  alertLink(),
			Footer:  "You are receiving this message because status updates are enabled for this contact method.",
		}
		if m.Summary != "" {
			c.Intro = append(c.Intro, m.Summary)
		}
	case notification.KindOnCallUsers:
		c = content{
			Subject: fmt.Sprintf("%s: On-call users for %s", app, oneLine(m.ScheduleName)),
			Title:   "On-Call Users",
			Action: link{"Open Schedule",
				linkTo(m.ScheduleURL, cfg.PublicURL, "/schedules/"+url.PathEscape(m.ScheduleID))},
		}
		if len(m.OnCall) == 0 {
			c.Intro = []string{fmt.Sprintf("Nobody is on call for %s.", m.ScheduleName)}
		} else {
			c.Intro = []string{fmt.Sprintf("On call for %s:", m.ScheduleName)}
		}
		for _, u := range m.OnCall {
			c.Users = append(c.Users, link{Text: u.Name, URL: u.URL})
		}
	default:
		return content{}, fmt.Errorf("unsupported message kind %q", m.Kind)
	}
	return c, nil
}

// linkTo is own, or path under publicURL, or "" when there is neither.
func linkTo(own, publicURL, path string) string {
	if own != "" || publicURL == "" {
		return own
	}
	return strings.TrimSuffix(publicURL, "/") + path
}

// text is c as plain text.
func (c content) text() string {
	var b strings.Builder
	b.WriteString(c.Title + "\n\n")
	for _, p := range c.Intro {
		b.WriteString(p + "\n\n")
	}
	if c.Code != "" {
		b.WriteString("    " + c.Code + "\n\n")
	}
	if c.Details != "" {
		b.WriteString(c.Details + "\n\n")
	}
	for _, f := range c.Fields {
		b.WriteString(f.Name + ": " + f.Value + "\n")
	}
	if len(c.Fields) > 0 {
		b.WriteString("\n")
	}
	for _, u := range c.Users {
		b.WriteString("  - " + u.Text)
		if u.URL != "" {
			b.WriteString(" <" + u.URL + ">")
		}
		b.WriteString("\n")
	}
	if len(c.Users) > 0 {
		b.WriteString("\n")
	}
	if c.Action.URL != "" {
		b.WriteString(c.Action.Text + ": " + c.Action.URL + "\n\n")
	}
	if c.Footer != "" {
		b.WriteString("-- \n" + c.Footer + "\n")
	}
	return strings.TrimRight(b.String(), "\n") + "\n"
}

// page lays a message out as HTML; html/template escapes every value for
// where it lands, URLs included.
var page = template.Must(template.New("email").Parse(`<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>{{.Subject}}</title></head>
<body style="font-family: Helvetica, Arial, sans-serif; color: #222;">
<h2>{{.Title}}</h2>
{{range .Intro}}<p>{{.}}</p>
{{end}}{{if .Code}}<p style="font-size: 28px; font-family: monospace; letter-spacing: 4px;"><strong>{{.Code}}</strong></p>
{{end}}{{if .Details}}<pre style="white-space: pre-wrap; font-family: monospace;">{{.Details}}</pre>
{{end}}{{if .Fields}}<table>
{{range .Fields}}<tr><th align="left">{{.Name}}</th><td>{{.Value}}</td></tr>
{{end}}</table>
{{end}}{{if .Users}}<ul>
{{range .Users}}<li>{{if .URL}}<a href="{{.URL}}">{{.Text}}</a>{{else}}{{.Text}}{{end}}</li>
{{end}}</ul>
{{end}}{{if .Action.URL}}<p><a href="{{.Action.URL}}">{{.Action.Text}}</a></p>
{{end}}{{if .Footer}}<p style="color: #777; font-size: small;">{{.Footer}}</p>
{{end}}</body>
</html>
`))

func (c content) html() (string, error) {
	var b strings.Builder
	if err := page.Execute(&b, c); err != nil {
		return "", err
	}
	return b.String(), nil
}

// mailDomain is the domain of an address, or localhost.
func mailDomain(address string) string {
	if at := strings.LastIndexByte(address, '@'); at >= 0 && at < len(address)-1 {
		return address[at+1:]
	}
	return "localhost"
}

// messageID derives the Message-ID (without brackets) from the
// notification's id, so that a message sent twice carries the same one and
// a mail client shows it once.
func messageID(notificationID, domain string) string {
	var b strings.Builder
	b.WriteString("notification-")
	for _, r := range notificationID {
		if r < 0x80 && (r == '-' || r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			b.WriteRune(r)
			continue
		}
		for _, c := range []byte(string(r)) {
			fmt.Fprintf(&b, "=%02X", c)
		}
	}
	return b.String() + "@" + domain
}

// render writes m as an RFC 5322 message: multipart/alternative with a
// text/plain and a text/html part, both UTF-8 and quoted-printable, and
// non-ASCII header text encoded as RFC 2047 words.
func render(cfg Config, m notification.Message, from, to *mail.Address, now time.Time) (rendered, error) {
	c, err := compose(cfg, m)
	if err != nil {
		return rendered{}, err
	}
	htmlBody, err := c.html()
	if err != nil {
		return rendered{}, fmt.Errorf("render HTML: %w", err)
	}

	var h gomail.Header
	h.SetAddressList("From", []*gomail.Address{{Name: from.Name, Address: from.Address}})
	h.SetAddressList("To", []*gomail.Address{{Name: to.Name, Address: to.Address}})
	h.SetSubject(c.Subject)
	h.SetDate(now)
	if m.ID != "" {
		h.SetMessageID(messageID(m.ID, mailDomain(from.Address)))
	} else if err := h.GenerateMessageIDWithHostname(mailDomain(from.Address)); err != nil {
		return rendered{}, fmt.Errorf("generate Message-ID: %w", err)
	}
	// Automatic mail: auto-responders and out-of-office replies stay
	// quiet (RFC 3834; the second for Exchange).
	h.Set("Auto-Submitted", "auto-generated")
	h.Set("X-Auto-Response-Suppress", "All")

	var buf bytes.Buffer
	w, err := gomail.CreateInlineWriter(&buf, h)
	if err != nil {
		return rendered{}, fmt.Errorf("write message: %w", err)
	}
	for _, part := range []struct{ typ, body string }{{"text/plain", c.text()}, {"text/html", htmlBody}} {
		var ph gomail.InlineHeader
		ph.SetContentType(part.typ, map[string]string{"charset": "utf-8"})
		pw, err := w.CreatePart(ph)
		if err != nil {
			return rendered{}, fmt.Errorf("write %s part: %w", part.typ, err)
		}
		if _, err := pw.Write([]byte(part.body)); err != nil {
			return rendered{}, fmt.Errorf("write %s part: %w", part.typ, err)
		}
		if err := pw.Close(); err != nil {
			return rendered{}, fmt.Errorf("write %s part: %w", part.typ, err)
		}
	}
	if err := w.Close(); err != nil {
		return rendered{}, fmt.Errorf("write message: %w", err)
	}
	return rendered{ID: h.Get("Message-Id"), Bytes: buf.Bytes()}, nil
}
