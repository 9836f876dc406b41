package ingest

// MaxGrafanaAlerts is the most alerts one Grafana post may carry. It is a
// flood guard, not a cap: a post with more is rejected whole rather than
// truncated, so no alert is silently dropped. (GoAlert keeps the first 10
// and drops the rest.)
const MaxGrafanaAlerts = 100

// grafanaBody holds the fields of both Grafana payloads: the alerting
// webhook, version "1", and the legacy (before Grafana 8) notification
// channel, which has no version. Other fields are ignored.
type grafanaBody struct {
	Version string         `json:"version"`
	Status  string         `json:"status"`
	Title   string         `json:"title"`
	Alerts  []grafanaAlert `json:"alerts"`

	RuleName string `json:"ruleName"`
	State    string `json:"state"`
	Message  string `json:"message"`
	RuleURL  string `json:"ruleUrl"`
}

// grafanaAlert is one alert of a Grafana alerting webhook.
type grafanaAlert struct {
	Status       string            `json:"status"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	Fingerprint  string            `json:"fingerprint"`
	GeneratorURL string            `json:"generatorURL"`
	PanelURL     string            `json:"panelURL"`
	DashboardURL string            `json:"dashboardURL"`
	SilenceURL   string            `json:"silenceURL"`
}

// Grafana parses a Grafana webhook, POST /api/v2/grafana/incoming. The body
// is read as JSON whatever the Content-Type. A body with an alerts key (or
// version "1") is a Grafana alerting webhook; one without, holding ruleName or
// state, is a legacy notification; any other version is a *ParseError.
//
// Alerting webhook: one request per alert, in order. Status "firing"
// triggers and "resolved" closes; an alert without a status takes the
// notification's. The dedup key is the alert's fingerprint, which is
// required. The summary is annotations.summary, else labels.alertname, else
// the notification's title. The details are annotations.description followed
// by the alert's generatorURL, panelURL, dashboardURL and silenceURL, each on
// its own labelled line, when present. An empty alerts list, or more than
// MaxGrafanaAlerts alerts, is a *ParseError.
//
// Legacy notification: state "alerting" triggers and "ok" closes. State
// "no_data" yields no request and no error, as in GoAlert: a rule configured
// to page on missing data reports "alerting" instead. Any other state is a
// *ParseError. The summary is ruleName, the details are message and ruleUrl
// separated by a blank line (an empty part is left out), and the dedup key
// is the dedup form or query parameter, "" when absent. The details do not
// depend on the state, so without a dedup parameter the "ok" notification
// closes the alert its "alerting" one opened.
func Grafana(in Input) ([]Request, error) {
	var b grafanaBody
	if err := decodeJSON(in.Body, &b); err != nil {
		return nil, err
	}
	switch {
	case b.Version != "" && b.Version != "1":
		return nil, parseErrorf("unsupported Grafana webhook version %q (want \"1\", or none for a legacy notification)", b.Version)
	case b.Alerts != nil || b.Version == "1":
		return b.alertingRequests()
	case b.RuleName != "" || b.State != "":
		return b.legacyRequests(in.value("dedup"))
	}
	return nil, parseErrorf("unrecognized Grafana payload: want alerts[] (Grafana alerting) or ruleName and state (legacy notification)")
}

// alertingRequests turns each alert of an alerting webhook into a request.
func (b grafanaBody) alertingRequests() ([]Request, error) {
	switch n := len(b.Alerts); {
	case n == 0:
		return nil, parseErrorf("alerts is empty")
	case n > MaxGrafanaAlerts:
		return nil, parseErrorf("too many alerts in one post: %d (at most %d)", n, MaxGrafanaAlerts)
	}
	reqs := make([]Request, 0, len(b.Alerts))
	for i, a := range b.Alerts {
		r, err := a.request(b.Status, b.Title)
		if err != nil {
			return nil, parseErrorf("alerts[%d]: %s", i, err.Msg)
		}
		reqs = append(reqs, r)
	}
	return reqs, nil
}

// request turns one alert into a request; status and title are the
// notification's, used when the alert lacks its own.
func (a grafanaAlert) request(status, title string) (Request, *ParseError) {
	if a.Status != "" {
		status = a.Status
	}
	var action Action
	switch status {
	case "firing":
		action = ActionTrigger
	case "resolved":
		action = ActionClose
	case "":
		return Request{}, parseErrorf("status is required (firing or resolved)")
	default:
		return Request{}, parseErrorf("unknown status %q (want firing or resolved)", status)
	}
	if a.Fingerprint == "" {
		return Request{}, parseErrorf("fingerprint is required")
	}
	return Request{
		Action:  action,
		Summary: foldSummary(a.summary(title)),
		Details: a.details(),
		Dedup:   a.Fingerprint,
	}, nil
}

// summary picks the alert's summary; see Grafana.
func (a grafanaAlert) summary(title string) string {
	for _, s := range []string{a.Annotations["summary"], a.Labels["alertname"]} {
		if foldSummary(s) != "" {
			return s
		}
	}
	return title
}

// details renders the description and the alert's links.
func (a grafanaAlert) details() string {
	links := joinNonEmpty("\n",
		labelled("Source", a.GeneratorURL),
		labelled("Panel", a.PanelURL),
		labelled("Dashboard", a.DashboardURL),
		labelled("Silence", a.SilenceURL),
	)
	return joinNonEmpty("\n\n", a.Annotations["description"], links)
}

// labelled returns "<label>: <v>", or "" when v is empty.
func labelled(label, v string) string {
	if v == "" {
		return ""
	}
	return label + ": " + v
}

// legacyRequests turns a legacy notification into zero or one request.
func (b grafanaBody) legacyRequests(dedup string) ([]Request, error) {
	var action Action
	switch b.State {
	case "alerting":
		action = ActionTrigger
	case "ok":
		action = ActionClose
	case "no_data":
		return nil, nil
	case "":
		return nil, parseErrorf("state is required (alerting, ok or no_data)")
	default:
		return nil, parseErrorf("unknown state %q (want alerting, ok or no_data)", b.State)
	}
	return []Request{{
		Action:  action,
		Summary: foldSummary(b.RuleName),
		Details: joinNonEmpty("\n\n", b.Message, b.RuleURL),
		Dedup:   dedup,
	}}, nil
}
