// Package ingesthttp serves the alert ingest endpoints: it finds the
// integration key in the request, parses the body with package ingest and
// hands each action to the command handler.
package ingesthttp

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/adapters/ingest"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/alert"
	"github.com/oncallhq/goalert/domain/service"
	"github.com/oncallhq/goalert/events"
)

// Handlers serves the ingest endpoints.
type Handlers struct {
	cmds *commands.Handler
}

// New returns the ingest handlers.
func New(cmds *commands.Handler) *Handlers { return &Handlers{cmds: cmds} }

// Register adds the endpoints, with GoAlert's legacy paths, to e.
func (h *Handlers) Register(e *echo.Echo) {
	for _, p := range []string{"/api/v2/generic/incoming", "/v1/api/alerts"} {
		e.POST(p, h.generic)
	}
	for _, p := range []string{"/api/v2/grafana/incoming", "/v1/webhooks/grafana"} {
		e.POST(p, h.each(service.KeyGrafana, ingest.Grafana))
	}
	e.POST("/api/v2/prometheusalertmanager/incoming", h.each(service.KeyAlertmanager, one(ingest.Alertmanager)))
	e.POST("/api/v2/site24x7/incoming", h.each(service.KeySite24x7, one(ingest.Site24x7)))
	e.POST("/v2/enqueue", h.pagerDuty)
}

var errNoToken = echo.NewHTTPError(http.StatusUnauthorized, "missing integration key: pass it as ?token=, integrationKey, key, a Bearer token or the basic-auth password")

// readInput reads the whole (size-limited) body and parses form fields
// from it and from the query.
func readInput(r *http.Request) (ingest.Input, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return ingest.Input{}, err
		}
		return ingest.Input{}, echo.NewHTTPError(http.StatusBadRequest, "could not read request body")
	}
	in := ingest.Input{ContentType: r.Header.Get("Content-Type"), Query: r.URL.Query(), Body: body}
	mt, params, _ := mime.ParseMediaType(in.ContentType)
	switch mt {
	case "application/x-www-form-urlencoded":
		if in.Form, err = url.ParseQuery(string(body)); err != nil {
			return in, echo.NewHTTPError(http.StatusBadRequest, "malformed form body")
		}
	case "multipart/form-data":
		f, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(int64(len(body)) + 1024)
		if err != nil {
			return in, echo.NewHTTPError(http.StatusBadRequest, "malformed multipart body")
		}
		defer f.RemoveAll()
		in.Form = url.Values(f.Value)
	}
	return in, nil
}

// readRequest reads the body and finds the integration key; a request
// without one is refused.
func readRequest(r *http.Request) (ingest.Input, string, error) {
	in, err := readInput(r)
	if err != nil {
		return in, "", err
	}
	tok := token(r, in)
	if tok == "" {
		return in, "", errNoToken
	}
	return in, tok, nil
}

// token finds the integration key in GoAlert's order: form or query
// token, integrationKey, integration_key, key; then a Bearer token; then
// the basic-auth password.
func token(r *http.Request, in ingest.Input) string {
	for _, name := range []string{"token", "integrationKey", "integration_key", "key"} {
		if v := in.Form.Get(name); v != "" {
			return v
		}
		if v := in.Query.Get(name); v != "" {
			return v
		}
	}
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if _, pass, ok := r.BasicAuth(); ok {
		return pass
	}
	return ""
}

func (h *Handlers) apply(ctx context.Context, tok string, t service.KeyType, req ingest.Request) (commands.AlertRef, error) {
	ctx = events.WithMetadata(ctx, events.Metadata{Actor: "integration_key:" + tok, Source: string(t)})
	ref, _, err := h.cmds.Ingest(ctx, commands.Ingest{
		Token: tok, Type: t, Action: commands.IngestAction(req.Action),
		Summary: req.Summary, Details: req.Details, Dedup: req.Dedup, Meta: req.Meta,
	})
	return ref, err
}

// fit shortens a monitoring tool's summary and details to the alert's
// limits, marking the cut with "…". Those tools build the text from labels,
// annotations and custom details the sender cannot shorten, and most do not
// retry a 4xx: refusing would lose the page. (GoAlert shortens them too.)
// The generic API, whose caller writes the text, keeps refusing what is too
// long.
func fit(req ingest.Request) ingest.Request {
	req.Summary = shorten(req.Summary, alert.MaxSummaryLength)
	req.Details = shorten(req.Details, alert.MaxDetailsLength)
	return req
}

// shorten returns s cut to at most n characters, the last being "…" when
// it was cut.
func shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i, count := 0, 0
	for i = range s {
		if count == n-1 {
			break
		}
		count++
	}
	return s[:i] + "…"
}

// clientError turns a parse failure into a 400 with its message.
func clientError(err error) error {
	var pe *ingest.ParseError
	if errors.As(err, &pe) {
		return echo.NewHTTPError(http.StatusBadRequest, pe.Msg)
	}
	return err
}

type genericReply struct {
	AlertID   int64
	ServiceID string
	IsNew     bool
}

func (h *Handlers) generic(c echo.Context) error {
	r := c.Request()
	in, tok, err := readRequest(r)
	if err != nil {
		return err
	}
	req, err := ingest.Generic(in)
	if err != nil {
		return clientError(err)
	}
	ref, err := h.apply(r.Context(), tok, service.KeyGeneric, req)
	if err != nil {
		return err
	}
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		return c.JSON(http.StatusOK, genericReply{AlertID: ref.ID, ServiceID: ref.ServiceID, IsNew: ref.IsNew})
	}
	return c.NoContent(http.StatusNoContent)
}

func one(parse func(ingest.Input) (ingest.Request, error)) func(ingest.Input) ([]ingest.Request, error) {
	return func(in ingest.Input) ([]ingest.Request, error) {
		req, err := parse(in)
		if err != nil {
			return nil, err
		}
		return []ingest.Request{req}, nil
	}
}

// each serves an endpoint whose body may carry several alerts; they are
// applied in order, and the first failure stops the rest.
func (h *Handlers) each(t service.KeyType, parse func(ingest.Input) ([]ingest.Request, error)) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		in, tok, err := readRequest(r)
		if err != nil {
			return err
		}
		reqs, err := parse(in)
		if err != nil {
			return clientError(err)
		}
		for _, req := range reqs {
			if _, err := h.apply(r.Context(), tok, t, fit(req)); err != nil {
				return err
			}
		}
		return c.NoContent(http.StatusNoContent)
	}
}

type pdReply struct {
	Status   string   `json:"status"`
	Message  string   `json:"message"`
	DedupKey string   `json:"dedup_key,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// pagerDuty serves the PagerDuty Events API v2: 202 with PagerDuty's body
// on success, 400 with its "invalid event" body for a malformed event.
func (h *Handlers) pagerDuty(c echo.Context) error {
	r := c.Request()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	ev, err := ingest.PagerDutyV2(body)
	var pde *ingest.PDError
	if errors.As(err, &pde) {
		return c.JSON(http.StatusBadRequest, pdReply{Status: "invalid event", Message: pde.Message, Errors: pde.Errors})
	}
	if err != nil {
		return c.JSON(http.StatusBadRequest, pdReply{Status: "invalid event", Message: err.Error()})
	}
	if _, err := h.apply(r.Context(), ev.RoutingKey, service.KeyPagerDuty, fit(ev.Request)); err != nil {
		if domain.KindOf(err) == domain.KindUnauthorized {
			return c.JSON(http.StatusUnauthorized, pdReply{Status: "invalid event", Message: "Invalid routing key"})
		}
		var de *domain.Error
		if errors.As(err, &de) && de.Kind == domain.KindInvalid {
			return c.JSON(http.StatusBadRequest, pdReply{Status: "invalid event", Message: ingest.PDInvalidMessage, Errors: []string{de.Error()}})
		}
		return err
	}
	return c.JSON(http.StatusAccepted, pdReply{Status: "success", Message: "Event processed", DedupKey: ev.DedupKey})
}
