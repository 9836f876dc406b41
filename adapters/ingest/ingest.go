// Package ingest turns the requests of every alert integration (the generic
// API, Grafana, Prometheus Alertmanager, Site24x7 and the PagerDuty Events
// API v2) into normalized alert actions.
//
// It only parses: it runs no HTTP server, reads no token and touches no
// database. An HTTP handler reads the request into an [Input] (or, for
// PagerDuty, the raw body), calls the function for its endpoint and hands the
// resulting [Request] values to the domain, which validates lengths and
// computes the automatic dedup key when [Request.Dedup] is empty.
//
// Every client error is a [*ParseError] (or, for PagerDuty, a [*PDError]) whose
// message a person can act on; the HTTP layer maps both to 400.
package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"reflect"
	"strings"
)

// Action is what a request asks the domain to do with the alert it names.
// The set is closed: see [Action.Valid].
type Action string

// The actions.
const (
	ActionTrigger     Action = "trigger"     // open an alert, or report a duplicate of the open one
	ActionClose       Action = "close"       // close the open alert with the same dedup key, if any
	ActionAcknowledge Action = "acknowledge" // acknowledge the open alert with the same dedup key, if any
)

// Valid reports whether a is one of the defined actions.
func (a Action) Valid() bool {
	switch a {
	case ActionTrigger, ActionClose, ActionAcknowledge:
		return true
	}
	return false
}

// Request is one normalized alert action from any integration.
type Request struct {
	Action Action
	// Summary is already folded: every line break ("\r\n", "\n" or "\r")
	// became one space and the result is trimmed. It is not truncated: the
	// domain validates its length.
	Summary string
	// Details is kept as the integration sent or rendered it.
	Details string
	// Dedup is the caller-supplied dedup key, "" when there is none (the
	// domain then hashes summary and details).
	Dedup string
	// Meta is the generic API's metadata; nil when there is none.
	Meta map[string]string
}

// ParseError is a client error with a message a person can act on. The HTTP
// layer maps it to 400.
type ParseError struct{ Msg string }

func (e *ParseError) Error() string { return e.Msg }

// parseErrorf returns a *ParseError with a formatted message.
func parseErrorf(format string, args ...any) *ParseError {
	return &ParseError{Msg: fmt.Sprintf(format, args...)}
}

// Input is what an HTTP handler hands over. It keeps this package free of
// net/http server types.
type Input struct {
	ContentType string     // the request's Content-Type header
	Query       url.Values // the URL query parameters
	Form        url.Values // parsed urlencoded or multipart form fields; may be nil
	Body        []byte     // the raw body, already size-limited by the caller
}

// value returns the form field key when the form has it, else the query
// parameter key, else "". A form that net/http built with ParseForm already
// holds the query parameters after the body's, so both ways of filling
// [Input.Form] give the body precedence.
func (in Input) value(key string) string {
	if vs, ok := in.Form[key]; ok && len(vs) > 0 {
		return vs[0]
	}
	return in.Query.Get(key)
}

// values returns every form entry for key when the form has any, else every
// query entry for key.
func (in Input) values(key string) []string {
	if vs := in.Form[key]; len(vs) > 0 {
		return vs
	}
	return in.Query[key]
}

// isJSON reports whether the Content-Type names application/json, whatever
// its parameters (charset) or letter case.
func (in Input) isJSON() bool { return mediaType(in.ContentType) == "application/json" }

// isForm reports whether the Content-Type names a urlencoded or multipart
// form.
func (in Input) isForm() bool {
	switch mediaType(in.ContentType) {
	case "application/x-www-form-urlencoded", "multipart/form-data":
		return true
	}
	return false
}

// mediaType returns the lower-case media type of a Content-Type header
// value, without parameters; a value mime cannot parse is cut at its first
// ';'.
func mediaType(contentType string) string {
	if mt, _, err := mime.ParseMediaType(contentType); err == nil {
		return mt
	}
	mt, _, _ := strings.Cut(contentType, ";")
	return strings.ToLower(strings.TrimSpace(mt))
}

// summaryFolder replaces each line break, "\r\n" counting as one, with a
// space.
var summaryFolder = strings.NewReplacer("\r\n", " ", "\r", " ", "\n", " ")

// foldSummary turns every line break of s into one space and trims the
// result.
func foldSummary(s string) string { return strings.TrimSpace(summaryFolder.Replace(s)) }

// decodeJSON unmarshals body into v. A failure is a *ParseError beginning
// "invalid JSON body: " and naming the problem, and the field at fault when
// there is one.
func decodeJSON(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	return &ParseError{Msg: "invalid JSON body: " + describeJSONError(err)}
}

// describeJSONError explains a json.Unmarshal error in words.
func describeJSONError(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		if syn.Error() == "unexpected end of JSON input" {
			return "unexpected end of input"
		}
		return fmt.Sprintf("%s (at byte %d)", syn.Error(), syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		if typ.Field == "" {
			return fmt.Sprintf("expected %s, got %s", kindName(typ.Type), typ.Value)
		}
		return fmt.Sprintf("%s: expected %s, got %s", typ.Field, kindName(typ.Type), typ.Value)
	}
	return err.Error()
}

// kindName names the JSON shape that decodes into t.
func kindName(t reflect.Type) string {
	if t == nil {
		return "another value"
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64,
		reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "another value"
}

// joinNonEmpty joins the non-empty parts with sep.
func joinNonEmpty(sep string, parts ...string) string {
	kept := parts[:0:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}
