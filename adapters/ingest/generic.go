package ingest

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"
)

// Generic parses a generic API request: POST /api/v2/generic/incoming and
// the legacy POST /v1/api/alerts.
//
// The fields are summary, details, action, dedup and meta. Each comes from
// the form when the form has it, else from the query. When the Content-Type
// is application/json (any charset, any letter case) the body must be a JSON
// object {summary, details, action, dedup, meta: {key: value}}; each field it
// holds with a non-null value overrides the form and query value of that
// field, meta as a whole. Key names match case-insensitively, as in GoAlert,
// and other keys are ignored.
//
// The action is ActionClose when it is exactly "close" and ActionTrigger for
// anything else, the empty string included, as in GoAlert.
//
// Form and query meta are repeated "key=value" entries split at the first
// '=', so a value may contain '='; an entry without '=' or with an empty key
// is a *ParseError, and a later entry for a key replaces an earlier one. JSON
// meta values must be strings. Meta is nil when no entry remains.
//
// A malformed JSON body, or a JSON field of the wrong type, is a *ParseError
// beginning "invalid JSON body: ". An empty summary is not an error here: the
// domain decides.
func Generic(in Input) (Request, error) {
	f := genericFields{
		summary: in.value("summary"),
		details: in.value("details"),
		action:  in.value("action"),
		dedup:   in.value("dedup"),
	}
	metaFromJSON := false
	if in.isJSON() {
		var err error
		if metaFromJSON, err = f.overrideFromJSON(in.Body); err != nil {
			return Request{}, err
		}
	}
	if !metaFromJSON {
		meta, err := parseMetaEntries(in.values("meta"))
		if err != nil {
			return Request{}, err
		}
		f.meta = meta
	}
	return f.request(), nil
}

// genericFields are the generic API's fields before normalization.
type genericFields struct {
	summary, details, action, dedup string
	meta                            map[string]string
}

// genericBody is the JSON form of a generic API request. A nil pointer or
// map means the field was absent or null.
type genericBody struct {
	Summary *string                    `json:"summary"`
	Details *string                    `json:"details"`
	Action  *string                    `json:"action"`
	Dedup   *string                    `json:"dedup"`
	Meta    map[string]json.RawMessage `json:"meta"`
}

// overrideFromJSON replaces the fields the JSON body holds and reports
// whether it held meta.
func (f *genericFields) overrideFromJSON(body []byte) (hasMeta bool, err error) {
	var b genericBody
	if err := decodeJSON(body, &b); err != nil {
		return false, err
	}
	override(&f.summary, b.Summary)
	override(&f.details, b.Details)
	override(&f.action, b.Action)
	override(&f.dedup, b.Dedup)
	if b.Meta == nil {
		return false, nil
	}
	f.meta, err = parseJSONMeta(b.Meta)
	return true, err
}

// override sets *dst to *src when src is not nil.
func override(dst, src *string) {
	if src != nil {
		*dst = *src
	}
}

// request normalizes the fields into a Request.
func (f genericFields) request() Request {
	action := ActionTrigger
	if f.action == "close" {
		action = ActionClose
	}
	return Request{
		Action:  action,
		Summary: foldSummary(f.summary),
		Details: f.details,
		Dedup:   f.dedup,
		Meta:    f.meta,
	}
}

// parseMetaEntries parses repeated "key=value" entries; it returns nil for
// no entries.
func parseMetaEntries(entries []string) (map[string]string, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	meta := make(map[string]string, len(entries))
	for _, e := range entries {
		k, v, ok := strings.Cut(e, "=")
		if !ok {
			return nil, parseErrorf("meta entry %q must have the form key=value", e)
		}
		if k == "" {
			return nil, parseErrorf("meta entry %q has an empty key", e)
		}
		meta[k] = v
	}
	return meta, nil
}

// parseJSONMeta checks that every JSON meta value is a string and that no
// key is empty; it returns nil for an empty object. Keys are checked in
// sorted order so the error names the same key every time.
func parseJSONMeta(raw map[string]json.RawMessage) (map[string]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	meta := make(map[string]string, len(raw))
	for _, k := range slices.Sorted(maps.Keys(raw)) {
		if k == "" {
			return nil, parseErrorf("invalid JSON body: meta has an empty key")
		}
		v := raw[k]
		if len(v) == 0 || v[0] != '"' {
			return nil, parseErrorf("invalid JSON body: meta.%s: expected a string, got %s", k, jsonKind(v))
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return nil, parseErrorf("invalid JSON body: meta.%s: %s", k, describeJSONError(err))
		}
		meta[k] = s
	}
	return meta, nil
}

// jsonKind names the kind of a raw JSON value from its first byte.
func jsonKind(v json.RawMessage) string {
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "bool"
	case 'n':
		return "null"
	}
	return "number"
}
