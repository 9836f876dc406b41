// Package auth signs people in and out and turns a request's session token
// into the principal the rest of the request acts for.
package auth

import (
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/oncallhq/goalert/adapters/auth/session"
	"github.com/oncallhq/goalert/commands"
	"github.com/oncallhq/goalert/domain/user"
)

// CookieName is GoAlert's session cookie name, so browser sessions and
// scripts that set it keep working.
const CookieName = "goalert_session.2"

// SessionTTL is how long a session token is valid.
const SessionTTL = 30 * 24 * time.Hour

// Auth serves the identity endpoints and authenticates requests.
type Auth struct {
	cmds      *commands.Handler
	signer    *session.Signer
	publicURL *url.URL
	log       *slog.Logger
}

// New returns an Auth. publicURL may be empty: the request's own host is
// then the expected origin of sign-in forms.
func New(cmds *commands.Handler, signer *session.Signer, publicURL string, log *slog.Logger) (*Auth, error) {
	a := &Auth{cmds: cmds, signer: signer, log: log}
	if publicURL != "" {
		u, err := url.Parse(strings.TrimSuffix(publicURL, "/"))
		if err != nil || u.Scheme == "" || u.Host == "" {
			return nil, errors.New("--public-url must be an absolute URL such as https://goalert.example.com")
		}
		a.publicURL = u
	}
	return a, nil
}

// Register adds the identity endpoints to e.
func (a *Auth) Register(e *echo.Echo) {
	e.GET("/api/v2/identity/providers", a.providers)
	e.POST("/api/v2/identity/providers/basic", a.basicLogin)
	e.POST("/api/v2/identity/logout", a.logout)
}

type field struct {
	ID       string
	Label    string
	Password bool
}

type provider struct {
	ID      string
	Title   string
	LogoUrl string
	URL     string
	Fields  []field
	Hidden  bool
}

func (a *Auth) providers(c echo.Context) error {
	return c.JSON(http.StatusOK, []provider{{
		ID: "basic", Title: "Basic", URL: "/api/v2/identity/providers/basic",
		Fields: []field{{ID: "username", Label: "Username"}, {ID: "password", Label: "Password", Password: true}},
	}})
}

// base is the origin sign-in forms must come from.
func (a *Auth) base(r *http.Request) *url.URL {
	if a.publicURL != nil {
		return a.publicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return &url.URL{Scheme: scheme, Host: r.Host}
}

// refererOK accepts a Referer at the public URL or any path under it, so a
// cross-site form cannot sign someone in.
func (a *Auth) refererOK(r *http.Request) bool {
	ref, err := url.Parse(r.Referer())
	if err != nil || r.Referer() == "" {
		return false
	}
	b := a.base(r)
	if !strings.EqualFold(ref.Scheme, b.Scheme) || !strings.EqualFold(ref.Host, b.Host) {
		return false
	}
	prefix := strings.TrimSuffix(b.Path, "/")
	return ref.Path == prefix || strings.HasPrefix(ref.Path, prefix+"/") || prefix == ""
}

func (a *Auth) basicLogin(c echo.Context) error {
	r := c.Request()
	noRedirect := c.QueryParam("noRedirect") == "1"
	if !a.refererOK(r) {
		return echo.NewHTTPError(http.StatusBadRequest, "the Referer header must be the public URL of this server ("+a.base(r).String()+")")
	}
	username, password := c.FormValue("username"), c.FormValue("password")
	if username == "" || password == "" {
		return a.loginFailed(c, noRedirect, "username and password are required")
	}
	sid, uid, err := a.cmds.SignIn(r.Context(), username, password, r.UserAgent(), c.RealIP())
	if errors.Is(err, commands.ErrBadCredentials) {
		return a.loginFailed(c, noRedirect, commands.ErrBadCredentials.Message)
	}
	if err != nil {
		return err
	}
	token, err := a.signer.Issue(sid, uid, SessionTTL)
	if err != nil {
		return err
	}
	a.setCookie(c, token, SessionTTL)
	if noRedirect {
		return c.String(http.StatusOK, token)
	}
	return c.Redirect(http.StatusFound, a.redirectTarget(r, ""))
}

func (a *Auth) loginFailed(c echo.Context, noRedirect bool, msg string) error {
	if noRedirect {
		return echo.NewHTTPError(http.StatusUnauthorized, msg)
	}
	return c.Redirect(http.StatusFound, a.redirectTarget(c.Request(), msg))
}

// redirectTarget sends the browser back where it came from, with the
// error when there is one.
func (a *Auth) redirectTarget(r *http.Request, loginError string) string {
	u, err := url.Parse(r.Referer())
	if err != nil || r.Referer() == "" {
		u = a.base(r)
	}
	q := u.Query()
	q.Del("login_error")
	if loginError != "" {
		q.Set("login_error", loginError)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func (a *Auth) setCookie(c echo.Context, token string, ttl time.Duration) {
	b := a.base(c.Request())
	path := b.Path
	if path == "" {
		path = "/"
	}
	c.SetCookie(&http.Cookie{
		Name: CookieName, Value: token, Path: path, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: b.Scheme == "https", MaxAge: int(ttl.Seconds()),
	})
}

func (a *Auth) logout(c echo.Context) error {
	if claims, err := a.signer.Verify(tokenOf(c.Request())); err == nil {
		if _, err := a.cmds.EndSession(c.Request().Context(), claims.SessionID); err != nil {
			return err
		}
	}
	a.setCookie(c, "", -time.Second)
	return c.NoContent(http.StatusNoContent)
}

// tokenOf finds a session token: the Authorization bearer, else the cookie.
func tokenOf(r *http.Request) string {
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	if ck, err := r.Cookie(CookieName); err == nil {
		return ck.Value
	}
	return ""
}

// Middleware puts the principal of a valid, live session into the
// request's context. A request without a token passes through with no
// principal; one with a bad, expired or signed-out token is refused with
// 401 at once.
func (a *Auth) Middleware(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		tok := tokenOf(r)
		if tok == "" {
			return next(c)
		}
		claims, err := a.signer.Verify(tok)
		if err != nil {
			msg := "invalid session token"
			if errors.Is(err, session.ErrExpired) {
				msg = "session expired; sign in again"
			}
			return echo.NewHTTPError(http.StatusUnauthorized, msg)
		}
		uid, name, role, ok, err := a.cmds.LiveSession(r.Context(), claims.SessionID)
		if err != nil {
			return err
		}
		if !ok || uid != claims.UserID {
			return echo.NewHTTPError(http.StatusUnauthorized, "session ended; sign in again")
		}
		src := "web"
		if _, cerr := r.Cookie(CookieName); cerr != nil {
			src = "api"
		}
		p := user.Principal{UserID: uid, Name: name, Role: user.Role(role), Source: src}
		c.SetRequest(r.WithContext(user.WithPrincipal(r.Context(), p)))
		return next(c)
	}
}
