package ingest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// PDInvalidMessage is the message of every PDError, as PagerDuty words it.
const PDInvalidMessage = "Event object is invalid"

// MaxPDDedupKeyLength is the longest dedup_key PagerDuty accepts, in
// characters.
const MaxPDDedupKeyLength = 255

// PDError is a PagerDuty Events API v2 validation failure. The HTTP layer
// renders it as 400 {"status":"invalid event","message":Message,"errors":Errors}.
type PDError struct {
	Message string   // always PDInvalidMessage
	Errors  []string // one entry per problem found, in a fixed order
}

func (e *PDError) Error() string { return e.Message + ": " + strings.Join(e.Errors, "; ") }

// PDEvent is a parsed PagerDuty Events API v2 event.
type PDEvent struct {
	RoutingKey string  // the integration key token
	Request    Request // the alert action
	// DedupKey is what to echo in the 202 reply: the event's dedup_key, or
	// for a trigger without one a generated key, which Request.Dedup also
	// carries so that a later resolve with it finds the alert.
	DedupKey string
}

// pdBody is a PagerDuty Events API v2 event.
type pdBody struct {
	RoutingKey  string     `json:"routing_key"`
	EventAction string     `json:"event_action"`
	DedupKey    string     `json:"dedup_key"`
	Payload     *pdPayload `json:"payload"`
	Images      []pdImage  `json:"images"`
	Links       []pdLink   `json:"links"`
	Client      string     `json:"client"`
	ClientURL   string     `json:"client_url"`
}

// pdPayload is an event's payload.
type pdPayload struct {
	Summary       string          `json:"summary"`
	Source        string          `json:"source"`
	Severity      string          `json:"severity"`
	Timestamp     string          `json:"timestamp"`
	Component     string          `json:"component"`
	Group         string          `json:"group"`
	Class         string          `json:"class"`
	CustomDetails json.RawMessage `json:"custom_details"`
}

// pdLink is a link attached to an event.
type pdLink struct {
	Href string `json:"href"`
	Text string `json:"text"`
}

// pdImage is an image attached to an event.
type pdImage struct {
	Src  string `json:"src"`
	Href string `json:"href"`
	Alt  string `json:"alt"`
}

// pdActions maps event_action values to actions.
var pdActions = map[string]Action{
	"trigger":     ActionTrigger,
	"acknowledge": ActionAcknowledge,
	"resolve":     ActionClose,
}

// pdSeverities are the severities PagerDuty accepts.
var pdSeverities = []string{"critical", "error", "warning", "info"}

// PagerDutyV2 parses a PagerDuty Events API v2 event, POST /v2/enqueue.
//
// It validates as PagerDuty does and reports every problem at once in a
// *PDError, malformed JSON included: routing_key is required (any non-empty
// value: our integration keys are UUIDs, not PagerDuty's 32 characters);
// event_action is required and one of trigger, acknowledge or resolve; a
// trigger needs a payload with summary, source and severity (critical, error,
// warning or info); acknowledge and resolve need a dedup_key; a dedup_key
// has at most MaxPDDedupKeyLength characters.
//
// trigger maps to ActionTrigger, acknowledge to ActionAcknowledge and
// resolve to ActionClose. A trigger without a dedup_key (or with a blank
// one) gets a random 32-digit hex key, not a hash of its content: PagerDuty
// opens a new incident for every such trigger, and a content hash would
// merge identical ones.
//
// The summary is payload.summary. The details list the source, severity,
// component, group, class, timestamp and client when present, then
// custom_details as indented JSON with sorted keys (a string as is), then
// the links and images. Meta holds whichever of source, severity,
// component, group and class are non-empty, and is nil when none is.
func PagerDutyV2(body []byte) (PDEvent, error) {
	var b pdBody
	if err := decodeJSON(body, &b); err != nil {
		return PDEvent{}, &PDError{Message: PDInvalidMessage, Errors: []string{err.Error()}}
	}
	if problems := b.problems(); len(problems) > 0 {
		return PDEvent{}, &PDError{Message: PDInvalidMessage, Errors: problems}
	}
	dedup := b.DedupKey
	if blank(dedup) {
		dedup = randomDedupKey()
	}
	return PDEvent{
		RoutingKey: b.RoutingKey,
		Request: Request{
			Action:  pdActions[b.EventAction],
			Summary: foldSummary(b.payload().Summary),
			Details: b.details(),
			Dedup:   dedup,
			Meta:    b.payload().meta(),
		},
		DedupKey: dedup,
	}, nil
}

// payload returns the payload, or an empty one when the event has none.
func (b pdBody) payload() pdPayload {
	if b.Payload == nil {
		return pdPayload{}
	}
	return *b.Payload
}

// problems lists what makes the event invalid, in field order.
func (b pdBody) problems() []string {
	var p []string
	if blank(b.RoutingKey) {
		p = append(p, "'routing_key' is missing or blank")
	}
	action, known := pdActions[b.EventAction]
	switch {
	case blank(b.EventAction):
		p = append(p, "'event_action' is missing or blank")
	case !known:
		p = append(p, "'event_action' must be one of trigger, acknowledge or resolve")
	}
	if utf8.RuneCountInString(b.DedupKey) > MaxPDDedupKeyLength {
		p = append(p, fmt.Sprintf("'dedup_key' must be at most %d characters", MaxPDDedupKeyLength))
	}
	switch {
	case action == ActionTrigger:
		p = append(p, b.triggerProblems()...)
	case known && blank(b.DedupKey):
		p = append(p, "'dedup_key' is required for "+b.EventAction+" events")
	}
	return p
}

// triggerProblems lists what a trigger's payload lacks.
func (b pdBody) triggerProblems() []string {
	if b.Payload == nil {
		return []string{"'payload' is missing"}
	}
	var p []string
	for _, f := range []struct{ name, value string }{
		{"payload.summary", b.Payload.Summary},
		{"payload.source", b.Payload.Source},
		{"payload.severity", b.Payload.Severity},
	} {
		if blank(f.value) {
			p = append(p, "'"+f.name+"' is missing or blank")
		}
	}
	if !blank(b.Payload.Severity) && !slices.Contains(pdSeverities, b.Payload.Severity) {
		p = append(p, "'payload.severity' must be one of critical, error, warning or info")
	}
	return p
}

// blank reports whether s is empty or only white space.
func blank(s string) bool { return strings.TrimSpace(s) == "" }

// randomDedupKey returns 32 random hex digits.
func randomDedupKey() string {
	var b [16]byte
	rand.Read(b[:]) // never fails: crypto/rand panics rather than return an error
	return hex.EncodeToString(b[:])
}

// meta returns the payload's identifying fields, nil when all are empty.
func (p pdPayload) meta() map[string]string {
	m := map[string]string{}
	for k, v := range map[string]string{
		"source": p.Source, "severity": p.Severity,
		"component": p.Component, "group": p.Group, "class": p.Class,
	} {
		if v != "" {
			m[k] = v
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

// details renders the event as readable, deterministic text.
func (b pdBody) details() string {
	p := b.payload()
	return joinNonEmpty("\n\n",
		b.facts(),
		titled("Custom details:", renderCustomDetails(p.CustomDetails)),
		titled("Links:", b.renderLinks()),
		titled("Images:", b.renderImages()),
	)
}

// facts renders the payload's scalar fields and the client, one per line.
func (b pdBody) facts() string {
	p := b.payload()
	return joinNonEmpty("\n",
		labelled("Source", p.Source),
		labelled("Severity", p.Severity),
		labelled("Component", p.Component),
		labelled("Group", p.Group),
		labelled("Class", p.Class),
		labelled("Timestamp", p.Timestamp),
		labelled("Client", joinNonEmpty(" ", b.Client, b.ClientURL)),
	)
}

// titled returns title and body on separate lines, or "" for an empty body.
func titled(title, body string) string {
	if body == "" {
		return ""
	}
	return title + "\n" + body
}

// renderCustomDetails renders custom_details: nothing for absent or null, a
// string as is, anything else as JSON indented by two spaces with object
// keys sorted and numbers kept as sent.
func renderCustomDetails(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return string(raw)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if enc.Encode(v) != nil {
		return string(raw)
	}
	return strings.TrimSuffix(out.String(), "\n")
}

// renderLinks lists the links as "- text: href" (or "- href").
func (b pdBody) renderLinks() string {
	lines := make([]string, 0, len(b.Links))
	for _, l := range b.Links {
		if l.Href != "" {
			lines = append(lines, "- "+joinNonEmpty(": ", l.Text, l.Href))
		}
	}
	return strings.Join(lines, "\n")
}

// renderImages lists the images as "- alt: src" (or "- src"), followed by
// " (href)" when the image links somewhere.
func (b pdBody) renderImages() string {
	lines := make([]string, 0, len(b.Images))
	for _, im := range b.Images {
		if im.Src == "" {
			continue
		}
		line := "- " + joinNonEmpty(": ", im.Alt, im.Src)
		if im.Href != "" {
			line += " (" + im.Href + ")"
		}
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}
