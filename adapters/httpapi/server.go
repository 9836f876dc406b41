// Package httpapi is the HTTP edge: the echo server with the product's
// limits, logging and error translation, and the health endpoints. Other
// adapters register their routes on it.
package httpapi

import (
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/oncallhq/goalert/domain"
)

// Config tunes the server.
type Config struct {
	// MaxBodyBytes bounds request bodies (413 past it); 0 disables.
	MaxBodyBytes int64
	// MaxHeaderBytes bounds the request line and headers (431 past it); 0
	// disables. Go's server enforces it only loosely (with about 4 KB of
	// slack), so it is checked here exactly.
	MaxHeaderBytes int64
	// LogRequests logs every request at info level.
	LogRequests bool
	// SecureHeaders sets X-Frame-Options, X-Content-Type-Options,
	// X-XSS-Protection and a Content-Security-Policy.
	SecureHeaders bool
	Logger        *slog.Logger
}

// EngineHealth reports whether the background engine is working.
type EngineHealth interface {
	// EngineReady returns nil once the engine has completed a cycle, and
	// an error saying why not otherwise (api-only mode, starting).
	EngineReady() error
}

// Server is the product's HTTP handler.
type Server struct {
	e        *echo.Echo
	log      *slog.Logger
	stopping atomic.Bool
}

// New returns a server with the health endpoints registered.
func New(cfg Config, engine EngineHealth) *Server {
	s := &Server{e: echo.New(), log: cfg.Logger}
	e := s.e
	e.HideBanner, e.HidePort = true, true
	// Without an extractor, echo trusts X-Forwarded-For from anyone; rate
	// limits and audit records must see the real peer.
	e.IPExtractor = echo.ExtractIPDirect()
	e.HTTPErrorHandler = s.handleError
	e.Use(middleware.Recover())
	if cfg.LogRequests {
		e.Use(middleware.RequestLoggerWithConfig(middleware.RequestLoggerConfig{
			LogMethod: true, LogURIPath: true, LogStatus: true, LogLatency: true, LogRemoteIP: true,
			LogValuesFunc: func(c echo.Context, v middleware.RequestLoggerValues) error {
				s.log.Info("request", "method", v.Method, "path", v.URIPath, "status", v.Status,
					"latency", v.Latency, "ip", v.RemoteIP)
				return nil
			},
		}))
	}
	if cfg.SecureHeaders {
		e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
			XSSProtection: "1; mode=block", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
			ContentSecurityPolicy: "default-src 'self'; style-src 'self' 'unsafe-inline'; font-src 'self' data:; frame-ancestors 'none'",
		}))
	}
	if cfg.MaxHeaderBytes > 0 {
		e.Use(headerLimit(cfg.MaxHeaderBytes))
	}
	if cfg.MaxBodyBytes > 0 {
		e.Use(bodyLimit(cfg.MaxBodyBytes))
	}

	e.GET("/health", func(c echo.Context) error {
		if s.stopping.Load() {
			return c.String(http.StatusInternalServerError, "shutting down\n")
		}
		return c.String(http.StatusOK, "ok\n")
	})
	e.GET("/health/engine", func(c echo.Context) error {
		if err := engine.EngineReady(); err != nil {
			return c.String(http.StatusInternalServerError, err.Error()+"\n")
		}
		return c.String(http.StatusOK, "ok\n")
	})
	return s
}

// Echo returns the router, for adapters to register routes on.
func (s *Server) Echo() *echo.Echo { return s.e }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.e.ServeHTTP(w, r) }

// Stopping makes /health fail, so load balancers drain this instance.
func (s *Server) Stopping() { s.stopping.Store(true) }

// headerLimit refuses requests whose request line and headers, as sent
// ("Name: value\r\n" each), exceed limit bytes.
func headerLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			size := int64(len(r.Method) + len(r.RequestURI) + len(r.Proto) + 4)
			for k, vs := range r.Header {
				for _, v := range vs {
					size += int64(len(k) + len(v) + 4)
				}
			}
			if size > limit {
				return echo.NewHTTPError(http.StatusRequestHeaderFieldsTooLarge,
					"request headers exceed "+strconv.FormatInt(limit, 10)+" bytes")
			}
			return next(c)
		}
	}
}

func bodyLimit(limit int64) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			r := c.Request()
			if r.ContentLength > limit {
				return echo.NewHTTPError(http.StatusRequestEntityTooLarge,
					"request body exceeds "+strconv.FormatInt(limit, 10)+" bytes")
			}
			r.Body = http.MaxBytesReader(c.Response(), r.Body, limit)
			return next(c)
		}
	}
}

// statusOf is the one translation of error kinds to HTTP statuses.
var statusOf = map[domain.Kind]int{
	domain.KindInvalid:      http.StatusBadRequest,
	domain.KindNotFound:     http.StatusNotFound,
	domain.KindConflict:     http.StatusConflict,
	domain.KindForbidden:    http.StatusForbidden,
	domain.KindUnauthorized: http.StatusUnauthorized,
	domain.KindLimit:        http.StatusBadRequest,
	domain.KindUnavailable:  http.StatusServiceUnavailable,
	domain.KindInternal:     http.StatusInternalServerError,
}

// ErrorBody is the JSON shape of every error reply.
type ErrorBody struct {
	Error string `json:"error"`
	Code  string `json:"code,omitempty"`
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body := s.translate(err, c)
	if c.Request().Method == http.MethodHead {
		_ = c.NoContent(status)
		return
	}
	_ = c.JSON(status, body)
}

func (s *Server) translate(err error, c echo.Context) (int, ErrorBody) {
	var he *echo.HTTPError
	if errors.As(err, &he) {
		msg, ok := he.Message.(string)
		if !ok {
			msg = http.StatusText(he.Code)
		}
		return he.Code, ErrorBody{Error: msg}
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return http.StatusRequestEntityTooLarge, ErrorBody{Error: "request body exceeds " + strconv.FormatInt(mbe.Limit, 10) + " bytes"}
	}
	kind := domain.KindOf(err)
	var de *domain.Error
	if kind != domain.KindInternal && errors.As(err, &de) {
		return statusOf[kind], ErrorBody{Error: de.Error(), Code: de.Code}
	}
	// Internal details (SQL text, stack) stay in the log.
	s.log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
	return http.StatusInternalServerError, ErrorBody{Error: "internal error"}
}
