package ingest

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// amBody is an Alertmanager webhook notification, version "4". Fields this
// package does not use (receiver, groupLabels, startsAt, fingerprint...) are
// left out and ignored.
type amBody struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	TruncatedAlerts   int               `json:"truncatedAlerts"`
	Status            string            `json:"status"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []amAlert         `json:"alerts"`
}

// amAlert is one alert of an Alertmanager notification.
type amAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	GeneratorURL string            `json:"generatorURL"`
}

// Alertmanager parses a Prometheus Alertmanager webhook (version "4"), POST
// /api/v2/prometheusalertmanager/incoming. The body is read as JSON whatever
// the Content-Type.
//
// A notification is one request for its whole group: status "firing"
// triggers and "resolved" closes, and the dedup key is the groupKey. (GoAlert
// dedups on the computed summary, which changes as the group's membership
// changes; the groupKey does not.)
//
// The summary is commonAnnotations.summary; else commonLabels.alertname
// followed by the alerts' distinct instance labels in parentheses, when they
// have any; else the first alert's alertname followed by " + N others"; else
// the groupKey. The details are deterministic text: the external URL, the
// number of alerts Alertmanager truncated when it did, then per alert its
// status, its labels and annotations sorted by name, and its generatorURL.
//
// A body that is not JSON, lacks groupKey, has a status other than firing or
// resolved, or a version other than "4" is a *ParseError; a missing version
// is accepted.
func Alertmanager(in Input) (Request, error) {
	var b amBody
	if err := decodeJSON(in.Body, &b); err != nil {
		return Request{}, err
	}
	if err := b.validate(); err != nil {
		return Request{}, err
	}
	action := ActionTrigger
	if b.Status == "resolved" {
		action = ActionClose
	}
	return Request{
		Action:  action,
		Summary: foldSummary(b.summary()),
		Details: b.details(),
		Dedup:   b.GroupKey,
	}, nil
}

// validate checks the version, groupKey and status.
func (b amBody) validate() error {
	if b.Version != "" && b.Version != "4" {
		return parseErrorf("unsupported Alertmanager webhook version %q (want \"4\")", b.Version)
	}
	if b.GroupKey == "" {
		return parseErrorf("groupKey is required")
	}
	switch b.Status {
	case "firing", "resolved":
		return nil
	case "":
		return parseErrorf("status is required (firing or resolved)")
	}
	return parseErrorf("unknown status %q (want firing or resolved)", b.Status)
}

// summary picks the group's summary; see Alertmanager.
func (b amBody) summary() string {
	if s := strings.TrimSpace(b.CommonAnnotations["summary"]); s != "" {
		return s
	}
	if name := b.CommonLabels["alertname"]; name != "" {
		return withInstances(name, b.instances())
	}
	if len(b.Alerts) > 0 && b.Alerts[0].Labels["alertname"] != "" {
		return withOthers(b.Alerts[0].Labels["alertname"], len(b.Alerts)-1)
	}
	return b.GroupKey
}

// instances returns the alerts' distinct non-empty instance labels in the
// order the alerts list them.
func (b amBody) instances() []string {
	var list []string
	for _, a := range b.Alerts {
		if i := a.Labels["instance"]; i != "" && !slices.Contains(list, i) {
			list = append(list, i)
		}
	}
	return list
}

// withInstances appends " (i1, i2...)" to name when there are instances.
func withInstances(name string, instances []string) string {
	if len(instances) == 0 {
		return name
	}
	return name + " (" + strings.Join(instances, ", ") + ")"
}

// withOthers appends " + N others" to name when others > 0.
func withOthers(name string, others int) string {
	if others == 0 {
		return name
	}
	return name + " + " + plural(others, "other")
}

// plural returns "1 <noun>" or "<n> <noun>s".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// details renders the group as readable, deterministic text.
func (b amBody) details() string {
	var parts []string
	if b.ExternalURL != "" {
		parts = append(parts, "Alertmanager: "+b.ExternalURL)
	}
	if b.TruncatedAlerts > 0 {
		parts = append(parts, fmt.Sprintf("Alertmanager left out %s (max_alerts).", plural(b.TruncatedAlerts, "more alert")))
	}
	for i, a := range b.Alerts {
		parts = append(parts, a.render(i+1, len(b.Alerts)))
	}
	return strings.Join(parts, "\n\n")
}

// render writes one alert as a block: a heading, labels, annotations and
// source link.
func (a amAlert) render(n, total int) string {
	var s strings.Builder
	fmt.Fprintf(&s, "Alert %d of %d: %s", n, total, a.Status)
	writeSorted(&s, "Labels", a.Labels)
	writeSorted(&s, "Annotations", a.Annotations)
	if a.GeneratorURL != "" {
		s.WriteString("\nSource: " + a.GeneratorURL)
	}
	return s.String()
}

// writeSorted writes "\n<title>:" and one "  key: value" line per entry,
// sorted by key; it writes nothing for an empty map. Further lines of a
// multi-line value are indented under it.
func writeSorted(s *strings.Builder, title string, m map[string]string) {
	if len(m) == 0 {
		return
	}
	s.WriteString("\n" + title + ":")
	for _, k := range slices.Sorted(maps.Keys(m)) {
		v := strings.ReplaceAll(m[k], "\n", "\n    ")
		s.WriteString("\n  " + k + ": " + v)
	}
}
