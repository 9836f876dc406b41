// Package configapi serves GoAlert's admin config endpoints: GET and PUT
// /api/v2/config, the whole config as JSON sections
// ({"Mailgun": {"Enable": true, "APIKey": "********", ...}, ...}).
//
// Secrets are never sent: a set one reads as config.Mask and an unset one
// as "". PUT takes the same shape, any subset of it; a secret sent back as
// the mask stays as it is, so a script may GET, edit and PUT the whole
// document. GoAlert's PUT takes the whole document; here ids left out of
// a PUT keep their values, so a script can change one setting without
// reading the rest first.
package configapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/domain"
	"github.com/oncallhq/goalert/domain/config"
	"github.com/oncallhq/goalert/domain/user"
	"github.com/oncallhq/goalert/events"
)

// Store is where the config lives.
type Store interface {
	// Current returns every value, secrets decrypted.
	Current() config.Values
	// Set stores values by id, all or nothing (see commands.SetConfig).
	Set(ctx context.Context, values map[string]string) error
}

// Handlers serves the config endpoints.
type Handlers struct{ store Store }

// New returns the handlers.
func New(s Store) *Handlers { return &Handlers{store: s} }

// Register adds the endpoints to e behind auth, the middleware that puts
// the caller's principal into the request context.
func (h *Handlers) Register(e *echo.Echo, auth echo.MiddlewareFunc) {
	e.GET("/api/v2/config", h.get, auth)
	e.PUT("/api/v2/config", h.put, auth)
}

var (
	errSignIn    = &domain.Error{Kind: domain.KindUnauthorized, Code: "unauthenticated", Message: "sign in first"}
	errAdminOnly = domain.Forbidden("admin_only", "only an admin may read or change the config")
)

func admin(c echo.Context) (user.Principal, error) {
	p, ok := user.PrincipalFrom(c.Request().Context())
	if !ok {
		return p, errSignIn
	}
	if !p.IsAdmin() {
		return p, errAdminOnly
	}
	return p, nil
}

func (h *Handlers) get(c echo.Context) error {
	if _, err := admin(c); err != nil {
		return err
	}
	vals := h.store.Current()
	out := map[string]map[string]any{}
	for _, f := range config.Fields() {
		if out[f.Section()] == nil {
			out[f.Section()] = map[string]any{}
		}
		out[f.Section()][f.Name()] = typed(f, f.Display(vals[f.ID]))
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.JSON(http.StatusOK, out)
}

// typed is v as the JSON type of f, as GoAlert's config document has it.
func typed(f config.Field, v string) any {
	switch f.Type {
	case config.TypeBoolean:
		return v == "true"
	case config.TypeInteger:
		n, _ := strconv.Atoi(v)
		return n
	case config.TypeStringList:
		if v == "" {
			return []string{}
		}
		return strings.Split(v, "\n")
	}
	return v
}

func (h *Handlers) put(c echo.Context) error {
	p, err := admin(c)
	if err != nil {
		return err
	}
	r := c.Request()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return err
	}
	var doc map[string]map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil {
		return domain.Invalid("bad_config_document", `the body must be a JSON object of sections, such as {"Mailgun": {"Enable": true}}`)
	}
	values := map[string]string{}
	for section, entries := range doc {
		for name, raw := range entries {
			id := section + "." + name
			f, ok := config.Lookup(id)
			if !ok {
				return domain.FieldErrorf(id, "unknown config id %q", id)
			}
			v, err := untyped(f, raw)
			if err != nil {
				return err
			}
			values[id] = v
		}
	}
	ctx := events.WithMetadata(r.Context(), events.Metadata{Actor: "user:" + p.UserID, ActorName: p.Name, Source: p.Source})
	if err := h.store.Set(ctx, values); err != nil {
		return err
	}
	return c.NoContent(http.StatusNoContent)
}

// untyped turns a JSON value into the string form of f: the JSON type of
// the GET document, or a string in the form GraphQL takes. null is the
// empty value.
func untyped(f config.Field, raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	switch f.Type {
	case config.TypeBoolean:
		var b bool
		if err := json.Unmarshal(raw, &b); err == nil {
			return strconv.FormatBool(b), nil
		}
	case config.TypeInteger:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err == nil {
			return n.String(), nil
		}
	case config.TypeStringList:
		var list []string
		if err := json.Unmarshal(raw, &list); err == nil {
			return strings.Join(list, "\n"), nil
		}
	}
	return "", domain.FieldErrorf(f.ID, "must be a JSON %s", jsonType[f.Type])
}

var jsonType = map[config.Type]string{
	config.TypeString:     "string",
	config.TypeStringList: "array of strings",
	config.TypeInteger:    "number",
	config.TypeBoolean:    "boolean",
}
