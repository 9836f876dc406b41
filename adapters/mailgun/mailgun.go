// Package mailgun turns email forwarded by a Mailgun route into alerts, at
// GoAlert's POST /api/v2/mailgun/incoming (and its legacy path
// /v1/webhooks/mailgun).
//
// The route's recipient is <integration key id>[+dedup]@<Mailgun.EmailDomain>;
// the alert's summary is the subject and its details are "From: <from>",
// a blank line and the plain-text body. Each request is signed by Mailgun
// with the account's API key, and a request whose signature does not
// verify is refused.
//
// Mailgun retries a forward for hours unless the reply is 200 or 406, so
// every refusal that a retry cannot fix (Mailgun disabled, a bad signature,
// recipient or key) is 406, and only failures on our side, which may pass,
// are 5xx.
package mailgun

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/config"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/events"
)

// Handler serves the Mailgun route endpoint.
type Handler struct {
	cmds   *commands.Handler
	config func() config.Values
}

// New returns the handler. current returns the admin config as it is now
// (Mailgun.Enable, Mailgun.APIKey, Mailgun.EmailDomain); it is called on
// every request, so a change applies to the next email.
func New(cmds *commands.Handler, current func() config.Values) *Handler {
	return &Handler{cmds: cmds, config: current}
}

// Register adds the endpoint, with GoAlert's legacy path, to e.
func (h *Handler) Register(e *echo.Echo) {
	for _, p := range []string{"/api/v2/mailgun/incoming", "/v1/webhooks/mailgun"} {
		e.POST(p, h.incoming)
	}
}

// notAcceptable is a refusal that Mailgun must not retry.
func notAcceptable(msg string) error { return echo.NewHTTPError(http.StatusNotAcceptable, msg) }

// maxFormMemory is how much of a multipart form is held in memory; the
// server's body limit bounds the whole request.
const maxFormMemory = 1 << 20

func (h *Handler) incoming(c echo.Context) error {
	r := c.Request()
	if err := r.ParseMultipartForm(maxFormMemory); err != nil && !errors.Is(err, http.ErrNotMultipart) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return notAcceptable("malformed form body")
	}
	if r.MultipartForm != nil {
		defer func() { _ = r.MultipartForm.RemoveAll() }()
	}
	form := r.PostFormValue

	cfg := h.config()
	if !cfg.Bool("Mailgun.Enable") {
		return notAcceptable("Mailgun integration is disabled")
	}
	if !Verify(cfg.String("Mailgun.APIKey"), form("timestamp"), form("token"), form("signature")) {
		return notAcceptable("invalid signature")
	}
	key, dedup, err := ParseRecipient(form("recipient"), cfg.String("Mailgun.EmailDomain"))
	if err != nil {
		return notAcceptable(err.Error())
	}
	from := form("from")
	if from == "" {
		from = form("sender")
	}
	ctx := events.WithMetadata(r.Context(), events.Metadata{Actor: "integration_key:" + key, Source: "email"})
	_, _, err = h.cmds.Ingest(ctx, commands.Ingest{
		Token: key, Type: service.KeyEmail, Action: commands.IngestTrigger, Dedup: dedup,
		Summary: shorten(form("subject"), alert.MaxSummaryLength),
		Details: shorten("From: "+from+"\n\n"+form("body-plain"), alert.MaxDetailsLength),
	})
	switch domain.KindOf(err) {
	case "":
		return c.NoContent(http.StatusOK)
	case domain.KindInvalid, domain.KindUnauthorized, domain.KindForbidden, domain.KindNotFound, domain.KindConflict, domain.KindLimit:
		var de *domain.Error
		if errors.As(err, &de) {
			return notAcceptable(de.Error())
		}
		return notAcceptable(http.StatusText(http.StatusNotAcceptable))
	default:
		return err
	}
}

// Verify reports whether signature is Mailgun's signature of timestamp and
// token under apiKey: hex(HMAC-SHA256(apiKey, timestamp+token)). Without a
// key nothing verifies.
func Verify(apiKey, timestamp, token, signature string) bool {
	if apiKey == "" || timestamp == "" || token == "" {
		return false
	}
	got, err := hex.DecodeString(signature)
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, []byte(apiKey))
	mac.Write([]byte(timestamp + token))
	return hmac.Equal(got, mac.Sum(nil))
}

// Recipient errors; each explains to the sender's admin what is wrong.
var (
	errNoRecipient = errors.New("missing recipient")
	errDomain      = errors.New("recipient is not at the configured Mailgun email domain")
	errKey         = errors.New("recipient must be <integration key id>[+dedup]@<domain>")
)

// ParseRecipient splits recipient, <key>[+dedup]@<domain> or the same
// with a display name, into the integration key (canonical form) and the
// dedup key. The domain must be emailDomain, in any case.
func ParseRecipient(recipient, emailDomain string) (key, dedup string, err error) {
	addr := strings.TrimSpace(recipient)
	if addr == "" {
		return "", "", errNoRecipient
	}
	if a, err := mail.ParseAddress(addr); err == nil {
		addr = a.Address
	}
	at := strings.LastIndexByte(addr, '@')
	if at < 0 || emailDomain == "" || !strings.EqualFold(addr[at+1:], emailDomain) {
		return "", "", errDomain
	}
	local, dedup, _ := strings.Cut(addr[:at], "+")
	id, err := uuid.Parse(local)
	if err != nil {
		return "", "", errKey
	}
	return id.String(), dedup, nil
}

// shorten cuts s to at most n characters, the last being "…" when it was
// cut: an email's subject and body are what the sender wrote, and
// refusing a long one would lose the page.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	count := 0
	for i := range s {
		if count == n-1 {
			return s[:i] + "…"
		}
		count++
	}
	return s
}
